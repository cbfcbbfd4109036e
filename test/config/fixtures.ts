import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const samplePath = fileURLToPath(new URL('../../config/pivot.sample.yaml', import.meta.url));

/** Raw config data as YAML gives it; tests poke arbitrary (also wrong) values into it. */
// biome-ignore lint/suspicious/noExplicitAny: the point is to build values the schema must reject
export type Raw = any;

/** A fresh, mutable copy of the shipped sample as plain data (what loadConfig hands to parseConfig). */
export function sample(): Raw {
  return parse(readFileSync(samplePath, 'utf8'));
}
