import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { type Harness, rawRequest, startAdapter, statusLine, type UdpPeer, udpPeer } from './support.ts';

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

async function expectOptionsAnswered(branch: string) {
  peer.send(rawRequest({ method: 'OPTIONS', port: peer.port, branch }));
  expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
}

const valid = (branch: string, port = peer.port) => rawRequest({ method: 'OPTIONS', port, branch });

let probes = 0;

/**
 * Sends `data`, then an OPTIONS probe, and returns the replies to `data`: every datagram until the probe
 * is answered (the adapter reads one socket's datagrams in order, so its answer to `data` came first),
 * and until `expected` is among them. The probe's answer proves the adapter is alive and read `data`.
 */
async function repliesTo(data: Buffer, expected?: string): Promise<string[]> {
  const probe = `z9hG4bK-probe-${++probes}`;
  peer.send(data);
  peer.send(valid(probe));
  const replies: string[] = [];
  let probeAnswered = false;
  while (!probeAnswered || (expected && !replies.some((reply) => statusLine(reply) === expected))) {
    const message = await peer.next(30_000);
    if (message.includes(`branch=${probe}`)) probeAnswered = true;
    else replies.push(message);
  }
  return replies;
}

describe('garbage over UDP', () => {
  /** What each datagram must get back: nothing, or exactly this status line. */
  const datagrams: Array<[string, () => Buffer, string | undefined]> = [
    ['random bytes', () => randomBytes(1500), undefined],
    ['an empty datagram', () => Buffer.alloc(0), undefined],
    ['only line breaks', () => Buffer.from('\r\n\r\n\r\n'), undefined],
    [
      'a truncated request (no end of headers)',
      () => Buffer.from(valid('z9hG4bK-t').slice(0, 120)),
      undefined,
    ],
    ['a request line alone', () => Buffer.from('INVITE sip:x@y SIP/2.0\r\n\r\n'), undefined],
    ['a status line alone', () => Buffer.from('SIP/2.0 200 OK\r\n\r\n'), undefined],
    [
      'a response nobody asked for',
      () => Buffer.from(valid('z9hG4bK-u').replace('OPTIONS sip:pivot@127.0.0.1 SIP/2.0', 'SIP/2.0 200 OK')),
      undefined,
    ],
    [
      'NUL bytes in the headers',
      () => Buffer.from(valid('z9hG4bK-n').replace('Max-Forwards', 'Max\0Forwards')),
      undefined,
    ],
    ['invalid UTF-8', () => Buffer.from([0xff, 0xfe, 0xfd, 0x0d, 0x0a, 0x0d, 0x0a, 0xc3, 0x28]), undefined],
    ['a Via without branch', () => Buffer.from(valid('z9hG4bK-v').replace(/;branch=[^\r]+/, '')), undefined],
    [
      'a header named __proto__',
      () => Buffer.from(valid('z9hG4bK-p').replace('Max-Forwards: 70', '__proto__: {"polluted":1}')),
      'SIP/2.0 400 Malformed header line',
    ],
    [
      'a CSeq number beyond 2^31',
      () => Buffer.from(valid('z9hG4bK-c').replace('CSeq: 1 OPTIONS', 'CSeq: 99999999999999999999 OPTIONS')),
      'SIP/2.0 400 Malformed CSeq header',
    ],
    [
      'a request line with another SIP version',
      () => Buffer.from(valid('z9hG4bK-s').replace('SIP/2.0\r\n', 'SIP/3.0\r\n')),
      'SIP/2.0 505 Version Not Supported',
    ],
    [
      'a 64 KB datagram (bytes beyond Content-Length are discarded, RFC 3261 §18.3)',
      () => Buffer.concat([Buffer.from(valid('z9hG4bK-h')), Buffer.alloc(64_000, 'A')]),
      'SIP/2.0 200 OK',
    ],
  ];

  for (const [title, data, expected] of datagrams) {
    it(`survives ${title} and still answers OPTIONS`, async () => {
      const replies = await repliesTo(data(), expected);
      expect(replies.map(statusLine)).toEqual(expected ? [expected] : []);
      expect(harness.inputs).toEqual([]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it('survives a burst of random datagrams', async () => {
    for (let i = 0; i < 300; i++) peer.send(randomBytes(1 + ((i * 37) % 1400)));
    // The burst spends the source's rate allowance, so probes are sent until one gets through: every
    // datagram that comes back must be a probe's answer.
    const replies: string[] = [];
    for (
      let attempt = 1;
      !replies.some((reply) => reply.includes('branch=z9hG4bK-after-burst-'));
      attempt++
    ) {
      peer.send(valid(`z9hG4bK-after-burst-${attempt}`));
      replies.push(...(await peer.collect(50)));
    }
    expect(replies.filter((reply) => !reply.includes('branch=z9hG4bK-after-burst-'))).toEqual([]);
    expect(harness.inputs).toEqual([]);
  });

  it('keeps working when the engine handler throws', async () => {
    await harness.stop();
    harness = await startAdapter(() => {
      throw new Error('engine bug');
    });
    await peer.close();
    peer = await udpPeer(harness.port);
    peer.send(rawRequest({ method: 'BYE', port: peer.port, branch: 'z9hG4bK-throw', toTag: 't' }));
    await harness.waitFor((i) => i.kind === 'request' && i.method === 'BYE');
    expect(harness.logs.some((l) => l.level === 'error' && l.msg === 'sip input handler threw')).toBe(true);
    await expectOptionsAnswered('z9hG4bK-after-throw');
  });
});

describe('garbage over TCP', () => {
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
  it('answers a request with an unreadable Content-Length with 400 and closes the connection', async () => {
    const { socket, received, closed } = await connect();
    socket.write(valid('z9hG4bK-tcp-bad', 1).replace(/Content-Length: \d+/, 'Content-Length: lots'));
    await closed;
    expect(statusLine(received())).toBe('SIP/2.0 400 Malformed Content-Length header');
    await expectOptionsAnswered('z9hG4bK-after-tcp');
  });

  it('closes a connection that sends endless headers', async () => {
    const { socket, closed } = await connect();
    socket.on('error', () => {});
    for (let i = 0; i < 80; i++) socket.write(`X-Junk-${i}: ${'a'.repeat(1000)}\r\n`);
    await closed;
    await expectOptionsAnswered('z9hG4bK-after-flood');
  });

  it('frames messages split across packets and packed into one, and answers a CRLF ping', async () => {
    const { socket, received } = await connect();
    const one = valid('z9hG4bK-tcp-1');
    const two = valid('z9hG4bK-tcp-2');
    socket.write(one.slice(0, 50));
    await new Promise((r) => setTimeout(r, 30));
    socket.write(`${one.slice(50)}${two}\r\n\r\n`);
    await until(() => (received().match(/SIP\/2\.0 200 OK/g) ?? []).length === 2);
    expect(received().match(/SIP\/2\.0 200 OK/g)).toHaveLength(2);
    expect(received()).toContain('branch=z9hG4bK-tcp-1');
    expect(received()).toContain('branch=z9hG4bK-tcp-2');
    await until(() => received().endsWith('\r\n\r\n\r\n'));
    expect(received().endsWith('\r\n\r\n\r\n')).toBe(true);
    socket.destroy();
  });
});

describe('a response to a request whose TCP connection has closed', () => {
  it('goes over a new connection to the Via sent-by port (RFC 3261 §18.2.2)', async () => {
    const listener = net.createServer();
    const received = new Promise<string>((resolve) => {
      listener.on('connection', (socket) => socket.on('data', (chunk) => resolve(chunk.toString())));
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const sentBy = (listener.address() as net.AddressInfo).port;
    await harness.stop();
    harness = await startAdapter();
    const client = net.connect(harness.port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    client.write(
      rawRequest({ method: 'BYE', port: sentBy, branch: 'z9hG4bK-tcp-gone', toTag: 't' }).replace(
        '/UDP ',
        '/TCP ',
      ),
    );
    const bye = await harness.waitFor((i) => i.kind === 'request');
    expect(harness.adapter.stats().tcpConnections).toBe(1);
    client.destroy();
    // The answer must not find the old connection: wait until the adapter has let it go.
    await until(() => harness.adapter.stats().tcpConnections === 0);
    if (bye.kind !== 'request') throw new Error('unreachable');
    harness.adapter.execute({
      kind: 'response',
      adapterId: harness.adapter.adapterId,
      transactionKey: bye.transactionKey,
      status: 200,
      reason: 'OK',
    });
    expect(statusLine(await received)).toBe('SIP/2.0 200 OK');
    listener.close();
  });
});
