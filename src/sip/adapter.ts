/**
 * The SIP adapter: wires transport -> parse -> validate -> server/client transactions -> onInput, and
 * commands -> transactions -> transport. It holds only short-lived transaction state; dialogs live in
 * the engine's events. Nothing it does throws into a socket handler or out of execute().
 */
import { randomBytes } from 'node:crypto';
import {
  isStream,
  type PeerCertificate,
  type SipCommand,
  type SipEndpoint,
  type SipInput,
} from '../shared/messages.ts';
import { type ClientSide, createClientSide } from './clientSide.ts';
import {
  DEFAULT_SOURCE_BURST,
  DEFAULT_SOURCE_RATE_PER_S,
  DEFAULT_T1_MS,
  DEFAULT_UNKNOWN_SOURCES_BURST,
  DEFAULT_UNKNOWN_SOURCES_RATE_PER_S,
  DIALOG_PIN_MAX_MS,
  MAX_PINNED_DIALOGS,
  SOURCE_LIMIT_RETRY_AFTER_S,
} from './constants.ts';
import { createDialogPins } from './dialogPins.ts';
import { parseMessage } from './parse.ts';
import { createServerSide, type ServerSide, type ServerSideStats } from './serverSide.ts';
import { createSourceLimiter, type SourceLimitOptions } from './sourceLimit.ts';
import { createTransport, type TlsOptions } from './transport.ts';
import type { Logger, SendFn } from './types.ts';
import { validateMessage } from './validate.ts';

export interface SipAdapterOptions {
  /** Address to bind UDP and TCP to. */
  host: string;
  /** Port for both UDP and TCP; 0 picks a free one. */
  port: number;
  /** The host written into our Via headers: what peers can reach us at. */
  publicHost: string;
  adapterId: string;
  log?: Logger;
  /** RFC 3261 T1; every timer derives from it. Lower it in tests to see retransmissions quickly. */
  t1Ms?: number;
  /** Clock for receivedAt and expiry; defaults to Date.now. */
  now?: () => number;
  /** TCP connections idle this long are closed unless they carry a confirmed dialog (default 5 min). */
  tcpIdleMs?: number;
  /**
   * Requests each source address may send (token bucket per IP; default 100/s, burst 200); `false`
   * turns the limit off. Over it, UDP requests are dropped (their source may be spoofed) and TCP
   * requests get 503 with Retry-After.
   */
  sourceLimit?: SourceLimitOptions | false;
  /** Server transactions waiting for a final answer at once (default 10,000); beyond, 503 statelessly. */
  maxPendingServerTransactions?: number;
  /** Sees every message as it arrives and as it leaves (the SIP trace); must not throw or block. */
  tap?: WireTap;
  /**
   * Whether a source address is a known peer (in a trunk's ACL, a carrier gateway or `carrier.sources`).
   * Known peers get `sourceLimit` each; every other source draws from the one shared
   * `unknownSourceLimit`. Asked per request, so trunk changes apply at once. Absent: every source is
   * treated as known (each its own budget).
   */
  isKnownSource?: (host: string) => boolean;
  /** The budget all unknown sources share (default 100/s, burst 200); `false`: each its own, as known. */
  unknownSourceLimit?: Omit<SourceLimitOptions, 'maxSources'> | false;
  /** SIP over TLS: its listener and the CAs peers are verified against (src/sip/transport.ts). */
  tls?: TlsOptions;
}

/** A copy of each message on the wire: `in` from `remote`, `out` to it. */
export type WireTap = (direction: 'in' | 'out', data: Buffer, remote: SipEndpoint) => void;

/** Counters and gauges for metrics: the adapter's load and what it shed. */
export interface SipAdapterStats extends ServerSideStats {
  /** Source addresses whose rate is being tracked (bounded). */
  sourcesTracked: number;
  /** Requests over their source's limit dropped (UDP) and refused with 503 (TCP), since start. */
  sourceLimitDropped: number;
  sourceLimitRefused: number;
  /** Of those, requests from unknown sources over their shared budget. */
  unknownSourcesShed: number;
  /** TCP and TLS connections open now. */
  tcpConnections: number;
}

