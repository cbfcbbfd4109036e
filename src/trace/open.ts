/** The trace store a role uses, as the config says: none when `trace.enabled` is false. */
import type { PivotConfig } from '../config/index.ts';
import { tracePathOf } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { openTraceStore, type TraceStore } from './store.ts';

export function openTrace(
  config: Pick<PivotConfig, 'store' | 'projections' | 'trace'>,
  log?: Logger,
): TraceStore | undefined {
  if (!config.trace.enabled) return undefined;
  return openTraceStore(
    {
      path: tracePathOf(config),
      maxMessagesPerCall: config.trace.maxMessagesPerCall,
      retentionDays: config.trace.retentionDays,
    },
    log,
  );
}
