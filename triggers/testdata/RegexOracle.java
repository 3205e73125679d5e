// RegexOracle evaluates trigger patterns with java.util.regex for triggers' differential test
// (java_regex_test.go). One case per input line: base64(pattern) TAB base64(message) TAB
// comma-separated base64(group name)s. One output line per case:
//   ERR                               the pattern does not compile
//   NOMATCH                           Pattern.compile(p).matcher(message.trim()).matches() is false
//   MATCH TAB name:value,...          base64 name and value; value "-" when group(name) is null
//   NOGROUP TAB name                  a group name the Go side reported does not exist in Java
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public class RegexOracle {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, "UTF-8");
        Base64.Decoder dec = Base64.getDecoder();
        Base64.Encoder enc = Base64.getEncoder();
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t", -1);
            String pattern = new String(dec.decode(f[0]), StandardCharsets.UTF_8);
            String message = new String(dec.decode(f[1]), StandardCharsets.UTF_8);
            Pattern p;
            try {
                p = Pattern.compile(pattern);
            } catch (PatternSyntaxException e) {
                out.println("ERR");
                continue;
            }
            Matcher m = p.matcher(message.trim());
            if (!m.matches()) {
                out.println("NOMATCH");
                continue;
            }
            StringBuilder sb = new StringBuilder("MATCH\t");
            String bad = null;
            if (!f[2].isEmpty()) {
                boolean first = true;
                for (String n64 : f[2].split(",")) {
                    String name = new String(dec.decode(n64), StandardCharsets.UTF_8);
                    String v;
                    try {
                        v = m.group(name);
                    } catch (IllegalArgumentException e) {
                        bad = name;
                        break;
                    }
                    if (!first) sb.append(',');
                    first = false;
                    sb.append(n64).append(':').append(v == null ? "-" : enc.encodeToString(v.getBytes(StandardCharsets.UTF_8)));
                }
            }
            out.println(bad != null ? "NOGROUP\t" + bad : sb.toString());
        }
        out.flush();
    }
}
