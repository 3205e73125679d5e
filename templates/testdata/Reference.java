// Reference renders every case of a corpus file with the real Freemarker and writes the
// results as JSON. It is the oracle of the differential test in reference_test.go:
//
//	javac -cp freemarker.jar -d DIR Reference.java
//	java -cp DIR:freemarker.jar Reference corpus.json results.json
//
// The corpus is a JSON array of {"name", "template", "data"} objects. Both the corpus and each
// case's data are parsed with Freemarker's own ?eval_json, so the data model is exactly the one
// docs/design.md §5 describes. Each result is {"name", "output"} or {"name", "error"}.

import freemarker.core.Environment;
import freemarker.template.Configuration;
import freemarker.template.SimpleHash;
import freemarker.template.Template;
import freemarker.template.TemplateExceptionHandler;
import freemarker.template.TemplateHashModel;
import freemarker.template.TemplateModel;
import freemarker.template.TemplateScalarModel;
import freemarker.template.TemplateSequenceModel;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.Locale;
import java.util.TimeZone;

public class Reference {
    public static void main(String[] args) throws Exception {
        Configuration cfg = new Configuration(Configuration.VERSION_2_3_31);
        cfg.setLocale(Locale.US);
        cfg.setTimeZone(TimeZone.getTimeZone("UTC"));
        cfg.setURLEscapingCharset("UTF-8");
        cfg.setTemplateExceptionHandler(TemplateExceptionHandler.RETHROW_HANDLER);
        cfg.setLogTemplateExceptions(false);
        cfg.setWrapUncheckedExceptions(true);

        String corpus = new String(Files.readAllBytes(Paths.get(args[0])), StandardCharsets.UTF_8);
        TemplateSequenceModel cases = (TemplateSequenceModel) evalJson(cfg, corpus);
        StringBuilder out = new StringBuilder("[\n");
        for (int i = 0; i < cases.size(); i++) {
            TemplateHashModel c = (TemplateHashModel) cases.get(i);
            String name = ((TemplateScalarModel) c.get("name")).getAsString();
            String src = ((TemplateScalarModel) c.get("template")).getAsString();
            TemplateModel data = c.get("data");
            if (data == null) {
                data = new SimpleHash(cfg.getObjectWrapper());
            }
            if (i > 0) {
                out.append(",\n");
            }
            out.append("{\"name\":").append(quote(name));
            try {
                Template t = new Template(name, new StringReader(src), cfg);
                StringWriter w = new StringWriter();
                t.process(data, w);
                out.append(",\"output\":").append(quote(w.toString()));
            } catch (Exception e) {
                String msg = String.valueOf(e.getMessage());
                out.append(",\"error\":").append(quote(e.getClass().getSimpleName() + ": " + msg));
            }
            out.append("}");
        }
        out.append("\n]\n");
        try (Writer w = Files.newBufferedWriter(Paths.get(args[1]), StandardCharsets.UTF_8)) {
            w.write(out.toString());
        }
    }

    private static TemplateModel evalJson(Configuration cfg, String json) throws Exception {
        Template t = new Template("evalJson", "<#assign d = src?eval_json>", cfg);
        Environment env = t.createProcessingEnvironment(
                Collections.singletonMap("src", json), new StringWriter());
        env.process();
        return env.getVariable("d");
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
