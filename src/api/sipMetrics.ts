/**
 * The SIP edge's own figures on /metrics, read from the adapter when scraped: transactions held, what
 * it answered statelessly, and what it shed (per-source limit, pending-transaction cap). Counters since
 * start are exposed as gauges of running totals, since the adapter keeps them, not prom-client.
 */
import { Gauge, type Registry } from 'prom-client';
import type { SipAdapterStats } from '../sip/adapter.ts';

const FIGURES: Array<[keyof SipAdapterStats, string, string]> = [
  [
    'transactions',
    'pivot_sip_server_transactions',
    'Server transactions held (pending or absorbing retransmissions)',
  ],
  ['pending', 'pivot_sip_server_transactions_pending', 'Server transactions waiting for a final answer'],
  ['statelessKept', 'pivot_sip_stateless_answers_kept', 'Stateless answers remembered for retransmissions'],
  ['statelessAnswers', 'pivot_sip_stateless_answers_total', 'Final answers sent statelessly since start'],
  [
    'statelessRepeats',
    'pivot_sip_stateless_repeats_total',
    'Retransmissions answered from remembered stateless answers',
  ],
  [
    'overloadRefused',
    'pivot_sip_overload_refused_total',
    'New requests refused 503 at the pending-transaction cap',
  ],
  ['sourcesTracked', 'pivot_sip_sources_tracked', 'Source addresses whose request rate is tracked'],
  [
    'sourceLimitDropped',
    'pivot_sip_source_limit_dropped_total',
    'Requests over their source limit dropped (UDP)',
  ],
  [
    'unknownSourcesShed',
    'pivot_sip_unknown_sources_shed_total',
    'Requests from sources outside every trunk ACL and the carrier, over their shared budget',
  ],
  [
    'sourceLimitRefused',
    'pivot_sip_source_limit_refused_total',
    'Requests over their source limit refused 503 (TCP)',
  ],
  ['tcpConnections', 'pivot_sip_tcp_connections', 'TCP and TLS connections open'],
];

export function registerSipMetrics(registry: Registry, stats: () => SipAdapterStats): void {
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
