/**
 * `pivot serve`: every role in one process on the in-process bus — the SIP adapter, the engine, the
 * projections and the HTTP API over the store the config names. Ctrl-C (SIGINT) or SIGTERM finishes
 * queued inputs and stops cleanly.
 */
import { registerCacheMetrics } from '../api/cacheMetrics.ts';
import { createMetrics, instrumentStore } from '../api/metrics.ts';
import { registerPeerMetrics } from '../api/peerMetrics.ts';
import { registerSipMetrics } from '../api/sipMetrics.ts';
import { startReadSide } from '../api/start.ts';
import type { PivotConfig } from '../config/index.ts';
import type { Engine } from '../engine/engine.ts';
import type { Logger } from '../log.ts';
import { openStore } from '../store/open.ts';
import type { EventStore } from '../store/port.ts';
import { openTrace } from '../trace/open.ts';
import { openBus, startEngineRole, startSipRole } from './roles.ts';

export interface RunningPivot {
  sip: { host: string; port: number };
  http: { url: string };
  store: EventStore;
  engine: Engine;
  stop(): Promise<void>;
}

export async function startPivot(config: PivotConfig, log: Logger): Promise<RunningPivot> {
  const metrics = createMetrics({ processMetrics: true });
  const store = instrumentStore(openStore(config.store, { serving: true }), metrics);
  const bus = await openBus({ kind: 'inprocess' }, log);
  const engineRole = await startEngineRole({ config, bus: bus.engine, store, log, metrics });
  // One trace for the adapter that writes it and the API that reads it.
  const trace = openTrace(config, log);
  const readSide = await startReadSide({
    config,
    store,
    log,
    metrics,
    trunks: engineRole.trunks,
    ...(trace ? { trace } : {}),
    ...(engineRole.health ? { peerHealth: engineRole.health } : {}),
  });
  const sipRole = await startSipRole({
    config,
    bus: bus.adapter,
    log,
    trunks: engineRole.trunks.current,
    ...(trace ? { trace } : {}),
  });
  registerSipMetrics(metrics.registry, sipRole.stats);
  registerCacheMetrics(metrics.registry, () => engineRole.engine.cacheStats());
  if (engineRole.health) registerPeerMetrics(metrics.registry, engineRole.health);
  log('info', 'sip-pivot serving', {
    sip: `${sipRole.sip.host}:${sipRole.sip.port}`,
    http: readSide.api.url,
    store: config.store.kind,
  });
  return {
    sip: sipRole.sip,
    http: { url: readSide.api.url },
    store,
    engine: engineRole.engine,
    async stop() {
      await sipRole.stop();
      await engineRole.stop();
      await readSide.stop();
      trace?.close();
      await bus.close();
      await store.close();
      log('info', 'sip-pivot stopped');
    },
  };
}
