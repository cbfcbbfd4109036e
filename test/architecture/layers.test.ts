/**
 * The layer table in docs/architecture.md is the rule; this reads it and every import of production
 * code under src/, machines/ and projections/, and lists each import the table does not allow. Tests
 * may import any layer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHECKED = ['src', 'machines', 'projections'];

/** Layer name -> the layers it may import, from the table under "Layers and what each may import". */
function layerTable(): Map<string, Set<string>> {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.split('## Layers and what each may import')[1]?.split('\n## ')[0] ?? '';
  const table = new Map<string, Set<string>>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').slice(1, -1);
    if (cells.length !== 2) continue;
    const [layers, allowed] = cells.map((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    for (const layer of layers!) table.set(layer, new Set(allowed));
  }
  return table;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The relative module specifiers of a file: static imports, re-exports and dynamic imports. */
function importsOf(source: string): string[] {
  const specifiers = source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g);
  return [...specifiers].map((m) => m[1]!);
}

/** The most specific layer in the table that contains a repository path. */
function layerOf(path: string, layers: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const layer of layers) {
    const inside = path === layer || path.startsWith(`${layer}/`);
    if (inside && (!best || layer.length > best.length)) best = layer;
  }
  return best;
}

/** The imports of one file the table does not allow, as `file (layer) -> imported (layer)`. */
function forbiddenImports(file: string, source: string, table: Map<string, Set<string>>): string[] {
  const from = layerOf(file, table.keys());
  return importsOf(source).flatMap((specifier) => {
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
    const to = layerOf(target, table.keys());
    if (!from || !to) return [`${file} -> ${target} (outside every layer)`];
    return from === to || table.get(from)!.has(to) ? [] : [`${file} (${from}) -> ${target} (${to})`];
  });
}

describe('layers', () => {
  const table = layerTable();

  it('the architecture page places every top-level source folder in a layer', () => {
    const folders = [
      ...readdirSync(join(ROOT, 'src')).map((name) => `src/${name}`),
      'machines',
      'projections',
    ];
    expect(folders.filter((folder) => !layerOf(folder, table.keys()))).toEqual([]);
  });

  it('every layer the table allows is itself a layer of the table', () => {
    const unknown = [...table.values()].flatMap((allowed) =>
      [...allowed].filter((layer) => !table.has(layer)),
    );
    expect(unknown).toEqual([]);
  });

  it('an upward import is reported', () => {
    const source = "import type { Engine } from '../src/engine/engine.ts';\nimport { x } from './y.ts';\n";
    expect(forbiddenImports('machines/example.ts', source, table)).toEqual([
      'machines/example.ts (machines) -> src/engine/engine.ts (src/engine)',
    ]);
  });

  it('no production module imports a layer the table does not allow (arrows point down)', () => {
    const found = CHECKED.flatMap(sourceFiles).flatMap((file) =>
      forbiddenImports(file, readFileSync(join(ROOT, file), 'utf8'), table),
    );
    expect(found).toEqual([]);
  });
});
