/**
 * Content-Length is mandatory on streams (RFC 3261 §18.3, §20.14). A message over TCP without it is
 * framed as having no body (nothing else tells where it ends), but a request gets 400 and a response is
 * dropped. The connection stays usable: framing was not lost.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SipResponseInput } from '../../src/shared/messages.ts';
import {
  type Harness,
  inviteCommand,
  rawRequest,
  rawResponse,
  startAdapter,
  statusLine,
  udpPeer,
} from './support.ts';
import { tcpConnect, tcpListen } from './tcpPeer.ts';

const overTcp = (text: string) => text.replace('SIP/2.0/UDP ', 'SIP/2.0/TCP ');
const withoutContentLength = (text: string) => text.replace(/Content-Length: \d+\r\n/, '');

let harness: Harness;
beforeEach(async () => {
  harness = await startAdapter();
});
afterEach(async () => {
  await harness.stop();
});

describe('a message over TCP without Content-Length', () => {
  it('is a request answered 400, and the next request on the connection is answered normally', async () => {
    const pbx = await tcpConnect(harness.port);
    const bare = withoutContentLength(
      overTcp(rawRequest({ method: 'OPTIONS', port: 1, branch: 'z9hG4bK-nocl-1' })),
    );
    expect(bare).not.toMatch(/content-length/i);
    pbx.send(bare + overTcp(rawRequest({ method: 'OPTIONS', port: 1, branch: 'z9hG4bK-nocl-2' })));
    const first = await pbx.next();
    expect(statusLine(first)).toBe('SIP/2.0 400 Missing Content-Length header');
    expect(first).toContain('branch=z9hG4bK-nocl-1');
    const second = await pbx.next();
    expect(statusLine(second)).toBe('SIP/2.0 200 OK');
    expect(second).toContain('branch=z9hG4bK-nocl-2');
    expect(pbx.isClosed()).toBe(false);
    pbx.socket.destroy();
  });

  it('is a response dropped; the next response on the connection is delivered', async () => {
    const target = await tcpListen();
    try {
      harness.adapter.execute({
        ...inviteCommand(target.port, { branch: 'z9hG4bK-nocl-out', callId: 'nocl-out' }),
        destination: { transport: 'tcp', host: '127.0.0.1', port: target.port },
      });
      const connection = await target.accepted();
      const invite = await connection.next();
      connection.send(withoutContentLength(rawResponse(invite, 180, 'Ringing', 'target-tag')));
      connection.send(rawResponse(invite, 183, 'Session Progress', 'target-tag'));
      const progress = await harness.waitFor<SipResponseInput>((i) => i.kind === 'response');
      expect(progress.status).toBe(183);
      expect(harness.responses().map((r) => r.status)).toEqual([183]);
      expect(harness.logs).toContainEqual(
        expect.objectContaining({
          msg: 'sip message dropped: invalid',
          fields: expect.objectContaining({ reason: 'Missing Content-Length header' }),
        }),
      );
    } finally {
      await target.close();
    }
  });

  it('over UDP is still fine: the datagram ends the message', async () => {
    const peer = await udpPeer(harness.port);
    try {
      peer.send(
        withoutContentLength(rawRequest({ method: 'OPTIONS', port: peer.port, branch: 'z9hG4bK-nocl-u' })),
      );
      expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
    } finally {
      await peer.close();
    }
  });
});
