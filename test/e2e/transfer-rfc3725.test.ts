/**
 * The reconnect of a blind transfer per RFC 3725 over the wire: the target is INVITEd without SDP, its
 * 200 carries its offer, the carrier (transferee) is re-INVITEd with that offer, and the carrier's answer
 * goes in the ACK of the target's 200 (both checked by the SIPp scenarios). The carrier takes its time
 * to answer: the target retransmits its 200 meanwhile, and the pivot stores one TargetAnswered and sends
 * one ACK all the same.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/sipp.ts';
import { allPassed, carrier, pbx, received, target } from './parties.ts';
import { type PivotUnderTest, startTestPivot, the } from './pivot.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

/** How many 200 OK responses to its INVITE (CSeq 1) a SIPp party sent, from its message trace. */
function sentInviteOks(trace: string): number {
  return trace
    .split(/^-{10,}.*$/m)
    .filter((block) => /message sent/.test(block))
    .map((block) => block.slice(block.indexOf('\n\n')))
    .filter((message) => /^\s*SIP\/2\.0 200 OK/.test(message) && /^\s*CSeq: 1 INVITE/m.test(message)).length;
}

describe('the reconnect of a blind transfer (RFC 3725)', () => {
  it("target INVITEd without SDP; its offer to the carrier; the carrier's answer in the target's ACK", async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({
      port: carrierPort,
      flow: 'hold_then_reconnect',
      reconnectDelayMs: 1200,
      childEnd: 'hangs_up',
    });
    const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, { flow: 'transfer', target: `target@127.0.0.1:${bob.port}` });
    const [, , targetResult] = await allPassed(agent, far, bob);

    // The target's 200 went more than once (it waited for the carrier's answer), one ACK came back.
    expect(sentInviteOks(targetResult!.messages)).toBeGreaterThan(1);
    expect(received(targetResult!).map((line) => line.split(' ')[0])).toEqual(['INVITE', 'ACK', 'BYE']);

    const events = await pivot.events();
    expect(the(events, 'ReferReceived').data.policy.reconnect).toBe('rfc3725');
    expect(events.filter((e) => e.type === 'TargetAnswered')).toHaveLength(1);
    const completed = the(events, 'TransferCompleted').data;
    expect(completed.targetLeg.remoteSdp).toMatch(/^m=audio 30000 /m);
    expect(completed.farLeg.remoteSdp).toMatch(/^m=audio 20000 /m);
  });

  it('the carrier refuses the reconnect: the target gets an ACK rejecting its offer, then BYE; the carrier is resumed', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({ port: carrierPort, flow: 'hold_then_reconnect', refuseReconnect: true });
    const bob = target({ outcome: 'answer_released' });
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, {
      flow: 'transfer',
      target: `target@127.0.0.1:${bob.port}`,
      byeDelayMs: 1000,
    });
    const [, , targetResult] = await allPassed(agent, far, bob);
    expect(received(targetResult!).map((line) => line.split(' ')[0])).toEqual(['INVITE', 'ACK', 'BYE']);

    const events = await pivot.events();
    expect(the(events, 'TargetReleased').data.why).toBe('reconnect-refused');
    expect(the(events, 'TransferFailed').data).toMatchObject({ status: 488 });
    expect(events.filter((e) => e.type === 'TransferCompleted')).toEqual([]);
  });

  it('a PBX calling with a delayed offer (Cisco CUBE style) transfers its call the same way', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({
      port: carrierPort,
      flow: 'hold_then_reconnect',
      childEnd: 'hangs_up',
      delayedOffer: true,
    });
    const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, {
      flow: 'transfer',
      target: `target@127.0.0.1:${bob.port}`,
      delayedOffer: true,
    });
    await allPassed(agent, far, bob);

    const events = await pivot.events();
    expect(the(events, 'CallReceived').data.delayedOffer).toBe(true);
    expect(events.map((e) => e.type)).toContain('CallAcked');
    expect(events.filter((e) => e.type === 'TransferCompleted')).toHaveLength(1);
  });
});
