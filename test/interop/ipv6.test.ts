/**
 * IPv6: the pivot listens on `::` (both families) with `[::1]` as its public address; a PBX on ::1
 * calls over UDP/IPv6 with a Via sent-by the pivot cannot take for its source, so the answers carry
 * `received=::1` and `rport` (RFC 3261 §18.2.1, RFC 3581, RFC 5118) and go back to ::1; the carrier on
 * IPv4 gets the call with the pivot's bracketed IPv6 literal in Via and Contact.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { CARRIER_IP, type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';

let pivot: PivotUnderTest | undefined;
const sockets: dgram.Socket[] = [];
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
  for (const socket of sockets.splice(0)) socket.close();
});

function header(message: string, name: string): string | undefined {
  return new RegExp(`^${name}:[ \\t]*(.*?)\\r?$`, 'im').exec(message)?.[1];
}

async function bound(type: 'udp4' | 'udp6', host: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket(type);
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  return socket;
}

/** Collects what a socket receives; `until` waits for a message matching a pattern. */
function inbox(socket: dgram.Socket) {
  const messages: { text: string; from: dgram.RemoteInfo }[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data, from) => {
    messages.push({ text: data.toString('utf8'), from });
    for (const wake of [...waiters]) wake();
  });
  return {
    until: (pattern: RegExp) =>
      new Promise<{ text: string; from: dgram.RemoteInfo }>((resolve) => {
        const check = () => {
          const found = messages.find((m) => pattern.test(m.text));
          if (!found) return;
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      }),
  };
}

describe('IPv6', () => {
  it('a PBX on ::1 calls through a pivot on [::1]; Via received=::1, bracketed literals toward the carrier', async () => {
    const carrier = await bound('udp4', CARRIER_IP);
    const carrierInbox = inbox(carrier);
    carrier.on('message', (data, from) => {
      const text = data.toString('utf8');
      if (!text.startsWith('INVITE ')) return;
      const copy = ['Via', 'From', 'Call-ID', 'CSeq'].map((name) => `${name}: ${header(text, name)}`);
      const busy = [
        'SIP/2.0 486 Busy Here',
        ...copy,
        `To: ${header(text, 'To')};tag=gw`,
        'Content-Length: 0',
        '',
        '',
      ];
      carrier.send(busy.join('\r\n'), from.port, from.address);
    });
    pivot = await startTestPivot({
      carrierPort: carrier.address().port,
      sipHost: '::',
      publicHost: '[::1]',
      trunk: { acl: ['::1/128'] },
    });
    const pbx = await bound('udp6', '::1');
    const pbxInbox = inbox(pbx);
    const sdp = 'v=0\r\no=pbx 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n';
    const invite = [
      'INVITE sip:+15550200000@acme.pstn.pivot.test SIP/2.0',
      'Via: SIP/2.0/UDP pbx.invalid:5999;branch=z9hG4bK-v6-1;rport',
      'Max-Forwards: 70',
      'From: <sip:+15550100000@acme.pstn.pivot.test>;tag=pbx6',
      'To: <sip:+15550200000@acme.pstn.pivot.test>',
      'Call-ID: ipv6-call-1@pbx',
      'CSeq: 1 INVITE',
      `Contact: <sip:pbx@[::1]:${pbx.address().port}>`,
      'Content-Type: application/sdp',
      `Content-Length: ${sdp.length}`,
      '',
      sdp,
    ].join('\r\n');
    pbx.send(invite, pivot.port, '::1');

    const forwarded = await carrierInbox.until(/^INVITE /);
    expect(header(forwarded.text, 'Via')).toMatch(
      new RegExp(`^SIP/2\\.0/UDP \\[::1\\]:${pivot.port};branch=z9hG4bK-`),
    );
    expect(header(forwarded.text, 'Contact')).toBe(`<sip:pivot@[::1]:${pivot.port}>`);

    const final = await pbxInbox.until(/^SIP\/2\.0 486 /);
    expect(final.from.address).toBe('::1');
    expect(header(final.text, 'Via')).toBe(
      `SIP/2.0/UDP pbx.invalid:5999;branch=z9hG4bK-v6-1;rport=${pbx.address().port};received=::1`,
    );
  });
});
