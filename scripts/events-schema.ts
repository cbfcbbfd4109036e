/**
 * `npm run events:schema`: regenerates the event catalogue from the TypeScript event types:
 * src/events/schema.json (served at GET /v1/Events/Schema, checked by test/events/catalogue.test.ts)
 * and docs/events.md (the same, for people).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderEventsMarkdown } from '../src/events/docs.ts';
import { generateEventSchema } from '../src/events/generate.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const document = generateEventSchema(root);
const jsonPath = join(root, 'src', 'events', 'schema.json');
const docsPath = join(root, 'docs', 'events.md');
writeFileSync(jsonPath, `${JSON.stringify(document, null, 2)}\n`);
writeFileSync(docsPath, renderEventsMarkdown(document));
// Written as the project's formatter would, so `npm run lint` stays clean.
execFileSync('npx', ['biome', 'format', '--write', jsonPath, docsPath], { cwd: root, stdio: 'inherit' });
process.stdout.write(
  `${Object.keys(document.events).length} event types -> src/events/schema.json, docs/events.md\n`,
);
