// Saves BPMN models the way Camunda Modeler would, so that it can open them:
//
//   node test/bpmn/layout.mjs FILE.bpmn...
//
// Each file is read with bpmn-moddle and Zeebe's extensions (zeebe-bpmn-moddle), its flow
// nodes get bpmn:incoming / bpmn:outgoing from the sequence flows, the definitions get the
// Camunda 8.8 execution platform attributes, and a model without a diagram (BPMNDI) gets one
// from bpmn-auto-layout. A file with more than one process gets a collaboration with one pool
// per process, since the Modeler shows several processes only as pools. A model that already
// has a diagram keeps it: running the script again changes nothing.
//
// bpmn-auto-layout reads the model without Zeebe's extensions and lays out only the first
// process; only its geometry is used here, copied onto the elements of our own reading, so every
// zeebe:* element and attribute is written back as it was read.

import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

import { BpmnModdle } from 'bpmn-moddle';
import { layoutProcess } from 'bpmn-auto-layout';

const require = createRequire(import.meta.url);
const zeebe = require('zeebe-bpmn-moddle/resources/zeebe.json');

const MODELER_NS = 'http://camunda.org/schema/modeler/1.0';
const EXECUTION_PLATFORM = 'Camunda Cloud';
const EXECUTION_PLATFORM_VERSION = '8.8.0';

// Pool geometry of the Modeler: a 30 px header on the left.
const POOL_HEADER = 30;
const POOL_PADDING = 40;

export function newModdle() {
  return new BpmnModdle({ zeebe });
}

// read parses a model; import warnings (unknown elements, unresolved references) are errors,
// since writing such a model back would lose what was not understood.
export async function read(moddle, file, xml) {
  if (xml.includes('<!--')) {
    throw new Error(`${file}: has XML comments, which a Modeler save drops: move them into <bpmn:documentation> of the process or element`);
  }
  const { rootElement, warnings } = await moddle.fromXML(xml);
  if (warnings.length > 0) {
    throw new Error(`${file}: ${warnings.map(w => w.message.split('\n')[0]).join('; ')}`);
  }
  return rootElement;
}

// containers yields every process and sub-process of the definitions.
export function* containers(definitions) {
  const stack = definitions.get('rootElements').filter(e => e.$instanceOf('bpmn:Process'));
  while (stack.length > 0) {
    const c = stack.shift();
    yield c;
    stack.push(...c.get('flowElements').filter(e => e.$instanceOf('bpmn:SubProcess')));
  }
}

// linkFlows sets incoming/outgoing of every flow node from the sequence flows, in their order.
function linkFlows(definitions) {
  for (const c of containers(definitions)) {
    const nodes = c.get('flowElements').filter(e => e.$instanceOf('bpmn:FlowNode'));
    for (const n of nodes) {
      n.get('incoming').splice(0);
      n.get('outgoing').splice(0);
    }
    for (const f of c.get('flowElements').filter(e => e.$instanceOf('bpmn:SequenceFlow'))) {
      f.sourceRef.get('outgoing').push(f);
      f.targetRef.get('incoming').push(f);
    }
  }
}

function setPlatform(definitions) {
  const attrs = definitions.$attrs;
  attrs['xmlns:modeler'] = MODELER_NS;
  attrs['modeler:executionPlatform'] = EXECUTION_PLATFORM;
  attrs['modeler:executionPlatformVersion'] = EXECUTION_PLATFORM_VERSION;
  definitions.exporter = 'twilio-connector test/bpmn/layout.mjs';
  definitions.exporterVersion = '1';
}

// copyDi recreates a DI element of another moddle instance in ours, pointing at our elements,
// with coordinates rounded to whole pixels as the Modeler writes them.
function copyDi(moddle, byId, el) {
  if (Array.isArray(el)) {
    return el.map(e => copyDi(moddle, byId, e));
  }
  if (el === null || typeof el !== 'object' || !el.$type) {
    return el;
  }
  const props = {};
  for (const p of el.$descriptor.properties) {
    const v = el[p.name];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) {
      continue;
    }
    if (p.name === 'bpmnElement') {
      props.bpmnElement = byId.get(v.id);
    } else if (typeof v === 'number') {
      props[p.name] = Math.round(v);
    } else {
      props[p.name] = copyDi(moddle, byId, v);
    }
  }
  return moddle.create(el.$type, props);
}

