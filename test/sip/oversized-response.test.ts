/**
 * A response that would not fit in one UDP datagram (EMSGSIZE) is never sent: a final response becomes
 * 513 Message Too Large, which reflects only the mandatory headers. Here the request carries a Record-Route
 * set close to the datagram limit, which a 2xx to an INVITE must echo (RFC 3261 §12.1.1).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SipInput } from '../../src/shared/messages.ts';
import type { SipAdapter } from '../../src/sip/index.ts';
import {
  type Harness,
  header,
  rawRequest,
  SDP,
  startAdapter,
  statusLine,
  type UdpPeer,
  udpPeer,
} from './support.ts';

const DATAGRAM_LIMIT = 65_507;

let harness: Harness;
let peer: UdpPeer;

function engine(input: SipInput, adapter: SipAdapter) {
  if (input.kind !== 'request' || input.method !== 'INVITE') return;
  adapter.execute({
    kind: 'response',
    adapterId: adapter.adapterId,
    transactionKey: input.transactionKey,
    status: 200,
    reason: 'OK',
    toTag: 'pivot-tag',
    contact: '<sip:pivot@127.0.0.1>',
    body: SDP,
    contentType: 'application/sdp',
  });
}

beforeEach(async () => {
  harness = await startAdapter(engine);
  peer = await udpPeer(harness.port);
});
afterEach(async () => {
  await peer.close();
  await harness.stop();
});

/** An INVITE padded with Record-Route lines to `size` bytes. */
function inviteOfSize(branch: string, size: number): string {
  const base = rawRequest({ method: 'INVITE', port: peer.port, branch, body: SDP });
  const routes: string[] = [];
  const lineFor = (n: number) => `Record-Route: <sip:proxy-${n}.example.test;lr>`;
  const total = () => Buffer.byteLength(base) + routes.reduce((sum, line) => sum + line.length + 2, 0);
  while (total() + lineFor(routes.length).length + 2 <= size - 60) routes.push(lineFor(routes.length));
  routes.push(`Record-Route: <sip:${'x'.repeat(size - total() - 38)}.example.test;lr>`);
  const text = base.replace('Content-Length:', `${routes.join('\r\n')}\r\nContent-Length:`);
  expect(Buffer.byteLength(text)).toBe(size);
  return text;
}

describe('a response too large for a UDP datagram', () => {
  it('is replaced by 513 Message Too Large for a final response', async () => {
    peer.send(inviteOfSize('z9hG4bK-big-1', 65_490));
    const final = await peer.next();
    expect(statusLine(final)).toBe('SIP/2.0 513 Message Too Large');
    expect(Buffer.byteLength(final)).toBeLessThan(DATAGRAM_LIMIT);
    expect(header(final, 'Record-Route')).toBeUndefined();
    expect(header(final, 'To')).toContain(';tag=pivot-tag');
    expect(harness.logs).toContainEqual(
      expect.objectContaining({
        msg: 'sip response too large for udp',
        fields: expect.objectContaining({ status: 200 }),
      }),
    );
  });

  it('is sent as it is when it fits', async () => {
    peer.send(inviteOfSize('z9hG4bK-big-2', 60_000));
    const final = await peer.next();
    expect(statusLine(final)).toBe('SIP/2.0 200 OK');
    expect(final.match(/^Record-Route: /gm)?.length).toBeGreaterThan(1000);
  });
});
