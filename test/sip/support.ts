/** Shared fixtures for the SIP adapter tests: a started adapter that records inputs, and a raw UDP peer. */
import dgram from 'node:dgram';
import type { SipInput, SipRequestInput, SipResponseInput } from '../../src/shared/messages.ts';
import { createSipAdapter, type SipAdapter, type SipAdapterOptions } from '../../src/sip/index.ts';

export interface LogLine {
  level: string;
  msg: string;
  fields?: object;
}

export interface Harness {
  adapter: SipAdapter;
  port: number;
  inputs: SipInput[];
  logs: LogLine[];
  /** Resolves with the first input (already received or future) matching the predicate. */
  waitFor<T extends SipInput = SipInput>(
    predicate: (input: SipInput) => boolean,
    timeoutMs?: number,
  ): Promise<T>;
  requests(method?: string): SipRequestInput[];
  responses(): SipResponseInput[];
  stop(): Promise<void>;
}

export async function startAdapter(
  onInput?: (input: SipInput, adapter: SipAdapter) => void,
  options: Partial<SipAdapterOptions> = {},
): Promise<Harness> {
  const logs: LogLine[] = [];
  const inputs: SipInput[] = [];
  const waiters = new Set<() => void>();
  const adapter = createSipAdapter({
    host: '127.0.0.1',
    port: 0,
    publicHost: '127.0.0.1',
    adapterId: 'sip-test',
    log: (level, msg, fields) => {
      logs.push(fields === undefined ? { level, msg } : { level, msg, fields });
    },
    ...options,
  });
  adapter.onInput((input) => {
    // Inputs must be plain JSON so they can cross NATS unchanged.
    inputs.push(JSON.parse(JSON.stringify(input)) as SipInput);
    try {
      onInput?.(input, adapter);
    } finally {
      for (const wake of waiters) wake();
    }
  });
  const { port } = await adapter.start();

  return {
    adapter,
    port,
    inputs,
    logs,
    waitFor<T extends SipInput>(predicate: (input: SipInput) => boolean, timeoutMs = 5_000) {
      return new Promise<T>((resolve, reject) => {
        const check = () => {
          const found = inputs.find(predicate);
          if (!found) return false;
          cleanup();
          resolve(found as T);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`no matching input within ${timeoutMs} ms; got ${JSON.stringify(inputs, null, 1)}`),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        const wake = () => void check();
        if (!check()) waiters.add(wake);
      });
    },
    requests(method) {
      return inputs.filter(
        (i): i is SipRequestInput => i.kind === 'request' && (method === undefined || i.method === method),
      );
    },
    responses() {
      return inputs.filter((i): i is SipResponseInput => i.kind === 'response');
    },
    stop: () => adapter.stop(),
  };
}

/** A bare UDP socket talking raw SIP text to the adapter, for what SIPp cannot send or check. */
export interface UdpPeer {
  port: number;
  send(text: string | Buffer): void;
  /** The next datagram received (queued if it already arrived). */
  next(timeoutMs?: number): Promise<string>;
  /** Resolves with every datagram received during the given time. */
  collect(ms: number): Promise<string[]>;
  close(): Promise<void>;
}