// layoutOne lays out one process with bpmn-auto-layout and returns its DI plane elements, copied
// into our moddle.
async function layoutOne(moddle, definitions, process, byId) {
  const roots = definitions.get('rootElements');
  const reordered = [process, ...roots.filter(r => r !== process && !r.$instanceOf('bpmn:Collaboration'))];
  const saved = [...roots];
  roots.splice(0, roots.length, ...reordered);
  const { xml } = await moddle.toXML(definitions);
  roots.splice(0, roots.length, ...saved);

  const laidOut = (await new BpmnModdle().fromXML(await layoutProcess(xml))).rootElement;
  const plane = laidOut.diagrams[0].plane;
  const planeElements = plane.get('planeElement').map(e => copyDi(moddle, byId, e));
  spreadBoundaryEvents(process, planeElements);
  return planeElements;
}

// spreadBoundaryEvents spaces the boundary events of one activity evenly along its lower edge
// (bpmn-auto-layout lets two of them overlap), moving the start of their outgoing flows along.
function spreadBoundaryEvents(process, planeElements) {
  const di = el => planeElements.find(e => e.bpmnElement === el);
  const boundaries = process.get('flowElements').filter(e => e.$instanceOf('bpmn:BoundaryEvent'));
  const hosts = new Set(boundaries.map(b => b.attachedToRef));
  for (const host of hosts) {
    const attached = boundaries.filter(b => b.attachedToRef === host);
    const hostBounds = di(host)?.bounds;
    if (attached.length < 2 || !hostBounds) {
      continue;
    }
    attached.forEach((b, i) => {
      const bounds = di(b)?.bounds;
      if (!bounds) {
        return;
      }
      const oldCenter = bounds.x + bounds.width / 2;
      const center = Math.round(hostBounds.x + hostBounds.width * (i + 0.5) / attached.length);
      bounds.x = center - bounds.width / 2;
      for (const flow of b.get('outgoing')) {
        for (const w of di(flow)?.waypoint || []) {
          if (w.x !== oldCenter) {
            break;
          }
          w.x = center;
        }
      }
    });
  }
}

function bbox(planeElements) {
  const b = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  const add = (x, y) => {
    b.minX = Math.min(b.minX, x); b.minY = Math.min(b.minY, y);
    b.maxX = Math.max(b.maxX, x); b.maxY = Math.max(b.maxY, y);
  };
  for (const e of planeElements) {
    if (e.bounds) {
      add(e.bounds.x, e.bounds.y);
      add(e.bounds.x + e.bounds.width, e.bounds.y + e.bounds.height);
    }
    for (const w of e.waypoint || []) {
      add(w.x, w.y);
    }
  }
  if (b.minX === Infinity) {
    return { minX: 0, minY: 0, maxX: 0, maxY: 0 };
  }
  return b;
}

function move(planeElements, dx, dy) {
  for (const e of planeElements) {
    for (const b of [e.bounds, e.label?.bounds]) {
      if (b) { b.x += dx; b.y += dy; }
    }
    for (const w of e.waypoint || []) {
      w.x += dx; w.y += dy;
    }
  }
}

// annotations places text annotations (which bpmn-auto-layout leaves out) in a row under the
// process, and draws their associations.
function annotations(moddle, process, planeElements) {
  const b = bbox(planeElements);
  const shapes = new Map();
  let x = b.minX;
  for (const a of process.get('artifacts').filter(e => e.$instanceOf('bpmn:TextAnnotation'))) {
    const shape = moddle.create('bpmndi:BPMNShape', {
      id: a.id + '_di', bpmnElement: a,
      bounds: moddle.create('dc:Bounds', { x, y: b.maxY + 40, width: 100, height: 30 }),
    });
    shapes.set(a, shape);
    planeElements.push(shape);
    x += 140;
  }
  const boundsOf = el => planeElements.find(e => e.bpmnElement === el)?.bounds;
  for (const a of process.get('artifacts').filter(e => e.$instanceOf('bpmn:Association'))) {
    const from = boundsOf(a.sourceRef), to = boundsOf(a.targetRef);
    if (!from || !to) {
      continue;
    }
    const mid = r => moddle.create('dc:Point', { x: r.x + r.width / 2, y: r.y + r.height / 2 });
    planeElements.push(moddle.create('bpmndi:BPMNEdge', {
      id: a.id + '_di', bpmnElement: a, waypoint: [mid(from), mid(to)],
    }));
  }
}

