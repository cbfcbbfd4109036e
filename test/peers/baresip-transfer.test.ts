/**
 * Blind transfers placed by a real phone: baresip on the PBX side calls through the pivot to the carrier
 * and transfers the call with its own REFER (a bare `Refer-To: sip:…`, no Referred-By) to a second
 * baresip. What the phones report (ctrl_tcp events), what the carrier received (SIPp trace) and what the
 * pivot stored are checked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type PivotUnderTest, startTestPivot, TRUNK_DOMAIN, the, typesOf } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';
import { blindTransferByBaresip, CALLED, headerOf, receivedMessages, stopPeers } from './blindTransfer.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await stopPeers();
  await pivot?.dispose();
  pivot = undefined;
});

/** A From with one name-addr, one scheme, a user, a host and a tag (RFC 3261 §20.20, §25.1). */
const WELL_FORMED_FROM = /^(?:"[^"]*" *)?<sip:[^:@<>;]+@[^:@<>;]+(?::\d+)?>;tag=[^;\s]+$/;

describe('a blind transfer by a baresip phone', () => {
  it('E.164 account: the phone sees the transfer succeed, the target answers, the carrier is held and reconnected', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const run = await blindTransferByBaresip({
      carrierPort,
      pbxAor: (port) => `sip:+15550100000@127.0.0.1:${port}`,
      outbound: pivot.address,
      trunkDomain: TRUNK_DOMAIN,
      pivotHttpUrl: pivot.httpUrl,
    });

    expect(run.pbxClosed.param).toBe('Call transfered');
    // from-transferee: the target is shown the transferee, the carrier's party.
    expect(run.targetEstablished.peeruri).toMatch(new RegExp(`^sip:\\${CALLED}@127\\.0\\.0\\.1\\b`));

    const carrierGot = receivedMessages(run.carrier);
    expect(carrierGot.map((m) => m.split(/\r?\n/)[0])).toEqual([
      `INVITE sip:${CALLED}@127.0.0.2 SIP/2.0`,
      expect.stringMatching(/^ACK /),
      expect.stringMatching(/^INVITE sip:carrier@127\.0\.0\.2:\d+ SIP\/2\.0$/),
      expect.stringMatching(/^ACK /),
      expect.stringMatching(/^INVITE sip:carrier@127\.0\.0\.2:\d+ SIP\/2\.0$/),
      expect.stringMatching(/^ACK /),
      expect.stringMatching(/^BYE sip:carrier@127\.0\.0\.2:\d+ SIP\/2\.0$/),
    ]);
    const [invite, , hold, , reconnect] = carrierGot;
    expect(headerOf(invite!, 'From')).toMatch(WELL_FORMED_FROM);
    expect(headerOf(invite!, 'From')).toMatch(/^<sip:\+15550100000@127\.0\.0\.1>;/);
    // The phone's SDP is relayed (the pivot is no media relay), then held, then swapped for the target's.
    expect(invite).toMatch(/^c=IN IP4 127\.0\.0\.1\r?$/m);
    expect(hold).toMatch(/^a=sendonly\r?$/m);
    expect(reconnect).toMatch(/^c=IN IP4 127\.0\.0\.5\r?$/m);
    expect(reconnect).not.toMatch(/^a=(sendonly|inactive)\r?$/m);

    const events = await pivot.events();
    const root = the(events, 'CallReceived').data.callSid;
    expect(the(events, 'ReferAccepted').data).toMatchObject({
      referTo: run.targetUri,
      targetKind: 'sip',
      referSub: true,
    });
    expect(the(events, 'TransferCompleted').data.transferSid).toBe(
      the(events, 'ReferAccepted').data.transferSid,
    );
    expect(the(events, 'ChildCallStarted').data).toMatchObject({
      parentCallSid: root,
      from: CALLED,
      to: 'target',
    });
    const child = the(events, 'ChildCallStarted').data.callSid;
    expect(typesOf(events, child)).toEqual(['ChildCallStarted', 'HangupReceived', 'CallEnded']);
    expect(events.find((e) => e.type === 'HangupReceived' && e.data.callSid === child)?.data.leg).toBe(
      'target',
    );
    expect(events.filter((e) => e.type === 'CallEnded').map((e) => e.data.status)).toEqual([
      'completed',
      'completed',
    ]);
  });

  it('extension account (From sip:1001@pbx.example): the carrier gets a well-formed From, the transfer completes', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    // The Request-URI still names the callee on the trunk's domain; only the caller is an extension.
    const run = await blindTransferByBaresip({
      carrierPort,
      pbxAor: () => 'sip:1001@pbx.example',
      outbound: pivot.address,
      trunkDomain: TRUNK_DOMAIN,
      pivotHttpUrl: pivot.httpUrl,
    });

    const [invite] = receivedMessages(run.carrier);
    expect(headerOf(invite!, 'From')).toMatch(WELL_FORMED_FROM);
    expect(run.pbxClosed.param).toBe('Call transfered');
    expect(run.targetEstablished.peeruri).toMatch(new RegExp(`^sip:\\${CALLED}@127\\.0\\.0\\.1\\b`));
    const events = await pivot.events();
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['ReferAccepted', 'TransferCompleted']));
    expect(the(events, 'ChildCallStarted').data.parentCallSid).toBe(the(events, 'CallReceived').data.callSid);
  });

  it('extension account, from-transferor: the target is shown a well-formed From for the PBX caller', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, trunk: { transferCallerId: 'from-transferor' } });
    const run = await blindTransferByBaresip({
      carrierPort,
      pbxAor: () => 'sip:1001@pbx.example',
      outbound: pivot.address,
      trunkDomain: TRUNK_DOMAIN,
      pivotHttpUrl: pivot.httpUrl,
    });

    expect(run.pbxClosed.param).toBe('Call transfered');
    expect(`<${run.targetEstablished.peeruri}>;tag=x`).toMatch(WELL_FORMED_FROM);
    expect(headerOf(receivedMessages(run.carrier)[0]!, 'From')).toMatch(WELL_FORMED_FROM);
  });
});
