/**
 * Health of the peers the pivot sends calls to: an OPTIONS to each carrier gateway and each trunk's
 * origination address every interval (RFC 3261 §11). Any final answer means up, except 503 and the
 * adapter's own answers (a timeout after 64*T1, a transport error), which mean down. A gateway that is
 * down leaves the rotation (trunks.ts) until it answers again; when every one is down, all are tried.
 * The pings are not stored: they are no call's business.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { SendRequestCommand, SipEndpoint, SipInput, SipResponseInput } from '../shared/messages.ts';
import type { PeerSnapshot, PeerState, PeerStatus } from '../shared/peerStatus.ts';

export interface PeerHealth {
  isDown(destination: SipEndpoint): boolean;
  statuses(): PeerStatus[];
}

export interface HealthChecker extends PeerHealth {
  /** Whether `input` answers one of our pings (then give it to onResponse, not to the engine). */
  owns(input: SipInput): input is SipResponseInput;
  onResponse(input: SipResponseInput): void;
  /** Pings every target once (a round); `start` does this every interval. */
  ping(): void;
  start(): void;
  stop(): void;
}

export interface HealthCheckerOptions {
  /** Every peer to ping now: the located carrier gateways and origination addresses. */
  targets: () => { uri: string; destination: SipEndpoint }[];
  send: (command: SendRequestCommand) => void;
  intervalMs: number;
  publicHost: string;
  log?: Logger;
  now?: () => Date;
  /** Called after a peer's state changed. */
  onChange?: () => void;
}

const CALL_ID_PREFIX = 'pv-ping-';

export function keyOf(destination: SipEndpoint): string {
  return `${destination.transport}|${destination.host}|${destination.port}`;
}

export function createHealthChecker(options: HealthCheckerOptions): HealthChecker {
  const log: Logger = options.log ?? (() => {});
  const now = options.now ?? (() => new Date());
  // One prefix per process: answers to another engine's pings are not ours.
  const prefix = `${CALL_ID_PREFIX}${randomBytes(6).toString('hex')}-`;
  const peers = new Map<string, PeerStatus>();
  const pending = new Map<string, string>();
  let round = 0;
  let timer: NodeJS.Timeout | undefined;

  const ping = () => {
    round++;
    const seen = new Set<string>();
    for (const { uri, destination } of options.targets()) {
      const key = keyOf(destination);
      if (seen.has(key)) continue;
      seen.add(key);
      if (!peers.has(key)) peers.set(key, { uri, destination, state: 'unknown' });
      const id = `${round}-${seen.size}`;
      const callId = `${prefix}${id}@${options.publicHost}`;
      pending.set(callId, key);
      options.send({
        kind: 'request',
        branch: `z9hG4bK-ping-${prefix.slice(CALL_ID_PREFIX.length)}${id}`,
        method: 'OPTIONS',
        uri: uri.replace(/^(sips?:)[^@;?>]*@/i, '$1'),
        destination,
        callId,
        from: { uri: `sip:pivot@${options.publicHost}`, params: { tag: 'ping' } },
        to: { uri: uri.replace(/^(sips?:)[^@;?>]*@/i, '$1'), params: {} },
        cseq: { seq: round, method: 'OPTIONS' },
      });
    }
  };

  const settle = (key: string, status: number, up: boolean) => {
    const peer = peers.get(key);
    if (!peer) return;
    const state: PeerState = up ? 'up' : 'down';
    peer.lastStatus = status;
    if (peer.state === state) return;
    log(up ? 'info' : 'warn', up ? 'sip peer answers again' : 'sip peer does not answer', {
      uri: peer.uri,
      destination: peer.destination,
      status,
    });
    peer.state = state;
    peer.since = now().toISOString();
    options.onChange?.();
  };

  return {
    owns: (input): input is SipResponseInput =>
      input.kind === 'response' && input.callId.startsWith(CALL_ID_PREFIX),
    onResponse(input) {
      if (input.status < 200) return;
      const key = pending.get(input.callId);
      if (key === undefined) return;
      pending.delete(input.callId);
      const ours = input.headers['x-pivot-generated'] !== undefined;
      settle(key, input.status, !ours && input.status !== 503);
    },
    isDown: (destination) => peers.get(keyOf(destination))?.state === 'down',
    statuses: () => [...peers.values()].map((peer) => ({ ...peer })),
    ping,
    start() {
      // The first round after one interval: the SIP adapter starts after the engine.
      timer = setInterval(ping, options.intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** A snapshot not renewed within this many of its intervals is stale: its writer stopped pinging. */
export const STALE_AFTER_INTERVALS = 3;

export interface PeerHealthMirror extends PeerHealth {
  /** The pinging edge's latest snapshot; `heardAt` when it arrived (its own `at` when read back). */
  update(snapshot: PeerSnapshot, heardAt?: Date): void;
}

/**
 * The peers' health as another process checks it (the SIP edge, when the roles run apart). A stale
 * snapshot (the edge stopped pinging, or cannot publish) shows every peer unknown and takes none out of
 * rotation: calls are better tried than refused on old news.
 */
export function createPeerHealthMirror(options: { now?: () => Date } = {}): PeerHealthMirror {
  const now = options.now ?? (() => new Date());
  let latest: { snapshot: PeerSnapshot; heardAt: number } | undefined;
  const current = (): PeerStatus[] => {
    if (!latest) return [];
    const { snapshot, heardAt } = latest;
    const stale = now().getTime() - heardAt > STALE_AFTER_INTERVALS * snapshot.intervalMs;
    return snapshot.peers.map((peer) => (stale ? { ...peer, state: 'unknown' } : { ...peer }));
  };
  return {
    update(snapshot, heardAt) {
      const at = (heardAt ?? new Date(snapshot.at)).getTime();
      // A snapshot read back at start may arrive after a newer live one.
      if (latest && Date.parse(latest.snapshot.at) > Date.parse(snapshot.at)) return;
      latest = { snapshot, heardAt: at };
    },
    isDown: (destination) => {
      const key = keyOf(destination);
      return current().some((peer) => peer.state === 'down' && keyOf(peer.destination) === key);
    },
    statuses: current,
  };
}
