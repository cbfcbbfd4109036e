import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from './error.ts';
import { parseConfig } from './parse.ts';
import type { PivotConfig } from './schema.ts';

/**
 * Reads and validates a YAML configuration file (`pivot serve --config FILE`). Throws a ConfigError
 * when the file cannot be read, is not valid YAML (the message names the file, line and column) or
 * does not match the schema (the first line names the file, then one line per bad field).
 */
export function loadConfig(path: string): PivotConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`config: cannot read ${path}: ${(err as Error).message}`]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((err) => {
        const pos = err.linePos?.[0];
        const where = pos ? `${path}:${pos.line}:${pos.col}` : path;
        // yaml's message repeats the position and adds a source excerpt; keep the first clause only.
        const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return `config: ${where}: YAML syntax error: ${what}`;
      }),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // e.g. an alias bomb (yaml caps alias expansion) or an undefined alias.
    throw new ConfigError([`config: ${path}: YAML error: ${(err as Error).message}`]);
  }
  try {
    return parseConfig(value);
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new ConfigError([`config: invalid configuration in ${path}`, ...err.problems]);
    }
    throw err;
  }
}
