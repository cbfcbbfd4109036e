import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeSipp, runSipp } from '../helpers/sipp.ts';
import { type Harness, rawRequest, startAdapter, statusLine, type UdpPeer, udpPeer } from './support.ts';

let harness: Harness;
beforeEach(async () => {
  harness = await startAdapter();
});
afterEach(async () => {
  await harness.stop();
});

describe('malformed requests sent by SIPp', () => {
  it('are answered with a status naming the problem and never reach the engine', async () => {
    const sipp = runSipp({ scenario: 'malformed.xml', remote: `127.0.0.1:${harness.port}` });
    const result = await sipp.done;
    expect(result.code, describeSipp(result)).toBe(0);
    const statuses = result.messages.split(/\r?\n/).filter((line) => line.startsWith('SIP/2.0 '));
    expect(statuses).toEqual([
      'SIP/2.0 400 Multiple Call-ID headers',
      'SIP/2.0 400 Content-Length larger than body',
      'SIP/2.0 400 Malformed Content-Length header',
      'SIP/2.0 400 Malformed Max-Forwards header',
      'SIP/2.0 483 Too Many Hops',
      'SIP/2.0 400 Malformed To header',
      'SIP/2.0 400 Missing From header',
      'SIP/2.0 400 Missing tag in From header',
      'SIP/2.0 400 Malformed Request-URI',
      'SIP/2.0 400 Malformed header line',
    ]);
    expect(harness.inputs).toEqual([]);
  });
});

describe('malformed requests sent as raw UDP', () => {
  let peer: UdpPeer;
  beforeEach(async () => {
    peer = await udpPeer(harness.port);
  });
  afterEach(async () => {
    await peer.close();
  });

  const cases: Array<
    [string, Parameters<typeof rawRequest>[0] extends infer O ? Partial<O> : never, string]
  > = [
    ['a non-numeric CSeq', { cseq: 'one OPTIONS' }, 'SIP/2.0 400 Malformed CSeq header'],
    ['a CSeq without method', { cseq: '7' }, 'SIP/2.0 400 Malformed CSeq header'],
    ['a CSeq of another method', { cseq: '1 INVITE' }, 'SIP/2.0 400 CSeq method does not match request'],
    ['no Call-ID', { omit: ['Call-ID'] }, 'SIP/2.0 400 Missing Call-ID header'],
    ['no CSeq', { omit: ['CSeq'] }, 'SIP/2.0 400 Missing CSeq header'],
    ['no To', { omit: ['To'] }, 'SIP/2.0 400 Missing To header'],
    [
      'a Content-Length beyond the body',
      { omit: ['Content-Length'], extra: ['Content-Length: 40'] },
      'SIP/2.0 400 Content-Length larger than body',
    ],
  ];
  for (const [title, overrides, expected] of cases) {
    it(`answers a request with ${title}`, async () => {
      peer.send(rawRequest({ method: 'OPTIONS', port: peer.port, branch: 'z9hG4bK-raw-1', ...overrides }));
      const response = await peer.next();
      expect(statusLine(response)).toBe(expected);
      // The 400 still lets the client match it: its Via comes back, stamped with received/rport.
      expect(response).toContain(`Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-raw-1`);
      expect(harness.inputs).toEqual([]);
    });
  }

  it('drops a request without Via (nowhere to answer) and keeps working', async () => {
    peer.send(rawRequest({ method: 'OPTIONS', port: peer.port, branch: 'z9hG4bK-x', omit: ['Via'] }));
    // The adapter reads the socket in order: the first answer back is the probe's, nothing came before.
    peer.send(rawRequest({ method: 'OPTIONS', port: peer.port, branch: 'z9hG4bK-after' }));
    const first = await peer.next();
    expect(statusLine(first)).toBe('SIP/2.0 200 OK');
    expect(first).toContain('branch=z9hG4bK-after');
    expect(
      harness.logs.some((l) => l.msg.includes('dropped') && JSON.stringify(l.fields).includes('Missing Via')),
    ).toBe(true);
  });

  it('answers a method it does not handle with 405 and Allow', async () => {
    peer.send(rawRequest({ method: 'MESSAGE', port: peer.port, branch: 'z9hG4bK-message', toTag: 'x' }));
    const response = await peer.next();
    expect(statusLine(response)).toBe('SIP/2.0 405 Method Not Allowed');
    expect(response).toContain(
      'Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY, INFO, PRACK, UPDATE',
    );
    expect(harness.inputs).toEqual([]);
  });

  it('never answers a malformed ACK', async () => {
    peer.send(rawRequest({ method: 'ACK', port: peer.port, branch: 'z9hG4bK-ack', cseq: 'x ACK' }));
    // A probe sent after it is answered first: the ACK was read and got nothing.
    peer.send(rawRequest({ method: 'OPTIONS', port: peer.port, branch: 'z9hG4bK-alive' }));
    expect(await peer.next()).toContain('branch=z9hG4bK-alive');
  });
});
