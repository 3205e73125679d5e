// RegexOracle evaluates trigger patterns with java.util.regex for triggers' differential tests
// (java_regex_test.go). One case per input line: base64(pattern) TAB base64(message).
// One output line per case:
//   ERR TAB base64(description)       the pattern does not compile
//   NOMATCH                           Pattern.compile(p).matcher(message.trim()).matches() is false
//   MATCH TAB name:value,...          every named group in group order, base64 name and value;
//                                     value "-" when group(name) is null
// Run with --add-opens java.base/java.util.regex=ALL-UNNAMED (the group names are read from
// Pattern.namedGroups(), which Java 17 does not make public).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public class RegexOracle {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, "UTF-8");
        Base64.Decoder dec = Base64.getDecoder();
        Base64.Encoder enc = Base64.getEncoder();
        Method namedGroups = Pattern.class.getDeclaredMethod("namedGroups");
        namedGroups.setAccessible(true);
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t", -1);
            String pattern = new String(dec.decode(f[0]), StandardCharsets.UTF_8);
            String message = new String(dec.decode(f[1]), StandardCharsets.UTF_8);
            Pattern p;
            try {
                p = Pattern.compile(pattern);
            } catch (PatternSyntaxException e) {
                out.println("ERR\t" + enc.encodeToString(e.getDescription().getBytes(StandardCharsets.UTF_8)));
                continue;
            }
            Matcher m = p.matcher(message.trim());
            boolean matched;
            try {
                matched = m.matches();
            } catch (StackOverflowError e) {
                out.println("ERR\t" + enc.encodeToString("stack overflow".getBytes(StandardCharsets.UTF_8)));
                continue;
            }
            if (!matched) {
                out.println("NOMATCH");
                continue;
            }
            @SuppressWarnings("unchecked")
            Map<String, Integer> names = (Map<String, Integer>) namedGroups.invoke(p);
            List<Map.Entry<String, Integer>> byNumber = new ArrayList<>(names.entrySet());
            byNumber.sort(Map.Entry.comparingByValue());
            StringBuilder sb = new StringBuilder("MATCH\t");
            for (int i = 0; i < byNumber.size(); i++) {
                String name = byNumber.get(i).getKey();
                String v = m.group(name);
                if (i > 0) sb.append(',');
                sb.append(enc.encodeToString(name.getBytes(StandardCharsets.UTF_8))).append(':')
                  .append(v == null ? "-" : enc.encodeToString(v.getBytes(StandardCharsets.UTF_8)));
            }
            out.println(sb);
        }
        out.flush();
    }
}
