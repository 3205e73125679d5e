// Lints BPMN models with bpmnlint and the rules of the repository's .bpmnlintrc
// (bpmnlint:recommended and Camunda 8.8 compatibility), reading Zeebe's extensions:
//
//   node test/bpmn/lint.mjs FILE.bpmn...
//
// Beside bpmnlint's findings it reports what Camunda Modeler needs to open a model the way
// test/bpmn/layout.mjs saves it: a diagram (bpmndi:BPMNDiagram) and bpmn:incoming /
// bpmn:outgoing matching the sequence flows. One line per finding; exit status 1 when there is
// any finding (warnings included), 2 when the tools cannot run.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { containers, newModdle } from './layout.mjs';

const require = createRequire(import.meta.url);
const { Linter } = require('bpmnlint');
const NodeResolver = require('bpmnlint/lib/resolver/node-resolver');

const RELAYOUT = 'run node test/bpmn/layout.mjs on it';

// modelerChecks reports what keeps Camunda Modeler from showing the model as it is.
function modelerChecks(definitions) {
  const findings = [];
  if (definitions.get('diagrams').length === 0) {
    findings.push({ id: definitions.id, rule: 'diagram', message: `has no diagram (bpmndi:BPMNDiagram), Camunda Modeler cannot show it: ${RELAYOUT}` });
  }
  for (const c of containers(definitions)) {
    const flows = c.get('flowElements').filter(e => e.$instanceOf('bpmn:SequenceFlow'));
    for (const n of c.get('flowElements').filter(e => e.$instanceOf('bpmn:FlowNode'))) {
      for (const [prop, end] of [['incoming', 'targetRef'], ['outgoing', 'sourceRef']]) {
        const want = flows.filter(f => f[end] === n).map(f => f.id).sort().join(',');
        const got = n.get(prop).map(f => f.id).sort().join(',');
        if (want !== got) {
          findings.push({ id: n.id, rule: 'incoming-outgoing', message: `bpmn:${prop} is [${got}], the sequence flows say [${want}]: ${RELAYOUT}` });
        }
      }
    }
  }
  return findings;
}

// A Linter is made per file: bpmnlint's rules keep state between the elements they check.
async function lintFile(config, file) {
  const moddle = newModdle();
  let definitions, warnings;
  try {
    ({ rootElement: definitions, warnings } = await moddle.fromXML(await readFile(file, 'utf8')));
  } catch (err) {
    return [{ id: '', rule: 'parse', message: err.message.split('\n')[0] }];
  }
  const findings = warnings.map(w => ({ id: w.element?.id || '', rule: 'import', message: w.message.split('\n')[0] }));
  const linter = new Linter({ config, resolver: new NodeResolver({ require }) });
  const reports = await linter.lint(definitions);
  for (const [rule, list] of Object.entries(reports)) {
    for (const r of list) {
      findings.push({ id: r.id || '', rule, message: `${r.message} (${r.category})` });
    }
  }
  return findings.concat(modelerChecks(definitions));
}

async function main(files) {
  if (files.length === 0) {
    console.error('usage: node test/bpmn/lint.mjs FILE.bpmn...');
    process.exit(2);
  }
  const rcPath = fileURLToPath(new URL('../../.bpmnlintrc', import.meta.url));
  const config = JSON.parse(await readFile(rcPath, 'utf8'));
  let count = 0;
  for (const file of files) {
    for (const f of await lintFile(config, file)) {
      console.log(`${file}: ${f.id ? `element ${f.id}: ` : ''}${f.rule}: ${f.message}`);
      count++;
    }
  }
  process.exit(count > 0 ? 1 : 0);
}

await main(process.argv.slice(2));
