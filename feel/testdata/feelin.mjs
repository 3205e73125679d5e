// Evaluates FEEL expressions with @bpmn-io/feelin, the reference of feel's differential test.
// Usage: node feelin.mjs PATH-TO-FEELIN-INDEX.JS < cases.json > results.json, where cases.json is
// [{"expr": "...", "vars": {...}}, ...]; each result is {"value": ...} or {"error": "..."}.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const { evaluate } = await import(pathToFileURL(process.argv[2]).href);
const cases = JSON.parse(readFileSync(0, "utf8"));
const results = cases.map(({ expr, vars }) => {
  try {
    const { value } = evaluate(expr, vars || {});
    return { value: value === undefined ? null : value };
  } catch (err) {
    return { error: String(err.message || err) };
  }
});
process.stdout.write(JSON.stringify(results));
