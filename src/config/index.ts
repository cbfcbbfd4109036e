export { ConfigError } from './error.ts';
export { loadConfig } from './load.ts';
export { parseConfig } from './parse.ts';
export type { BusConfig, PivotConfig, PivotConfigInput, StoreConfig, TrunkConfig } from './schema.ts';
export { carrierUris } from './schema.ts';
