#!/usr/bin/env node
// The `pivot` command. It runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs
// through `prepare`) in this very process, so SIGTERM and SIGINT reach the server itself. A checkout
// that was never built runs the TypeScript sources through tsx, in-process too.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');
if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
