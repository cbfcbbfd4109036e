/**
 * RFC 3261 §18.1.1: a request that would go over UDP but is larger than 1300 bytes goes over TCP (Via
 * TCP, no retransmissions); when no TCP connection can be made (refused), it goes over UDP after all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SendRequestCommand, SipResponseInput } from '../../src/shared/messages.ts';
import {
  type Harness,
  header,
  inviteCommand,
  rawResponse,
  startAdapter,
  statusLine,
  udpPeer,
} from './support.ts';
import { tcpListen } from './tcpPeer.ts';

/** An SDP offer padded past the 1300-byte limit. */
const LARGE_SDP = `v=0\r\no=pivot 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n${'a=x-padding:0123456789abcdef0123456789abcdef0123456789abcdef\r\n'.repeat(24)}`;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const largeInvite = (port: number, id: string): SendRequestCommand => ({
  ...inviteCommand(port, { branch: `z9hG4bK-${id}`, callId: id }),
  body: LARGE_SDP,
});
const isResponse = (status: number, method: string) => (input: { kind: string }) =>
  input.kind === 'response' &&
  (input as SipResponseInput).status === status &&
  (input as SipResponseInput).cseq.method === method;

describe('a request larger than 1300 bytes for a UDP destination', () => {
  it('goes over TCP to the same address and port, with a TCP Via, and its CANCEL follows it', async () => {
    harness = await startAdapter(undefined, { t1Ms: 200 });
    const target = await tcpListen();
    try {
      harness.adapter.execute(largeInvite(target.port, 'large-1'));
      const connection = await target.accepted();
      const invite = await connection.next();
      expect(Buffer.byteLength(invite)).toBeGreaterThan(1300);
      expect(header(invite, 'Via')).toBe(`SIP/2.0/TCP 127.0.0.1:${harness.port};branch=z9hG4bK-large-1`);
      expect(invite.endsWith(LARGE_SDP)).toBe(true);
      connection.send(rawResponse(invite, 180, 'Ringing', 'target-tag'));
      await harness.waitFor(isResponse(180, 'INVITE'));

      // The engine addresses the CANCEL to the UDP destination it chose; it goes where the INVITE went.
      const { body: _body, contentType: _type, ...cancel } = largeInvite(target.port, 'large-1');
      harness.adapter.execute({ ...cancel, method: 'CANCEL', cseq: { seq: 1, method: 'CANCEL' } });
      const cancelText = await connection.next();
      expect(statusLine(cancelText)).toBe(`CANCEL sip:target@127.0.0.1:${target.port} SIP/2.0`);
      expect(header(cancelText, 'Via')).toBe(`SIP/2.0/TCP 127.0.0.1:${harness.port};branch=z9hG4bK-large-1`);
      connection.send(rawResponse(cancelText, 200, 'OK', 'target-tag'));
      connection.send(rawResponse(invite, 487, 'Request Terminated', 'target-tag'));
      await harness.waitFor(isResponse(487, 'INVITE'));
      // The 487's ACK belongs to the transaction and goes over the same connection.
      const ack = await connection.next();
      expect(statusLine(ack)).toMatch(/^ACK /);
      expect(header(ack, 'Via')).toContain('SIP/2.0/TCP');
      // Reliable transport: the INVITE was sent exactly once though T1 is short.
      expect(connection.received().match(/^INVITE /gm)).toHaveLength(1);
      expect(target.count()).toBe(1);
    } finally {
      await target.close();
    }
  });

  it('goes over UDP after all when the TCP connection is refused', async () => {
    harness = await startAdapter(undefined, { t1Ms: 60_000 });
    // A UDP socket only: TCP to its port is refused.
    const target = await udpPeer(harness.port);
    try {
      harness.adapter.execute(largeInvite(target.port, 'large-2'));
      const invite = await target.next();
      expect(Buffer.byteLength(invite)).toBeGreaterThan(1300);
      expect(header(invite, 'Via')).toBe(
        `SIP/2.0/UDP 127.0.0.1:${harness.port};branch=z9hG4bK-large-2;rport`,
      );
      target.send(rawResponse(invite, 200, 'OK', 'target-tag'));
      const ok = await harness.waitFor<SipResponseInput>(isResponse(200, 'INVITE'));
      expect(ok.source.transport).toBe('udp');
      expect(harness.responses().map((r) => r.status)).toEqual([200]);
      expect(harness.logs.map((l) => l.msg)).toContain(
        'sip tcp connection for a large request failed: sent over udp',
      );
    } finally {
      await target.close();
    }
  });

  it('stays on UDP when it fits', async () => {
    harness = await startAdapter(undefined, { t1Ms: 60_000 });
    const target = await udpPeer(harness.port);
    try {
      harness.adapter.execute(inviteCommand(target.port, { branch: 'z9hG4bK-small', callId: 'small' }));
      expect(header(await target.next(), 'Via')).toContain('SIP/2.0/UDP');
    } finally {
      await target.close();
    }
  });
});
