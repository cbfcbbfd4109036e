/**
 * Every party a real baresip: the PBX phone, the carrier and the transfer target. Beyond what the SIPp
 * carrier checks, a real user agent has to accept the pivot's hold and reconnect re-INVITEs (their SDP
 * offers, RFC 3264 §8) and its BYE, in both directions of the root call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, TRUNK_DOMAIN, the } from '../e2e/pivot.ts';
import {
  type Baresip,
  type BaresipOptions,
  freeSipPort,
  type SipTraceEntry,
  startBaresip,
} from './baresip.ts';
import { CALLED, childCallStarted, stopPeers, TARGET_IP, track } from './blindTransfer.ts';

const CALLER = '+15550100000';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await stopPeers();
  await pivot?.dispose();
  pivot = undefined;
});

async function phone(options: BaresipOptions): Promise<Baresip> {
  return track(await startBaresip(options));
}

const established = (ua: Baresip) => ua.waitFor('CALL_ESTABLISHED', (e) => e.type === 'CALL_ESTABLISHED');
const closed = (ua: Baresip) => ua.waitFor('CALL_CLOSED', (e) => e.type === 'CALL_CLOSED');

/** The requests a phone received, and its answer to each (matched by CSeq). */
function requestsAndAnswers(ua: Baresip): Array<{ request: SipTraceEntry; answer: string | undefined }> {
  const trace = ua.sipTrace();
  const cseq = (entry: SipTraceEntry) => /^CSeq:\s*(.+?)\r$/im.exec(entry.text)?.[1];
  return trace
    .filter((entry) => entry.destination.startsWith(ua.ip) && !entry.firstLine.startsWith('SIP/2.0'))
    .map((request) => ({
      request,
      answer: trace.find(
        (e) =>
          e.source.startsWith(ua.ip) &&
          e.firstLine.startsWith('SIP/2.0') &&
          !e.firstLine.startsWith('SIP/2.0 1') &&
          cseq(e) === cseq(request),
      )?.firstLine,
    }));
}

/**
 * What the transferee must have gone through after the call was set up: hold, reconnect to the target's
 * media, the far end's BYE. `called`: it received the call's INVITE and ACK first.
 */
function expectHeldAndReconnected(transferee: Baresip, role: 'called' | 'calling'): void {
  const got = requestsAndAnswers(transferee);
  const summary = got.map((g) => `${g.request.firstLine} -> ${g.answer ?? '(none)'}`).join('\n');
  const inDialog = role === 'called' ? got.slice(2) : got;
  expect(
    inDialog.map((g) => [g.request.firstLine.split(' ')[0], g.answer]),
    summary,
  ).toEqual([
    ['INVITE', 'SIP/2.0 200 OK'],
    ['ACK', undefined],
    ['INVITE', 'SIP/2.0 200 OK'],
    ['ACK', undefined],
    ['BYE', 'SIP/2.0 200 OK'],
  ]);
  const [hold, , reconnect] = inDialog;
  expect(hold!.request.text).toMatch(/^a=sendonly\r$/m);
  expect(reconnect!.request.text).toMatch(
    new RegExp(`^c=IN IP4 ${TARGET_IP.replace(/\./g, '\\.')}\\r$`, 'm'),
  );
}

describe('a blind transfer between real phones', () => {
  it('termination: the carrier phone is held, reconnected to the target, and hung up by it', async () => {
    const carrierPort = await freeSipPort(CARRIER_IP);
    pivot = await startTestPivot({ carrierPort });
    const carrier = await phone({
      ip: CARRIER_IP,
      name: 'carrier',
      sipPort: carrierPort,
      aor: (port) => `sip:${CALLED}@${CARRIER_IP}:${port}`,
    });
    const target = await phone({
      ip: TARGET_IP,
      name: 'target',
      aor: (port) => `sip:target@${TARGET_IP}:${port}`,
    });
    const pbx = await phone({
      ip: '127.0.0.1',
      name: 'pbx',
      aor: (port) => `sip:${CALLER}@127.0.0.1:${port}`,
      outbound: pivot.address,
    });

    await pbx.command('dial', `sip:${CALLED}@${TRUNK_DOMAIN}`);
    await established(pbx);
    expect((await established(carrier)).peeruri).toBe(`sip:${CALLER}@127.0.0.1`);
    await pbx.command('transfer', `sip:target@${TARGET_IP}:${target.sipPort}`);
    expect((await closed(pbx)).param).toBe('Call transfered');
    expect((await established(target)).peeruri).toBe(`sip:${CALLED}@127.0.0.1`);
    await childCallStarted(pivot.httpUrl);
    await target.command('hangup');
    await closed(target);
    await closed(carrier);

    expectHeldAndReconnected(carrier, 'called');
    const events = await pivot.events();
    expect(events.map((e) => e.type)).toContain('TransferCompleted');
    expect(events.filter((e) => e.type === 'CallEnded').map((e) => e.data.status)).toEqual([
      'completed',
      'completed',
    ]);
  });

  it('origination: the carrier phone calls the trunk number, the PBX phone answers and transfers it', async () => {
    const carrierPort = await freeSipPort(CARRIER_IP);
    // The pivot sends origination calls to the PBX phone: it has to exist first.
    const pbx = await phone({
      ip: '127.0.0.1',
      name: 'pbx',
      aor: (port) => `sip:${CALLER}@127.0.0.1:${port}`,
    });
    pivot = await startTestPivot({ carrierPort, pbxPort: pbx.sipPort });
    const carrier = await phone({
      ip: CARRIER_IP,
      name: 'carrier',
      sipPort: carrierPort,
      aor: (port) => `sip:${CALLED}@${CARRIER_IP}:${port}`,
    });
    const target = await phone({
      ip: TARGET_IP,
      name: 'target',
      aor: (port) => `sip:target@${TARGET_IP}:${port}`,
    });

    await carrier.command('dial', `sip:${CALLER}@${pivot.address}`);
    expect((await established(pbx)).peeruri).toMatch(new RegExp(`^sip:\\${CALLED}@`));
    await established(carrier);
    await pbx.command('transfer', `sip:target@${TARGET_IP}:${target.sipPort}`);
    expect((await closed(pbx)).param).toBe('Call transfered');
    // from-transferee: the target is shown the carrier's caller.
    expect((await established(target)).peeruri).toMatch(new RegExp(`^sip:\\${CALLED}@`));
    await childCallStarted(pivot.httpUrl);
    await target.command('hangup');
    await closed(target);
    await closed(carrier);

    // The carrier's own INVITE opened the dialog; hold and reconnect are the pivot's re-INVITEs in it.
    expectHeldAndReconnected(carrier, 'calling');
    const events = await pivot.events();
    expect(the(events, 'CallReceived').data.direction).toBe('trunking-originating');
    expect(events.map((e) => e.type)).toContain('TransferCompleted');
    expect(the(events, 'ChildCallStarted').data.parentCallSid).toBe(the(events, 'CallReceived').data.callSid);
  });
});
