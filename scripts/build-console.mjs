#!/usr/bin/env node
// Bundles the web console (console/) into dist/console: one ES module with Preact and htm inside, the
// stylesheet and the page. No CDN at run time: the API server serves these files (src/api/console.ts).
// Each file is written aside and renamed into place, so a server reading them never sees half a file.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'console');
mkdirSync(out, { recursive: true });

const place = (name, contents) => {
  const aside = join(out, `.${name}.${process.pid}`);
  writeFileSync(aside, contents);
  renameSync(aside, join(out, name));
};

const result = await build({
  entryPoints: [join(root, 'console', 'src', 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  write: false,
});
for (const file of result.outputFiles) place(basename(file.path), file.contents);
place('index.html', readFileSync(join(root, 'console', 'index.html')));
place('app.css', readFileSync(join(root, 'console', 'app.css')));
