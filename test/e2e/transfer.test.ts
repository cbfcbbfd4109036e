/**
 * Complete blind transfers over the wire: the PBX (SIPp) calls through the pivot to the carrier (SIPp on
 * 127.0.0.2), REFERs the call to a target (SIPp), and every message each party sees is checked by its
 * scenario; then the events the pivot stored in its SQLite file are checked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/sipp.ts';
import { allPassed, carrier, pbx, received, target, withoutTrying } from './parties.ts';
import { type PivotUnderTest, startTestPivot, the, typesOf } from './pivot.ts';
import { transferToSipTarget } from './sipTargetTransfer.ts';
import { completedTransferCalls } from './storedTransfer.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('a blind transfer end to end', () => {
  it('from-transferee: 202, NOTIFY 100/180/200, hold, target INVITE, reconnect; the carrier ends the child call', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const { targetPort, pbxResult, carrierResult, targetResult } = await transferToSipTarget(
      pivot.address,
      carrierPort,
      'from-transferee',
    );

    expect(withoutTrying(received(pbxResult))).toEqual([
      'SIP/2.0 180 Ringing',
      'SIP/2.0 200 OK',
      'SIP/2.0 202 Accepted',
      expect.stringMatching(/^NOTIFY sip:pbx@127\.0\.0\.1:\d+ SIP\/2\.0$/),
      expect.stringMatching(/^NOTIFY /),
      expect.stringMatching(/^NOTIFY /),
      'SIP/2.0 200 OK',
    ]);
    expect(received(carrierResult).map((line) => line.split(' ')[0])).toEqual([
      'INVITE',
      'ACK',
      'INVITE',
      'ACK',
      'INVITE',
      'ACK',
      'SIP/2.0',
    ]);
    expect(received(targetResult).map((line) => line.split(' ')[0])).toEqual(['INVITE', 'ACK', 'BYE']);

    const events = await pivot.events();
    const { rootCall: root, childCall: child } = completedTransferCalls(events);
    expect(the(events, 'ReferAccepted').data).toMatchObject({
      referTo: `sip:target@127.0.0.1:${targetPort}`,
      targetKind: 'sip',
      referSub: true,
      referredBy: '<sip:agent@pbx.example.test>',
    });
    expect(the(events, 'TargetInvited').data.from.uri).toBe('sip:+15550200000@127.0.0.1');
    expect(the(events, 'ChildCallStarted').data).toMatchObject({
      parentCallSid: root,
      from: '+15550200000',
      to: 'target',
    });
    expect(events.filter((e) => e.type === 'CallEnded').map((e) => e.data.status)).toEqual([
      'completed',
      'completed',
    ]);
    expect(events.find((e) => e.type === 'HangupReceived' && e.data.callSid === child)?.data.leg).toBe('far');
  });

  it('from-transferor: the target gets the PBX caller number in From, then ends the child call', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, trunk: { transferCallerId: 'from-transferor' } });
    const { carrierResult } = await transferToSipTarget(pivot.address, carrierPort, 'from-transferor');
    expect(received(carrierResult).at(-1)).toMatch(/^BYE sip:carrier@127\.0\.0\.2:\d+ SIP\/2\.0$/);

    const events = await pivot.events();
    const { childCall: child } = completedTransferCalls(events);
    expect(the(events, 'TargetInvited').data.from.uri).toBe('sip:+15550100000@127.0.0.1');
    expect(events.find((e) => e.type === 'HangupReceived' && e.data.callSid === child)?.data.leg).toBe(
      'target',
    );
  });

  it('the PBX hangs up on NOTIFY 200 before the carrier is reconnected: the transfer still completes', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    // The carrier answers the reconnect re-INVITE late, the PBX hangs up at once: its BYE arrives while
    // the pivot is still reconnecting.
    const far = carrier({
      port: carrierPort,
      flow: 'hold_then_reconnect',
      reconnectDelayMs: 300,
      childEnd: 'hangs_up',
      hangupDelayMs: 100,
    });
    const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, {
      flow: 'transfer',
      target: `target@127.0.0.1:${bob.port}`,
      byeDelayMs: 0,
    });
    await allPassed(agent, far, bob);

    const events = await pivot.events();
    const root = the(events, 'CallReceived').data.callSid;
    const child = the(events, 'ChildCallStarted').data.callSid;
    expect(typesOf(events, root).slice(-5)).toEqual([
      'TimerCanceled',
      'TransferorHungUp',
      'TransfereeReconnected',
      'TransferCompleted',
      'CallEnded',
    ]);
    expect(the(events, 'TransferCompleted').data.transferorGone).toBe(true);
    expect(typesOf(events, child)).toEqual(['ChildCallStarted', 'HangupReceived', 'CallEnded']);
  });

  it('BYE fallback: the PBX never hangs up, so the pivot BYEs it byeFallbackSeconds after the final NOTIFY', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, transfer: { byeFallbackSeconds: 2 } });
    const far = carrier({ port: carrierPort, flow: 'hold_then_reconnect', childEnd: 'hangs_up' });
    const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    const started = Date.now();
    const agent = pbx(pivot.address, {
      flow: 'transfer',
      target: `target@127.0.0.1:${bob.port}`,
      afterTransfer: 'hung_up',
    });
    await allPassed(agent, far, bob);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);

    const events = await pivot.events();
    const root = the(events, 'CallReceived').data.callSid;
    expect(typesOf(events, root).slice(-5)).toEqual([
      'TransfereeReconnected',
      'TransferCompleted',
      'TimerScheduled',
      'TimerFired',
      'CallEnded',
    ]);
    const scheduled = events.filter((e) => e.type === 'TimerScheduled').at(-1)!.data;
    expect(scheduled.name).toBe('bye-fallback');
    // The final NOTIFY (200 OK) goes out when the target answers: the fallback counts from there.
    expect(the(events, 'TransferCompleted').data.finalNotifyAt).toBe(the(events, 'TargetAnswered').data.at);
    expect(Date.parse(scheduled.dueAt) - Date.parse(the(events, 'TargetAnswered').data.at)).toBe(2_000);
  });

  it('Refer-Sub: false: 202 carries Refer-Sub: false and no NOTIFY is ever sent; the transfer completes', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, transfer: { byeFallbackSeconds: 2 } });
    const far = carrier({ port: carrierPort, flow: 'hold_then_reconnect', childEnd: 'hangs_up' });
    const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    // Without NOTIFYs the PBX cannot tell when the transfer is done: it waits for the fallback BYE,
    // and any NOTIFY arriving meanwhile would be an unexpected message that fails its scenario.
    const agent = pbx(pivot.address, {
      flow: 'transfer_nosub',
      target: `target@127.0.0.1:${bob.port}`,
      afterTransfer: 'hung_up',
    });
    const [pbxResult] = await allPassed(agent, far, bob);
    expect(withoutTrying(received(pbxResult!))).toEqual([
      'SIP/2.0 180 Ringing',
      'SIP/2.0 200 OK',
      'SIP/2.0 202 Accepted',
      expect.stringMatching(/^BYE /),
    ]);

    const events = await pivot.events();
    expect(the(events, 'ReferAccepted').data.referSub).toBe(false);
    expect(events.map((e) => e.type)).toContain('TransferCompleted');
    expect(events.map((e) => e.type)).not.toContain('NotifyAnswered');
  });

  it('a 481 to the first NOTIFY ends the subscription, not the transfer', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, transfer: { byeFallbackSeconds: 2 } });
    // The carrier holds back its answer to the hold a little, so the PBX's 481 is in before the target
    // rings (else a NOTIFY 180 would rightly be sent first).
    const far = carrier({
      port: carrierPort,
      flow: 'hold_then_reconnect',
      holdDelayMs: 300,
      childEnd: 'hangs_up',
    });
    const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, {
      flow: 'transfer_481',
      target: `target@127.0.0.1:${bob.port}`,
      afterTransfer: 'hung_up',
    });
    const [pbxResult] = await allPassed(agent, far, bob);
    expect(withoutTrying(received(pbxResult!))).toEqual([
      'SIP/2.0 180 Ringing',
      'SIP/2.0 200 OK',
      'SIP/2.0 202 Accepted',
      expect.stringMatching(/^NOTIFY /),
      expect.stringMatching(/^BYE /),
    ]);

    const events = await pivot.events();
    const root = the(events, 'CallReceived').data.callSid;
    expect(typesOf(events, root)).toEqual([
      'CallReceived',
      'CallProgress',
      'CallAnswered',
      'CallAcked',
      'ReferReceived',
      'ReferAccepted',
      'NotifyAnswered',
      'TransfereeHeld',
      'TargetInvited',
      'TimerScheduled',
      'TargetRinging',
      'TargetAnswered',
      'TimerCanceled',
      'TransfereeReconnected',
      'TransferCompleted',
      'TimerScheduled',
      'TimerFired',
      'CallEnded',
    ]);
    expect(the(events, 'NotifyAnswered').data.status).toBe(481);
  });
});
