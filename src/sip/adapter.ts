/**
 * The SIP adapter: wires transport -> parse -> validate -> server/client transactions -> onInput, and
 * commands -> transactions -> transport. It holds only short-lived transaction state; dialogs live in
 * the engine's events. Nothing it does throws into a socket handler or out of execute().
 */
import { randomBytes } from 'node:crypto';
import type { SipCommand, SipEndpoint, SipInput } from '../bus/messages.ts';
import { type ClientSide, createClientSide } from './clientSide.ts';
import { DEFAULT_T1_MS, DIALOG_PIN_MAX_MS, MAX_PINNED_DIALOGS } from './constants.ts';
import { createDialogPins } from './dialogPins.ts';
import { parseMessage } from './parse.ts';
import { createServerSide, type ServerSide } from './serverSide.ts';
import { createTransport } from './transport.ts';
import type { Logger } from './types.ts';
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
}

export interface SipAdapter {
  readonly adapterId: string;
  start(): Promise<{ host: string; port: number }>;
  onInput(handler: (input: SipInput) => void): void;
  /** Never throws: a command that cannot be carried out is logged and dropped. */
  execute(command: SipCommand): void;
  stop(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 1_000;

export function createSipAdapter(options: SipAdapterOptions): SipAdapter {
  const log: Logger = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  const t1Ms = options.t1Ms ?? DEFAULT_T1_MS;
  let handler: ((input: SipInput) => void) | undefined;
  let boundPort: number | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  const deliver = (input: SipInput) => {
    if (!handler) {
      log('warn', 'sip input dropped: no input handler', { callId: input.callId });
      return;
    }
    try {
      handler(input);
    } catch (error) {
      log('error', 'sip input handler threw', { error: String(error), callId: input.callId });
    }
  };

  const receive = (data: Buffer, source: SipEndpoint) => {
    const parsed = parseMessage(data);
    if (!parsed.ok) {
      log('warn', 'sip message dropped: unparseable', { reason: parsed.error, source, bytes: data.length });
      return;
    }
    const validation = validateMessage(parsed.message, { stream: source.transport === 'tcp' });
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
    if (message.kind === 'request') server.handleRequest(message, source);
    else client.handleResponse(message, source);
  };

  const pins = createDialogPins({ now, maxAgeMs: DIALOG_PIN_MAX_MS, maxDialogs: MAX_PINNED_DIALOGS });
  const dialogs = {
    confirmed: (callId: string, remote: SipEndpoint) => {
      if (remote.transport === 'tcp') pins.pin(callId, remote);
    },
    ended: (callId: string) => pins.release(callId),
  };
  const transport = createTransport({
    host: options.host,
    port: options.port,
    log,
    onMessage: receive,
    keepOpen: (remote) => pins.holds(remote),
    ...(options.tcpIdleMs === undefined ? {} : { tcpIdleMs: options.tcpIdleMs }),
  });
  const server: ServerSide = createServerSide({
    adapterId: options.adapterId,
    t1Ms,
    send: transport.send,
    deliver,
    log,
    now,
    newTag: () => randomBytes(8).toString('hex'),
    dialogs,
  });
  const client: ClientSide = createClientSide({
    adapterId: options.adapterId,
    t1Ms,
    send: transport.send,
    deliver,
    log,
    now,
    local: () => ({ host: options.publicHost, port: boundPort ?? options.port }),
    dialogs,
  });

  return {
    adapterId: options.adapterId,
    async start() {
      const bound = await transport.start();
      boundPort = bound.port;
      sweeper = setInterval(() => {
        server.sweep();
        client.sweep();
      }, SWEEP_INTERVAL_MS);
      sweeper.unref();
      log('info', 'sip adapter listening', { ...bound, transports: ['udp', 'tcp'] });
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
    async stop() {
      clearInterval(sweeper);
      server.stop();
      client.stop();
      boundPort = undefined;
      await transport.stop();
    },
  };
}
