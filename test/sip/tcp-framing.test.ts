/**
 * Stream framing (RFC 3261 §18.3): a message's end is found with the same rules the parser uses, and a
 * Content-Length that cannot be trusted (repeated, compact and full forms mixed, unreadable) loses the
 * framing: the request gets its 400 and the connection is closed, so nothing smuggled in a "body"
 * ever becomes a message.
 */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStreamFramer } from '../../src/sip/framer.ts';
import { until } from '../helpers/until.ts';
import { type Harness, rawRequest, startAdapter, statusLine, type UdpPeer, udpPeer } from './support.ts';

/** Runs chunks through a framer and reports what it made of them. */
function frame(...chunks: string[]) {
  const messages: string[] = [];
  const lost: string[] = [];
  let pings = 0;
  const push = createStreamFramer({
    maxMessageBytes: 65_535,
    onMessage: (message) => messages.push(message.toString('latin1')),
    onPing: () => pings++,
    onFramingLost: (reason) => lost.push(reason),
  });
  for (const chunk of chunks) push(Buffer.from(chunk, 'latin1'));
  return { messages, lost, pings: () => pings };
}

const tcp = (text: string) => text.replace('SIP/2.0/UDP ', 'SIP/2.0/TCP ');
const hidden = tcp(rawRequest({ method: 'INVITE', port: 1, branch: 'z9hG4bK-hidden', callId: 'smuggled' }));
const lf = (text: string) => text.replaceAll('\r\n', '\n');

describe('createStreamFramer', () => {
  it('loses framing on a Content-Length given twice (full and compact form), keeping only the head', () => {
    const carrier = tcp(rawRequest({ method: 'OPTIONS', port: 1, branch: 'z9hG4bK-cl2' })).replace(
      'Content-Length: 0',
      `Content-Length: 0\r\nl: ${Buffer.byteLength(hidden)}`,
    );
    const { messages, lost } = frame(carrier + hidden);
    expect(lost).toEqual(['2 Content-Length headers']);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.endsWith('\r\n\r\n')).toBe(true);
    expect(messages[0]).not.toContain('smuggled');
  });

  it('loses framing on two Content-Length headers with the same value', () => {
    const carrier = rawRequest({ method: 'OPTIONS', port: 1, branch: 'z9hG4bK-cl3' }).replace(
      'Content-Length: 0',
      'Content-Length: 0\r\ncontent-length: 0',
    );
    const { messages, lost } = frame(carrier + hidden);
    expect(lost).toEqual(['2 Content-Length headers']);
    expect(messages).toHaveLength(1);
  });

  it('loses framing on a Content-Length line that does not parse as a header', () => {
    const carrier = rawRequest({ method: 'OPTIONS', port: 1, branch: 'z9hG4bK-cl4' }).replace(
      'Content-Length: 0',
      `Content-Length ${Buffer.byteLength(hidden)}`,
    );
    const { messages, lost } = frame(carrier + hidden);
    expect(lost).toEqual([`unreadable Content-Length line "Content-Length ${Buffer.byteLength(hidden)}"`]);
    expect(messages.some((m) => m.includes('smuggled'))).toBe(false);
  });

  it('frames messages with bare LF line ends, body included, like the parser does', () => {
    const body = 'v=0\n';
    const one = lf(rawRequest({ method: 'OPTIONS', port: 1, branch: 'z9hG4bK-lf1' }));
    const two = lf(rawRequest({ method: 'MESSAGE', port: 1, branch: 'z9hG4bK-lf2', body }));
    const { messages, lost } = frame(one.slice(0, 40), one.slice(40) + two);
    expect(lost).toEqual([]);
    expect(messages).toEqual([one, two]);
    expect(messages[1]!.endsWith(`\n\n${body}`)).toBe(true);
  });

  it('ignores line breaks before a start line, answers a CRLFCRLF ping, waits for half a ping', () => {
    const one = rawRequest({ method: 'OPTIONS', port: 1, branch: 'z9hG4bK-lb' });
    const result = frame('\r\n', '\n\n', `\r\n\r\n\r${'\n'}`, one, '\r\n');
    expect(result.pings()).toBe(1);
    expect(result.messages).toEqual([one]);
    expect(result.lost).toEqual([]);
  });
});

describe('TCP framing through the adapter', () => {
  let harness: Harness;
  let peer: UdpPeer;
  beforeEach(async () => {
    harness = await startAdapter();
    peer = await udpPeer(harness.port);
  });
  afterEach(async () => {
    await peer.close();
    await harness.stop();
  });

  function connect(): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
    return new Promise((resolve, reject) => {
      let data = '';
      const socket = net.connect(harness.port, '127.0.0.1');
      const closed = new Promise<void>((done) => socket.on('close', () => done()));
      socket.on('data', (chunk) => {
        data += chunk.toString();
      });
      socket.once('error', reject);
      socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    });
  }
  /** The connection's close, or a failure after `ms` (a connection left open must not hang the test). */
  const closedWithin = (closed: Promise<void>, ms = 2_000) =>
    Promise.race([
      closed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('connection left open')), ms)),
    ]);
  it('answers Content-Length: 0 plus l: N with 400, closes, and never delivers the hidden INVITE', async () => {
    const { socket, received, closed } = await connect();
    const carrier = tcp(
      rawRequest({ method: 'BYE', port: 1, branch: 'z9hG4bK-smuggle', toTag: 't' }),
    ).replace('Content-Length: 0', `Content-Length: 0\r\nl: ${Buffer.byteLength(hidden)}`);
    socket.write(carrier + hidden);
    await closedWithin(closed);
    expect(statusLine(received())).toBe('SIP/2.0 400 Multiple Content-Length headers');
    expect(received().match(/^SIP\/2\.0 /gm)).toHaveLength(1);
    // Every byte of a connection is framed before the adapter lets it go: then nothing more can come of it.
    await until(() => harness.adapter.stats().tcpConnections === 0);
    expect(harness.inputs).toEqual([]);
    expect(harness.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'sip tcp framing lost, closing connection',
        fields: expect.objectContaining({ reason: '2 Content-Length headers' }),
      }),
    );
  });

  it('answers an OPTIONS with bare LF line ends, and the next one on the same connection', async () => {
    const { socket, received } = await connect();
    socket.write(lf(tcp(rawRequest({ method: 'OPTIONS', port: 1, branch: 'z9hG4bK-lf-tcp-1' }))));
    await until(() => /branch=z9hG4bK-lf-tcp-1/.test(received()));
    socket.write(lf(tcp(rawRequest({ method: 'OPTIONS', port: 1, branch: 'z9hG4bK-lf-tcp-2' }))));
    await until(() => /branch=z9hG4bK-lf-tcp-2/.test(received()));
    expect(received().match(/^SIP\/2\.0 200 OK/gm)).toHaveLength(2);
    socket.destroy();
  });

  it('answers the same LF-only OPTIONS over UDP (one rule for both transports)', async () => {
    peer.send(lf(rawRequest({ method: 'OPTIONS', port: peer.port, branch: 'z9hG4bK-lf-udp' })));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
  });
});