/** `host` binds the peer to another loopback address (127.0.0.2+), so it is a distinct source. */
export async function udpPeer(adapterPort: number, host = '127.0.0.1'): Promise<UdpPeer> {
  const socket = dgram.createSocket('udp4');
  const queue: string[] = [];
  const waiting: Array<(text: string) => void> = [];
  socket.on('message', (data) => {
    const text = data.toString('utf8');
    const waiter = waiting.shift();
    if (waiter) waiter(text);
    else queue.push(text);
  });
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return {
    port: socket.address().port,
    send(text) {
      socket.send(typeof text === 'string' ? Buffer.from(text) : text, adapterPort, '127.0.0.1');
    },
    next(timeoutMs = 2_000) {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const index = waiting.indexOf(deliver);
          if (index >= 0) waiting.splice(index, 1);
          reject(new Error(`no datagram within ${timeoutMs} ms`));
        }, timeoutMs);
        const deliver = (text: string) => {
          clearTimeout(timer);
          resolve(text);
        };
        waiting.push(deliver);
      });
    },
    async collect(ms) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return queue.splice(0);
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** Builds a request the way a peer on `port` would, CRLF line ends and a correct Content-Length. */
export function rawRequest(options: {
  method: string;
  port: number;
  branch: string;
  callId?: string;
  cseq?: string;
  toTag?: string;
  extra?: string[];
  body?: string;
  omit?: string[];
}): string {
  const body = options.body ?? '';
  const headers: Array<[string, string]> = [
    ['Via', `SIP/2.0/UDP 127.0.0.1:${options.port};branch=${options.branch}`],
    ['Max-Forwards', '70'],
    ['From', `<sip:peer@127.0.0.1:${options.port}>;tag=peer-tag`],
    ['To', `<sip:pivot@127.0.0.1>${options.toTag ? `;tag=${options.toTag}` : ''}`],
    ['Call-ID', options.callId ?? `call-${options.branch}`],
    ['CSeq', options.cseq ?? `1 ${options.method}`],
    ['Contact', `<sip:peer@127.0.0.1:${options.port}>`],
  ];
  const lines = headers
    .filter(([name]) => !(options.omit ?? []).includes(name))
    .map(([name, value]) => `${name}: ${value}`);
  lines.push(...(options.extra ?? []));
  if (!(options.omit ?? []).includes('Content-Length'))
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${options.method} sip:pivot@127.0.0.1 SIP/2.0\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** The status line of a response text. */
export function statusLine(text: string): string {
  return text.split('\r\n')[0] ?? '';
}

/** One header's value from a message text (first occurrence). */
export function header(text: string, name: string): string | undefined {
  const line = text.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/** The Via branches of the messages SIPp sent with the given start, from its -trace_msg log. */
export function sentBranches(messages: string, start: string): string[] {
  return messages
    .split(/^-{10,}.*$/m)
    .filter((block) => /message sent/.test(block))
    .map((block) => block.slice(block.indexOf('\n\n') + 2).replace(/^\s+/, ''))
    .filter((text) => text.startsWith(start))
    .map((text) => /branch=([^;\s]+)/.exec(text)?.[1] ?? '');
}

export const SDP = [
  'v=0',
  'o=pivot 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0',
  '',
].join('\r\n');

/** A response to a request text, as a peer's UAS would build it (Via, From, To+tag, Call-ID, CSeq copied). */
export function rawResponse(request: string, status: number, reason: string, toTag?: string): string {
  const lines = request.split('\r\n');
  const copied = lines.filter((l) => /^(via|from|call-id|cseq):/i.test(l));
  const to = lines.find((l) => /^to:/i.test(l)) ?? 'To: <sip:unknown@invalid>';
  const toLine = toTag && !/;tag=/.test(to) ? `${to};tag=${toTag}` : to;
  return `SIP/2.0 ${status} ${reason}\r\n${[...copied, toLine].join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
}

/**
 * The engine's command for an INVITE to a target UAS listening on `port` (a UdpPeer): the request a
 * client-transaction test makes the adapter send, a minimal SDP offer, no To tag yet.
 */
export function inviteCommand(
  port: number,
  ids: { branch: string; callId: string },
): import('../../src/shared/messages.ts').SendRequestCommand {
  return {
    kind: 'request',
    method: 'INVITE',
    uri: `sip:target@127.0.0.1:${port}`,
    destination: { transport: 'udp', host: '127.0.0.1', port },
    ...ids,
    from: { uri: 'sip:pivot@127.0.0.1', params: { tag: 'p' } },
    to: { uri: 'sip:target@127.0.0.1', params: {} },
    cseq: { seq: 1, method: 'INVITE' },
    headers: {},
    body: 'v=0\r\n',
    contentType: 'application/sdp',
  };
}
