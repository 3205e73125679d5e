// Bench renders the corpus of templates/testdata/corpus.json with the real Freemarker, as
// templates/testdata/Reference.java does (same configuration, data parsed with ?eval_json),
// and prints renders per second on a warmed JVM. Cases that are errors in Freemarker or marked
// rejected (outside our subset) are skipped, as the Go side skips them.
//
//	java -cp freemarker.jar Bench.java corpus.json WARMUP_SECONDS MEASURE_SECONDS
//
// Output: one line "cases N renders R seconds S".

import freemarker.core.Environment;
import freemarker.template.Configuration;
import freemarker.template.SimpleHash;
import freemarker.template.Template;
import freemarker.template.TemplateBooleanModel;
import freemarker.template.TemplateExceptionHandler;
import freemarker.template.TemplateHashModel;
import freemarker.template.TemplateModel;
import freemarker.template.TemplateScalarModel;
import freemarker.template.TemplateSequenceModel;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.TimeZone;

public class Bench {
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
        List<Template> templates = new ArrayList<>();
        List<TemplateModel> data = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            TemplateHashModel c = (TemplateHashModel) cases.get(i);
            if (isTrue(c.get("error")) || isTrue(c.get("rejected"))) {
                continue;
            }
            String src = ((TemplateScalarModel) c.get("template")).getAsString();
            TemplateModel d = c.get("data");
            if (d == null) {
                d = new SimpleHash(cfg.getObjectWrapper());
            }
            templates.add(new Template("case" + i, new StringReader(src), cfg));
            data.add(d);
        }
        long warmupEnd = System.nanoTime() + (long) (Double.parseDouble(args[1]) * 1e9);
        while (System.nanoTime() < warmupEnd) {
            renderAll(templates, data);
        }
        long start = System.nanoTime();
        long end = start + (long) (Double.parseDouble(args[2]) * 1e9);
        long renders = 0;
        long now;
        do {
            renders += renderAll(templates, data);
            now = System.nanoTime();
        } while (now < end);
        System.out.println("cases " + templates.size() + " renders " + renders + " seconds " + ((now - start) / 1e9));
    }

    private static int renderAll(List<Template> templates, List<TemplateModel> data) throws Exception {
        for (int i = 0; i < templates.size(); i++) {
            StringWriter w = new StringWriter();
            templates.get(i).process(data.get(i), w);
        }
        return templates.size();
    }

    private static boolean isTrue(TemplateModel m) throws Exception {
        return m instanceof TemplateBooleanModel && ((TemplateBooleanModel) m).getAsBoolean();
    }

    private static TemplateModel evalJson(Configuration cfg, String json) throws Exception {
        Template t = new Template("evalJson", "<#assign d = src?eval_json>", cfg);
        Environment env = t.createProcessingEnvironment(Collections.singletonMap("src", json), new StringWriter());
        env.process();
        return env.getVariable("d");
    }
}