export interface SipAdapter {
  readonly adapterId: string;
  start(): Promise<{ host: string; port: number; tlsPort?: number }>;
  /**
   * The handler may return a promise that settles once the input is durable (published to a durable
   * bus, or stored by the engine): only then does a new INVITE get its 100 Trying. A handler that
   * returns nothing has taken the input when it returns.
   */
  onInput(handler: (input: SipInput) => unknown): void;
  /** Never throws: a command that cannot be carried out is logged and dropped. */
  execute(command: SipCommand): void;
  stats(): SipAdapterStats;
  stop(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 1_000;

export function createSipAdapter(options: SipAdapterOptions): SipAdapter {
  const log: Logger = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  const t1Ms = options.t1Ms ?? DEFAULT_T1_MS;
  let handler: ((input: SipInput) => unknown) | undefined;
  let boundPort: number | undefined;
  let boundTlsPort: number | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  const deliver = (input: SipInput) => {
    if (!handler) {
      log('warn', 'sip input dropped: no input handler', { callId: input.callId });
      return;
    }
    let taken: unknown;
    try {
      taken = handler(input);
    } catch (error) {
      log('error', 'sip input handler threw', { error: String(error), callId: input.callId });
      return;
    }
    if (input.kind !== 'request' || input.method !== 'INVITE') return;
    Promise.resolve(taken).then(
      () => server.trying(input.transactionKey),
      // Not durable: the caller is still retransmitting, or the handler answered it itself.
      () => {},
    );
  };

  const limiter =
    options.sourceLimit === false
      ? undefined
      : createSourceLimiter(
          options.sourceLimit ?? { ratePerSecond: DEFAULT_SOURCE_RATE_PER_S, burst: DEFAULT_SOURCE_BURST },
          now,
        );
  const unknownBudget =
    limiter && options.isKnownSource && options.unknownSourceLimit !== false
      ? createSourceLimiter(
          {
            ...(options.unknownSourceLimit ?? {
              ratePerSecond: DEFAULT_UNKNOWN_SOURCES_RATE_PER_S,
              burst: DEFAULT_UNKNOWN_SOURCES_BURST,
            }),
            maxSources: 1,
          },
          now,
        )
      : undefined;
  const shed = { sourceLimitDropped: 0, sourceLimitRefused: 0, unknownSourcesShed: 0 };

  /** Known peers spend their own budget; all the others one shared budget. */
  const admit = (host: string): boolean => {
    if (!limiter) return true;
    if (!unknownBudget || isKnown(host)) return limiter.admit(host);
    if (unknownBudget.admit('')) return true;
    shed.unknownSourcesShed++;
    return false;
  };
  const isKnown = (host: string): boolean => {
    try {
      return options.isKnownSource?.(host) ?? true;
    } catch (error) {
      log('error', 'sip source check failed; treated as unknown', { error: String(error) });
      return false;
    }
  };

  const receive = (data: Buffer, source: SipEndpoint, certificate?: PeerCertificate) => {
    const parsed = parseMessage(data);
    // Responses answer our own requests and are matched or dropped cheaply; everything else a source
    // sends (requests, retransmissions, garbage) costs it a token.
    const isResponse = parsed.ok && parsed.message.start.kind === 'response';
    if (!isResponse && !admit(source.host)) return overLimit(parsed, source);
    // After the limit: a flood is not written down.
    options.tap?.('in', data, source);
    if (!parsed.ok) {
      log('warn', 'sip message dropped: unparseable', { reason: parsed.error, source, bytes: data.length });
      return;
    }
    const validation = validateMessage(parsed.message, { stream: isStream(source.transport) });
    if (!validation.ok) {
      if (validation.status !== undefined && validation.topVia) {
        log('info', 'sip request rejected', { status: validation.status, reason: validation.reason, source });
        server.reject(parsed.message, validation.topVia, source, validation.status, validation.reason);
      } else {
        log('warn', 'sip message dropped: invalid', { reason: validation.reason, source });
      }
      return;
    }
    const message = validation.message;
    if (message.kind === 'request')
      server.handleRequest(certificate ? { ...message, certificate } : message, source);
    else client.handleResponse(message, source);
  };

  /**
   * UDP excess is dropped without a word: answering would reflect a spoofed flood at its victim. A TCP
   * source has proven its address, so it is told to back off (RFC 3261 §21.5.4).
   */
  const overLimit = (parsed: ReturnType<typeof parseMessage>, source: SipEndpoint) => {
    if (source.transport === 'udp' || !parsed.ok) {
      shed.sourceLimitDropped++;
      return;
    }
    const validation = validateMessage(parsed.message, { stream: true });
    if (!validation.ok || validation.message.kind !== 'request') {
      shed.sourceLimitDropped++;
      return;
    }
    shed.sourceLimitRefused++;
    server.refuse(validation.message, source, {
      status: 503,
      reason: 'Service Unavailable',
      headers: { 'Retry-After': String(SOURCE_LIMIT_RETRY_AFTER_S) },
    });
  };

  /** One log line a second at most while sources are shed, however many requests were. */
  let reported = { ...shed };
  const reportShed = () => {
    const dropped = shed.sourceLimitDropped - reported.sourceLimitDropped;
    const refused = shed.sourceLimitRefused - reported.sourceLimitRefused;
    if (dropped === 0 && refused === 0) return;
    reported = { ...shed };
    log('warn', 'sip requests over their source rate limit', {
      dropped,
      refused,
      sources: limiter?.sources,
      unknownSourcesShed: shed.unknownSourcesShed,
    });
  };

  const pins = createDialogPins({ now, maxAgeMs: DIALOG_PIN_MAX_MS, maxDialogs: MAX_PINNED_DIALOGS });
  const dialogs = {
    confirmed: (callId: string, remote: SipEndpoint) => {
      if (isStream(remote.transport)) pins.pin(callId, remote);
    },
    ended: (callId: string) => pins.release(callId),
  };
  const transport = createTransport({
    host: options.host,
    port: options.port,
    log,
    onMessage: receive,
    keepOpen: (remote) => pins.holds(remote),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.tcpIdleMs === undefined ? {} : { tcpIdleMs: options.tcpIdleMs }),
  });
  const send: SendFn = options.tap
    ? (destination, data, onError) => {
        options.tap?.('out', data, destination);
        transport.send(destination, data, onError);
      }
    : transport.send;
  const server: ServerSide = createServerSide({
    adapterId: options.adapterId,
    t1Ms,
    send,
    deliver,
    log,
    now,
    newTag: () => randomBytes(8).toString('hex'),
    dialogs,
    ...(options.maxPendingServerTransactions === undefined
      ? {}
      : { maxPending: options.maxPendingServerTransactions }),
  });
  const client: ClientSide = createClientSide({
    adapterId: options.adapterId,
    t1Ms,
    send,
    deliver,
    log,
    now,
    local: (transport) => ({
      host: options.publicHost,
      port: transport === 'tls' ? (boundTlsPort ?? options.tls?.port ?? 5061) : (boundPort ?? options.port),
    }),
    dialogs,
  });

  return {
    adapterId: options.adapterId,
    async start() {
      const bound = await transport.start();
      boundPort = bound.port;
      boundTlsPort = bound.tlsPort;
      sweeper = setInterval(() => {
        server.sweep();
        client.sweep();
        reportShed();
      }, SWEEP_INTERVAL_MS);
      sweeper.unref();
      log('info', 'sip adapter listening', {
        ...bound,
        transports: bound.tlsPort ? ['udp', 'tcp', 'tls'] : ['udp', 'tcp'],
      });
      return bound;
    },
    onInput(next) {
      handler = next;
    },
    execute(command) {
      try {
        if (boundPort === undefined) {
          log('warn', 'sip command dropped: adapter not started', { kind: command.kind });
          return;
        }
        if (command.kind === 'response') server.respond(command);
        else client.sendRequest(command);
      } catch (error) {
        log('error', 'sip command failed', { error: String(error), kind: command.kind });
      }
    },
    stats() {
      return {
        ...server.stats(),
        sourcesTracked: limiter?.sources ?? 0,
        ...shed,
        tcpConnections: transport.openConnections(),
      };
    },
    async stop() {
      clearInterval(sweeper);
      limiter?.clear();
      unknownBudget?.clear();
      server.stop();
      client.stop();
      boundPort = undefined;
      await transport.stop();
    },
  };
}
