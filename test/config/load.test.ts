import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'pivot-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function errorOf(path: string): ConfigError {
  try {
    loadConfig(path);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig accepted an invalid file');
}

describe('loadConfig', () => {
  it('names the file, line and column of a YAML syntax error', () => {
    const path = file('flow.yaml', 'sip: { host: 127.0.0.1, port: 5060\nhttp: { host: 127.0.0.1 }\n');
    const { message } = errorOf(path);
    expect(message).toMatch(
      new RegExp(`^config: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: YAML syntax error: `),
    );
  });

  it('reports the line and column of the error', () => {
    const path = file('reserved.yaml', 'sip:\n  host: a\n  publicHost: @b\n');
    expect(errorOf(path).problems).toEqual([
      `config: ${path}:3:15: YAML syntax error: Plain value cannot start with reserved character @`,
    ]);
  });

  it('treats a duplicate key as a syntax error', () => {
    const path = file('dup.yaml', 'bus: { kind: inprocess }\nbus: { kind: inprocess }\n');
    expect(errorOf(path).problems).toEqual([
      `config: ${path}:2:1: YAML syntax error: Map keys must be unique`,
    ]);
  });

  it('names the file it cannot read', () => {
    const path = join(dir, 'missing.yaml');
    expect(errorOf(path).message).toMatch(`config: cannot read ${path}: ENOENT`);
  });

  it('names the file and then every bad field of a valid YAML document', () => {
    const path = file(
      'fields.yaml',
      'sip: { host: 127.0.0.1, port: 5060, publicHost: x }\nhttp: { host: h, port: 1, tls: true }\n',
    );
    const { problems } = errorOf(path);
    expect(problems[0]).toBe(`config: invalid configuration in ${path}`);
    expect(problems).toContain('config: http.tls: unknown field');
    expect(problems).toContain('config: store: required');
    expect(problems).toContain('config: trunks: required');
  });

  it('rejects an empty file as a missing mapping', () => {
    expect(errorOf(file('empty.yaml', '')).problems).toContain('config: expected a mapping (got null)');
  });

  it('reads unquoted +digits as a number and says to quote it', () => {
    const path = file('unquoted.yaml', 'trunks:\n  - numbers: [+15550100000]\n');
    expect(errorOf(path).problems).toContain(
      'config: trunks[0].numbers[0]: expected a string (got 15550100000; quote it in YAML)',
    );
  });
});
