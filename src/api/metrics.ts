/**
 * Prometheus metrics, one registry per instance (tests run many side by side):
 *
 * - `pivot_calls{status}`, `pivot_transfers{outcome}`: rows of the call log and transfers views, read
 *   when scraped;
 * - `pivot_refer_accept_seconds`: REFER received by the SIP adapter -> 202 handed back to it, observed
 *   live through `observeOutcome` (wire it where the adapter's inputs reach the engine);
 * - `pivot_engine_input_failures_total{reason}`: inputs the engine could not handle (store | poison);
 * - `pivot_cps_limited_total{trunk}`: new calls and transfers refused 503 for the trunk's `cpsLimit`;
 * - `pivot_engine_overloaded_total`: requests answered 503 because the engine's queues were full;
 * - `pivot_store_append_seconds`: event store appends, through `instrumentStore`;
 * - `pivot_projection_position{projection}`, `pivot_projection_lag_events{projection}`: how far each
 *   projection is behind the head of `$all`.
 */
import type { Database } from 'better-sqlite3';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ProjectionRunner } from '../../projections/runner.ts';
import { isPermanentFailure } from '../bus/port.ts';
import type { Outcome } from '../engine/engine.ts';
import type { SipInput } from '../shared/messages.ts';
import type { EventStore } from '../store/port.ts';

export interface Metrics {
  registry: Registry;
  referAccept: Histogram;
  append: Histogram;
  /** Observes the REFER -> 202 latency of an input the engine handled. */
  observeOutcome(input: SipInput, outcome: Outcome, now?: number): void;
  /** Counts an input the engine could not handle (the store failed, or the input is poison). */
  observeFailure(error: unknown): void;
  /** Registers the gauges read from the views when scraped (once per registry). */
  bindViews(sources: { views: Database; runner?: ProjectionRunner }): void;
}

export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'pivot_' });
  const referAccept = new Histogram({
    name: 'pivot_refer_accept_seconds',
    help: 'REFER received by the SIP adapter until its 202 Accepted was handed back to it',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const append = new Histogram({
    name: 'pivot_store_append_seconds',
    help: 'Event store appendToStream latency (including the group commit and fsync)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'pivot_engine_input_failures_total',
    help: 'Inputs the engine could not handle: store (retried by a durable bus) or poison (dropped)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const cpsLimited = new Counter({
    name: 'pivot_cps_limited_total',
    help: 'New calls and transfers refused 503 because their trunk was over its cpsLimit',
    labelNames: ['trunk'],
    registers: [registry],
  });
  const overloaded = new Counter({
    name: 'pivot_engine_overloaded_total',
    help: "Requests answered 503 because the engine's queues were full",
    registers: [registry],
  });
  let bound = false;

  return {
    registry,
    referAccept,
    append,

    observeOutcome(input, outcome, now = Date.now()) {
      if (outcome.kind === 'replied' && outcome.cpsLimited) {
        cpsLimited.inc({ trunk: outcome.cpsLimited.trunkName });
      }
      if (outcome.kind === 'replied' && outcome.overloaded) overloaded.inc();
      if (input.kind !== 'request' || input.method !== 'REFER' || outcome.kind !== 'stored') return;
      const accepted = outcome.commands.some((c) => c.kind === 'response' && c.status === 202);
      const received = Date.parse(input.receivedAt);
      if (accepted && Number.isFinite(received)) referAccept.observe(Math.max(0, now - received) / 1000);
    },

    observeFailure(error) {
      failures.inc({ reason: isPermanentFailure(error) ? 'poison' : 'store' });
    },

    bindViews({ views, runner }) {
      if (bound) return;
      bound = true;
      const byStatus = views.prepare<[], { key: string; n: number }>(
        'SELECT status AS key, count(*) AS n FROM calls GROUP BY status',
      );
      const byOutcome = views.prepare<[], { key: string; n: number }>(
        'SELECT outcome AS key, count(*) AS n FROM transfers GROUP BY outcome',
      );
      new Gauge({
        name: 'pivot_calls',
        help: 'Calls in the call log, by status',
        labelNames: ['status'],
        registers: [registry],
        collect() {
          this.reset();
          for (const { key, n } of byStatus.all()) this.set({ status: key }, n);
        },
      });
      new Gauge({
        name: 'pivot_transfers',
        help: 'Transfers (REFERs decided), by outcome',
        labelNames: ['outcome'],
        registers: [registry],
        collect() {
          this.reset();
          for (const { key, n } of byOutcome.all()) this.set({ outcome: key }, n);
        },
      });
      if (!runner) return;
      new Gauge({
        name: 'pivot_projection_position',
        help: 'Position in $all of the last event each projection folded',
        labelNames: ['projection'],
        registers: [registry],
        async collect() {
          for (const status of await runner.status()) this.set({ projection: status.name }, status.position);
        },
      });
      new Gauge({
        name: 'pivot_projection_lag_events',
        help: 'Events stored after the last one each projection folded',
        labelNames: ['projection'],
        registers: [registry],
        async collect() {
          for (const status of await runner.status()) this.set({ projection: status.name }, status.lag);
        },
      });
      new Gauge({
        name: 'pivot_projection_lag_seconds',
        help: 'Age of the oldest event each projection has not folded yet (0 when current)',
        labelNames: ['projection'],
        registers: [registry],
        async collect() {
          for (const status of await runner.status())
            this.set({ projection: status.name }, status.lagSeconds);
        },
      });
    },
  };
}

/** The store with its appends timed into `pivot_store_append_seconds`. */
export function instrumentStore<S extends EventStore>(store: S, metrics: Metrics): S {
  const wrapped = Object.create(store) as S;
  wrapped.appendToStream = async (stream, events, options) => {
    const end = metrics.append.startTimer();
    try {
      return await store.appendToStream(stream, events, options);
    } finally {
      end();
    }
  };
  return wrapped;
}
