/**
 * The NATS bus's options and their defaults. Every process of one deployment (adapters and engines)
 * must agree on `partitions`, `streamName` and `subjectPrefix`; the stream records the partition
 * count and a process configured differently refuses to start.
 */
import { type Logger, silentLogger } from '../../log.ts';
import type { Backoff } from '../../shared/backoff.ts';

/** Between attempts of one publish or one command: 100 ms doubling to 1 s, within their timeouts. */
export const REQUEST_RETRY: Backoff = { first: 50, max: 1_000 };

export interface NatsBusOptions {
  /** nats-server URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Input partitions: a session's inputs always land in one, in order. Default 16. */
  partitions?: number;
  /** The JetStream stream holding the inputs. Default `PIVOT_INPUTS`. */
  streamName?: string;
  /** First token of every subject (and of the consumer names). Default `pivot`. */
  subjectPrefix?: string;
  /**
   * How long an engine holds an input without acknowledging it before JetStream hands it to another
   * engine. A live engine extends it while its handler runs, so it only bounds failover. Default 5 s.
   */
  ackWaitMs?: number;
  /** Deliveries of one input before it is given up (so a poison input cannot stall its partition). Default 10. */
  maxDeliver?: number;
  /** Window in which a repeated input (same key) is dropped by JetStream. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** Inputs nobody consumed are dropped after this long. Default 1 hour. */
  maxAgeMs?: number;
  /** Stream replicas (a clustered nats-server). Default 1. */
  replicas?: number;
  /** How long `publishInput` keeps retrying (through a reconnect) before it rejects. Default 10 s. */
  publishTimeoutMs?: number;
  /** Wait for the PubAck of one publish attempt. Default 2 s. */
  publishAttemptTimeoutMs?: number;
  /**
   * How long an engine keeps re-sending a command no adapter acknowledged (the adapter was
   * reconnecting, or not subscribed yet) before giving it up. Default 32 s (64*T1: by then SIP has given
   * up on the transaction anyway).
   */
  commandTimeoutMs?: number;
  /** Wait for an adapter's acknowledgement of one command attempt. Default 2 s. */
  commandAttemptTimeoutMs?: number;
  /** Wait between reconnect attempts. Default 250 ms. */
  reconnectTimeWaitMs?: number;
  /** Client name shown by the server's monitoring. */
  name?: string;
  log?: Logger;
}

export type ResolvedNatsBusOptions = Required<Omit<NatsBusOptions, 'servers' | 'name'>> & {
  servers: string[];
  name: string | undefined;
};

export function resolveOptions(options: NatsBusOptions): ResolvedNatsBusOptions {
  const resolved: ResolvedNatsBusOptions = {
    servers: Array.isArray(options.servers) ? options.servers : [options.servers],
    partitions: options.partitions ?? 16,
    streamName: options.streamName ?? 'PIVOT_INPUTS',
    subjectPrefix: options.subjectPrefix ?? 'pivot',
    ackWaitMs: options.ackWaitMs ?? 5_000,
    maxDeliver: options.maxDeliver ?? 10,
    duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
    maxAgeMs: options.maxAgeMs ?? 3_600_000,
    replicas: options.replicas ?? 1,
    publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
    publishAttemptTimeoutMs: options.publishAttemptTimeoutMs ?? 2_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 32_000,
    commandAttemptTimeoutMs: options.commandAttemptTimeoutMs ?? 2_000,
    reconnectTimeWaitMs: options.reconnectTimeWaitMs ?? 250,
    name: options.name,
    log: options.log ?? silentLogger,
  };
  if (!Number.isInteger(resolved.partitions) || resolved.partitions < 1) {
    throw new Error(`nats bus: partitions must be a positive integer, got ${resolved.partitions}`);
  }
  if (resolved.ackWaitMs < 1_000) {
    throw new Error(`nats bus: ackWaitMs must be at least 1000, got ${resolved.ackWaitMs}`);
  }
  if (resolved.duplicateWindowMs < resolved.publishTimeoutMs) {
    // A retried publish must still be recognised as the same input.
    throw new Error('nats bus: duplicateWindowMs must not be shorter than publishTimeoutMs');
  }
  return resolved;
}