async function addDiagram(moddle, definitions) {
  const byId = new Map();
  const index = el => {
    if (el && typeof el === 'object' && el.id && !byId.has(el.id)) {
      byId.set(el.id, el);
    }
  };
  for (const r of definitions.get('rootElements')) {
    index(r);
  }
  for (const c of containers(definitions)) {
    index(c);
    c.get('flowElements').forEach(index);
    c.get('artifacts').forEach(index);
  }

  const processes = definitions.get('rootElements').filter(e => e.$instanceOf('bpmn:Process'));
  const layouts = [];
  for (const p of processes) {
    const planeElements = await layoutOne(moddle, definitions, p, byId);
    annotations(moddle, p, planeElements);
    layouts.push(planeElements);
  }

  let planeOwner = processes[0];
  const planeElements = [];
  let collaboration = definitions.get('rootElements').find(e => e.$instanceOf('bpmn:Collaboration'));
  if (processes.length === 1 && !collaboration) {
    planeElements.push(...layouts[0]);
  } else {
    if (!collaboration) {
      collaboration = moddle.create('bpmn:Collaboration', { id: 'Collaboration_' + definitions.id });
      definitions.get('rootElements').unshift(collaboration);
      collaboration.$parent = definitions;
    }
    let y = 0;
    processes.forEach((p, i) => {
      let participant = collaboration.get('participants').find(pp => pp.processRef === p);
      if (!participant) {
        participant = moddle.create('bpmn:Participant', {
          id: 'Participant_' + p.id, name: p.name || p.id, processRef: p,
        });
        participant.$parent = collaboration;
        collaboration.get('participants').push(participant);
      }
      const b = bbox(layouts[i]);
      const width = POOL_HEADER + 2 * POOL_PADDING + (b.maxX - b.minX);
      const height = 2 * POOL_PADDING + (b.maxY - b.minY);
      move(layouts[i], POOL_HEADER + POOL_PADDING - b.minX, y + POOL_PADDING - b.minY);
      planeElements.push(moddle.create('bpmndi:BPMNShape', {
        id: participant.id + '_di', bpmnElement: participant, isHorizontal: true,
        bounds: moddle.create('dc:Bounds', { x: 0, y, width, height }),
      }), ...layouts[i]);
      y += height + 40;
    });
    planeOwner = collaboration;
  }

  const plane = moddle.create('bpmndi:BPMNPlane', {
    id: 'BPMNPlane_' + planeOwner.id, bpmnElement: planeOwner, planeElement: planeElements,
  });
  const diagram = moddle.create('bpmndi:BPMNDiagram', { id: 'BPMNDiagram_' + planeOwner.id, plane });
  definitions.get('diagrams').push(diagram);
}

// save returns the model as the Modeler would save it.
export async function save(file, xml) {
  const moddle = newModdle();
  const definitions = await read(moddle, file, xml);
  linkFlows(definitions);
  setPlatform(definitions);
  if (definitions.get('diagrams').length === 0) {
    await addDiagram(moddle, definitions);
  }
  return (await moddle.toXML(definitions, { format: true })).xml + '\n';
}

async function main(files) {
  if (files.length === 0) {
    console.error('usage: node test/bpmn/layout.mjs FILE.bpmn...');
    process.exit(2);
  }
  let failed = false;
  for (const file of files) {
    try {
      const xml = await readFile(file, 'utf8');
      const out = await save(file, xml);
      if (out !== xml) {
        await writeFile(file, out);
        console.log(`${file}: saved`);
      }
    } catch (err) {
      console.error(err.message);
      failed = true;
    }
  }
  process.exit(failed ? 1 : 0);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
