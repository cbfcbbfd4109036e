/**
 * The engine's session cache on /metrics: a miss reads a session's whole stream from the store, so the
 * hit rate says whether the calls up fit in the cache. Running totals kept by the engine, as gauges.
 */
import { Gauge, type Registry } from 'prom-client';
import type { SessionCacheStats } from '../engine/engine.ts';

const FIGURES: Array<[keyof SessionCacheStats, string, string]> = [
  ['hits', 'pivot_engine_session_cache_hits_total', 'Inputs whose session was found in the cache'],
  [
    'misses',
    'pivot_engine_session_cache_misses_total',
    'Inputs whose session had to be read from the store (it had left the cache, or was never in it)',
  ],
  [
    'lightened',
    'pivot_engine_session_cache_lightened_total',
    'Idle sessions whose states kept for repeated inputs were let go',
  ],
  ['dropped', 'pivot_engine_session_cache_dropped_total', 'Ended sessions let go once idle'],
  ['size', 'pivot_engine_sessions_cached', 'Sessions held in the cache'],
  ['capacity', 'pivot_engine_session_cache_capacity', 'Sessions the cache holds at most'],
];

export function registerCacheMetrics(registry: Registry, stats: () => SessionCacheStats): void {
  for (const [field, name, help] of FIGURES) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(stats()[field]);
      },
    });
  }
}
