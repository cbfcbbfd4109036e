/**
 * Transfers that fail over the wire: the target is busy or never answers. The PBX is told with a final
 * NOTIFY carrying the target's status line, the carrier is taken off hold (re-INVITE back to sendrecv
 * with the PBX's SDP) and the original call goes on until the PBX hangs up. Also what a failed transfer
 * leaves for the next REFER in the same dialog.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/sipp.ts';
import { UNTIL_TARGET_RINGS } from './expectedEvents.ts';
import { allPassed, carrier, pbx, received, target } from './parties.ts';
import { type PivotUnderTest, startTestPivot, the, typesOf } from './pivot.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('a transfer that fails', () => {
  it('target busy: final NOTIFY "SIP/2.0 486 Busy Here", carrier resumed sendrecv, the call goes on', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({ port: carrierPort, flow: 'hold_then_resume', afterResume: 'hung_up' });
    const busy = target({ outcome: 'busy' });
    await Promise.all([far.ready, busy.ready]);
    const agent = pbx(pivot.address, {
      flow: 'transfer',
      target: `target@127.0.0.1:${busy.port}`,
      final: '486 Busy Here',
      afterTransfer: 'hang_up',
    });
    const [, carrierResult] = await allPassed(agent, far, busy);
    expect(received(carrierResult!).at(-1)).toMatch(/^BYE /);

    const events = await pivot.events();
    const root = the(events, 'CallReceived').data.callSid;
    expect(typesOf(events, root)).toEqual([
      ...UNTIL_TARGET_RINGS,
      'TargetFailed',
      'TimerCanceled',
      'TransfereeResumed',
      'TransferFailed',
      'HangupReceived',
      'CallEnded',
    ]);
    expect(the(events, 'TransferFailed').data).toMatchObject({ status: 486, reason: 'Busy Here' });
    expect(the(events, 'CallEnded').data.status).toBe('completed');
    expect(events.map((e) => e.type)).not.toContain('ChildCallStarted');
  });

  it('no answer: CANCEL to the target after noAnswerTimeoutSeconds, NOTIFY 408, carrier resumed', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, transfer: { noAnswerTimeoutSeconds: 2 } });
    const far = carrier({ port: carrierPort, flow: 'hold_then_resume', afterResume: 'hung_up' });
    const silent = target({ outcome: 'no_answer' });
    await Promise.all([far.ready, silent.ready]);
    const agent = pbx(pivot.address, {
      flow: 'transfer',
      target: `target@127.0.0.1:${silent.port}`,
      final: '408 Request Timeout',
      afterTransfer: 'hang_up',
    });
    const [, , targetResult] = await allPassed(agent, far, silent);
    expect(received(targetResult!).map((line) => line.split(' ')[0])).toEqual(['INVITE', 'CANCEL', 'ACK']);

    const events = await pivot.events();
    const root = the(events, 'CallReceived').data.callSid;
    expect(typesOf(events, root)).toEqual([
      ...UNTIL_TARGET_RINGS,
      'TimerFired',
      'TransfereeResumed',
      'TransferFailed',
      'HangupReceived',
      'CallEnded',
    ]);
    const invited = Date.parse(the(events, 'TargetInvited').data.at);
    const fired = Date.parse(the(events, 'TimerFired').data.at);
    expect(fired - invited).toBeGreaterThanOrEqual(2_000);
    expect(the(events, 'TransferFailed').data).toMatchObject({ status: 408, reason: 'Request Timeout' });
  });

  it('maxTransfersPerCall 1: after a failed transfer, a second REFER is refused 403', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, trunk: { maxTransfersPerCall: 1 } });
    const far = carrier({ port: carrierPort, flow: 'hold_then_resume', afterResume: 'hung_up' });
    const busy = target({ outcome: 'busy' });
    await Promise.all([far.ready, busy.ready]);
    const agent = pbx(pivot.address, {
      flow: 'transfer',
      target: `target@127.0.0.1:${busy.port}`,
      final: '486 Busy Here',
      afterTransfer: 'refer_again_refused',
    });
    await allPassed(agent, far, busy);

    const events = await pivot.events();
    expect(events.filter((e) => e.type === 'ReferReceived')).toHaveLength(2);
    expect(the(events, 'ReferRejected').data).toMatchObject({
      status: 403,
      reason: 'maxTransfersPerCall (1) reached',
    });
    expect(the(events, 'CallEnded').data.status).toBe('completed');
  });

  it('a second REFER after a failed one succeeds, its NOTIFYs carrying Event: refer;id=<its CSeq>', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({
      port: carrierPort,
      flow: 'hold_then_resume',
      afterResume: 'hold_then_reconnect',
      childEnd: 'hung_up',
    });
    const busy = target({ outcome: 'busy' });
    const carol = target({ user: 'carol', outcome: 'answer', childEnd: 'hangs_up' });
    await Promise.all([far.ready, busy.ready, carol.ready]);
    const agent = pbx(pivot.address, {
      flow: 'transfer',
      target: `target@127.0.0.1:${busy.port}`,
      final: '486 Busy Here',
      afterTransfer: 'refer_again',
      secondTarget: `carol@127.0.0.1:${carol.port}`,
    });
    await allPassed(agent, far, busy, carol);

    const events = await pivot.events();
    const root = the(events, 'CallReceived').data.callSid;
    const types = typesOf(events, root);
    expect(types.filter((t) => t === 'ReferAccepted')).toHaveLength(2);
    expect(types.filter((t) => t === 'TransferFailed')).toHaveLength(1);
    expect(types.filter((t) => t === 'TransferCompleted')).toHaveLength(1);
    expect(types.at(-1)).toBe('CallEnded');
    const child = the(events, 'ChildCallStarted').data;
    expect(child).toMatchObject({ parentCallSid: root, to: 'carol' });
    expect(typesOf(events, child.callSid)).toEqual(['ChildCallStarted', 'HangupReceived', 'CallEnded']);
  });
});
