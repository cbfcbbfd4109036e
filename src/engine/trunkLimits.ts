/** A trunk's `cpsLimit` by name, looked up once per trunk directory (a directory changes with the trunks). */
import type { TrunkDirectory } from './trunks.ts';

const limitsByDirectory = new WeakMap<TrunkDirectory, Map<string, number | undefined>>();

export function cpsLimitOf(directory: TrunkDirectory, trunkName: string): number | undefined {
  let limits = limitsByDirectory.get(directory);
  if (!limits) {
    limits = new Map(directory.trunks.map((trunk) => [trunk.name, trunk.cpsLimit]));
    limitsByDirectory.set(directory, limits);
  }
  return limits.get(trunkName);
}
