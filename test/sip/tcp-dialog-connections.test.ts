/**
 * A PBX behind NAT connects to us over TCP and listens on no port of its own: the connection it opened
 * is the only way to reach it for the whole call. The idle close spares connections that carry a
 * confirmed dialog (pinned by the 2xx to the INVITE, released when the BYE completes) and closes the
 * others; CRLFCRLF keep-alives get a CRLF (RFC 5626 §4.4.1).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SipInput, SipRequestInput, SipResponseInput } from '../../src/shared/messages.ts';
import type { SipAdapter } from '../../src/sip/index.ts';
import { type Harness, inviteCommand, rawRequest, rawResponse, startAdapter, statusLine } from './support.ts';
import { type TcpPeer, tcpConnect, tcpListen } from './tcpPeer.ts';

const IDLE_MS = 200;
const overTcp = (text: string) => text.replace('SIP/2.0/UDP ', 'SIP/2.0/TCP ');

/** The engine stand-in: 200 to INVITE, OPTIONS and BYE. */
function engine(input: SipInput, adapter: SipAdapter) {
  if (input.kind !== 'request' || input.method === 'ACK') return;
  adapter.execute({
    kind: 'response',
    adapterId: adapter.adapterId,
    transactionKey: input.transactionKey,
    status: 200,
    reason: 'OK',
    toTag: 'pivot-tag',
  });
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

/** Opens a connection, sends one request and waits for its 200. */
async function exchange(port: number, method: string, branch: string, toTag?: string): Promise<TcpPeer> {
  const pbx = await tcpConnect(port, '127.0.0.2');
  pbx.send(overTcp(rawRequest({ method, port: 5060, branch, ...(toTag ? { toTag } : {}) })));
  let response = await pbx.next();
  while (statusLine(response) === 'SIP/2.0 100 Trying') response = await pbx.next();
  expect(statusLine(response)).toBe('SIP/2.0 200 OK');
  return pbx;
}

describe('an idle TCP connection a PBX opened', () => {
  it('stays open while it carries a confirmed dialog, carries our BYE, and closes once the BYE completes', async () => {
    harness = await startAdapter(engine, { tcpIdleMs: IDLE_MS });
    const port = harness.port;
    const withDialog = await exchange(port, 'INVITE', 'z9hG4bK-pin-invite');
    const ack = rawRequest({
      method: 'ACK',
      port: 5060,
      branch: 'z9hG4bK-pin-ack',
      callId: 'call-z9hG4bK-pin-invite',
      toTag: 'pivot-tag',
      cseq: '1 ACK',
    });
    withDialog.send(overTcp(ack));
    await harness.waitFor((i) => i.kind === 'request' && i.method === 'ACK');
    // Opened and used after the dialog's last message: without the pin, the dialog's connection would
    // be closed first.
    const withoutDialog = await exchange(port, 'OPTIONS', 'z9hG4bK-pin-options');
    await withoutDialog.closed;
    expect(withDialog.isClosed()).toBe(false);

    // A keep-alive is answered with a CRLF.
    const before = withDialog.received().length;
    withDialog.send('\r\n\r\n');
    await withDialog.until((text) => text.length > before);
    expect(withDialog.received().slice(before)).toBe('\r\n');

    // The pivot's in-dialog BYE goes to where the INVITE came from: the PBX's own connection.
    const invite = harness.requests('INVITE')[0] as SipRequestInput;
    expect(invite.source).toMatchObject({ transport: 'tcp', host: '127.0.0.2' });
    harness.adapter.execute({
      kind: 'request',
      branch: 'z9hG4bK-pin-bye',
      method: 'BYE',
      uri: invite.contact?.uri ?? '',
      destination: invite.source,
      callId: invite.callId,
      from: { ...invite.to, params: { tag: 'pivot-tag' } },
      to: invite.from,
      cseq: { seq: 1, method: 'BYE' },
    });
    const bye = await withDialog.next();
    expect(statusLine(bye)).toMatch(/^BYE /);
    withDialog.send(rawResponse(bye, 200, 'OK'));
    await harness.waitFor<SipResponseInput>((i) => i.kind === 'response' && i.cseq.method === 'BYE');
    // Released: the next idle period closes it.
    await withDialog.closed;
  });
});

describe('an idle TCP connection the pivot opened', () => {
  it('stays open while its dialog is confirmed, and closes when the BYE the peer sent is answered', async () => {
    harness = await startAdapter(engine, { tcpIdleMs: IDLE_MS });
    const carrier = await tcpListen();
    try {
      const command = {
        ...inviteCommand(carrier.port, { branch: 'z9hG4bK-pin-out', callId: 'pin-out' }),
        destination: { transport: 'tcp' as const, host: '127.0.0.1', port: carrier.port },
      };
      harness.adapter.execute(command);
      const connection = await carrier.accepted();
      const invite = await connection.next();
      connection.send(rawResponse(invite, 200, 'OK', 'carrier-tag'));
      await harness.waitFor<SipResponseInput>((i) => i.kind === 'response' && i.status === 200);

      const withoutDialog = await exchange(harness.port, 'OPTIONS', 'z9hG4bK-pin-out-options');
      await withoutDialog.closed;
      expect(connection.isClosed()).toBe(false);

      // The carrier hangs up over the same connection; our 200 completes the BYE and releases the pin.
      connection.send(
        overTcp(
          rawRequest({
            method: 'BYE',
            port: 5060,
            branch: 'z9hG4bK-pin-out-bye',
            callId: 'pin-out',
            toTag: 'p',
          }),
        ),
      );
      expect(statusLine(await connection.next())).toBe('SIP/2.0 200 OK');
      await connection.closed;
      expect(carrier.count()).toBe(1);
    } finally {
      await carrier.close();
    }
  });
});
