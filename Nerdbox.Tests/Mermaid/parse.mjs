// Checks Mermaid charts with mermaid's own code: each file named on the command line is parsed
// (mermaid.parse) and, for a gantt, its tasks are resolved the way the renderer resolves them,
// so a task whose name swallowed its data or whose times are not numbers is caught too.
// Prints one JSON line per file: {"file", "ok", "type", "tasks": [{id, name, start, end, classes}], "error"}.
// Exit 0 when all are fine, 1 when any is not, 2 on bad use.
// Mermaid sanitises with DOMPurify, which needs a window: jsdom provides one.
import { readFile } from 'node:fs/promises';
import { JSDOM } from 'jsdom';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node parse.mjs CHART.mmd...');
  process.exit(2);
}

const { window } = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = window;
globalThis.document = window.document;

const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let failed = 0;
for (const file of files) {
  const text = await readFile(file, 'utf8');
  const report = { file, ok: false };
  try {
    const parsed = await mermaid.parse(text);
    report.type = parsed.diagramType;
    if (parsed.diagramType === 'gantt') {
      const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
      report.title = diagram.db.getDiagramTitle();
      report.tasks = diagram.db.getTasks().map(t => ({
        id: t.id,
        name: t.task,
        section: t.section,
        start: t.startTime?.getTime(),
        end: t.endTime?.getTime(),
        classes: [t.active && 'active', t.crit && 'crit', t.done && 'done', t.milestone && 'milestone'].filter(Boolean),
      }));
      const bad = report.tasks.find(t => !Number.isFinite(t.start) || !Number.isFinite(t.end) || t.end <= t.start);
      if (bad) throw new Error(`task ${bad.id} (${bad.name}) has no usable time range`);
    }
    report.ok = true;
  } catch (e) {
    failed++;
    report.error = String(e?.message ?? e);
  }
  console.log(JSON.stringify(report));
}
process.exit(failed ? 1 : 0);
