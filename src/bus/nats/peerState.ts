/**
 * The SIP peers' health between the roles: the one SIP adapter that pings writes a snapshot of every
 * peer's state on `<prefix>.peers.state`; engines and API processes follow it. The subject is kept by a
 * small stream of its own holding only its last message, so a process that starts (or reconnects) reads
 * the current state at once, and a write names the sequence it replaces (JetStream's expected last
 * subject sequence), so two adapters never both believe they are the one pinging.
 *
 *   <prefix>.peers.state   the latest PeerSnapshot (JSON); core subscribers get every write
 */
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { PeerSnapshot } from '../../shared/peerStatus.ts';
import type { Closable, PeerStateBus } from '../port.ts';
import { connectNats } from './connect.ts';
import { type NatsBusOptions, type ResolvedNatsBusOptions, resolveOptions } from './options.ts';

const STREAM_NAME_IN_USE = 10058;
const WRONG_LAST_SEQUENCE = 10071;

export function peerStateSubject(prefix: string): string {
  return `${prefix}.peers.state`;
}

export function peerStreamName(prefix: string): string {
  return `${prefix.toUpperCase().replace(/[^A-Z0-9_-]/g, '_')}_PEERS`;
}

async function ensurePeerStream(jsm: JetStreamManager, options: ResolvedNatsBusOptions): Promise<string> {
  const name = peerStreamName(options.subjectPrefix);
  try {
    await jsm.streams.info(name);
    return name;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
  }
  try {
    await jsm.streams.add({
      name,
      description: 'sip-pivot: the SIP peers health checks see, last snapshot only',
      subjects: [peerStateSubject(options.subjectPrefix)],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: 1,
      num_replicas: options.replicas,
    });
  } catch (error) {
    // Another process created it in the meantime.
    if (!(error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE)) throw error;
  }
  return name;
}

function decode(data: Uint8Array): PeerSnapshot | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(data)) as PeerSnapshot;
    return typeof value?.by === 'string' && Array.isArray(value.peers) ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function createPeerStateBus(
  nc: NatsConnection,
  options: ResolvedNatsBusOptions,
  managers?: { jsm: JetStreamManager; js: JetStreamClient },
): Promise<PeerStateBus> {
  const jsm = managers?.jsm ?? (await jetstreamManager(nc));
  const js = managers?.js ?? jetstream(nc);
  const stream = await ensurePeerStream(jsm, options);
  const subject = peerStateSubject(options.subjectPrefix);
  const { log } = options;

  const latest: PeerStateBus['latest'] = async () => {
    const stored = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch((error: unknown) => {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) return null;
      throw error;
    });
    const snapshot = stored ? decode(stored.data) : undefined;
    return stored && snapshot ? { snapshot, sequence: stored.seq } : undefined;
  };

  return {
    latest,
    async publish(snapshot, sequence) {
      try {
        const ack = await js.publish(subject, JSON.stringify(snapshot), {
          expect: { lastSubjectSequence: sequence },
          timeout: options.publishAttemptTimeoutMs,
        });
        return ack.seq;
      } catch (error) {
        if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) return undefined;
        throw error;
      }
    },
    async follow(handler) {
      const subscription = nc.subscribe(subject, {
        callback: (error, msg) => {
          if (error) {
            log('warn', 'nats bus: peer state subscription failed', { error: String(error) });
            return;
          }
          const snapshot = decode(msg.data);
          if (snapshot) handler(snapshot, true);
        },
      });
      await nc.flush();
      // Subscribed first, then read: a write in between is seen live; the older one read back is ignored.
      const stored = await latest().catch((error: unknown) => {
        log('warn', 'nats bus: could not read the peer state', { error: String(error) });
        return undefined;
      });
      if (stored) handler(stored.snapshot, false);
      return {
        async close() {
          subscription.unsubscribe();
        },
      };
    },
  };
}

/** A connection of its own, for a process that has no bus (`pivot api`). */
export async function connectPeerStateBus(options: NatsBusOptions): Promise<PeerStateBus & Closable> {
  const resolved = resolveOptions(options);
  const nc = await connectNats(resolved);
  try {
    const bus = await createPeerStateBus(nc, resolved);
    return {
      ...bus,
      async close() {
        if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
      },
    };
  } catch (error) {
    await nc.close();
    throw error;
  }
}
