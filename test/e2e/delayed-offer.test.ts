/**
 * Delayed offer over the wire, the way Cisco CUCM/CUBE place calls (RFC 3261 §13.2.1, §14): INVITE
 * without SDP, the offer in the 200, the answer in the ACK; then an offer-less re-INVITE the same way.
 * The callee retransmits its 200 while the caller takes its time to ACK: one CallAnswered all the same,
 * and the callee's ACK carries the caller's answer (checked by its SIPp scenario).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/sipp.ts';
import { allPassed, delayedCallee, delayedCaller } from './parties.ts';
import { type PivotUnderTest, startTestPivot, the } from './pivot.ts';

/** How many 200 OK responses to the INVITE a SIPp party sent, from its message trace. */
function sentOkCount(trace: string): number {
  return trace
    .split(/^-{10,}.*$/m)
    .filter((block) => /message sent/.test(block))
    .map((block) => block.slice(block.indexOf('\n\n')))
    .filter((message) => /^\s*SIP\/2\.0 200 OK/.test(message) && /^\s*CSeq: 1 INVITE/m.test(message)).length;
}

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('a delayed-offer call relayed as one', () => {
  for (const origination of [false, true]) {
    const name = origination ? 'origination (carrier -> PBX)' : 'termination (PBX -> carrier)';

    it(`${name}: offer in the 200, answer in the ACK, the callee's retransmitted 200 stored once`, async () => {
      const calleePort = await freePort();
      pivot = await startTestPivot(
        origination ? { carrierPort: await freePort(), pbxPort: calleePort } : { carrierPort: calleePort },
      );
      const callee = delayedCallee({ port: calleePort, origination, next: 'hung_up' });
      await callee.ready;
      // 1.2 s before the ACK: the callee's 200 goes again at 500 ms and 1 s (T1 doubling).
      const [, calleeResult] = await allPassed(
        delayedCaller(pivot.address, { origination, next: 'hangs_up', ackDelayMs: 1200 }),
        callee,
      );
      // The callee did retransmit its 200 before the ACK came.
      expect(sentOkCount(calleeResult!.messages)).toBeGreaterThan(1);

      const events = await pivot.events();
      expect(events.map((e) => e.type)).toEqual([
        'CallReceived',
        'CallProgress',
        'CallAnswered',
        'CallAcked',
        'HangupReceived',
        'CallEnded',
      ]);
      expect(the(events, 'CallReceived').data).toMatchObject({
        delayedOffer: true,
        direction: origination ? 'trunking-originating' : 'trunking-terminating',
      });
      expect(the(events, 'CallAcked').data.sdp).toMatch(/^m=audio (10000|20000) /m);
      expect(the(events, 'CallEnded').data.status).toBe('completed');
    });

    it(`${name}: an offer-less re-INVITE gets the callee's offer in the 200, the answer goes in its ACK`, async () => {
      const calleePort = await freePort();
      pivot = await startTestPivot(
        origination ? { carrierPort: await freePort(), pbxPort: calleePort } : { carrierPort: calleePort },
      );
      const callee = delayedCallee({ port: calleePort, origination, next: 'reinvite' });
      await callee.ready;
      await allPassed(delayedCaller(pivot.address, { origination, next: 'reinvite' }), callee);

      const events = await pivot.events();
      expect(events.map((e) => e.type)).toEqual([
        'CallReceived',
        'CallProgress',
        'CallAnswered',
        'CallAcked',
        'ReInviteReceived',
        'ReInviteAnswered',
        'CallAcked',
        'HangupReceived',
        'CallEnded',
      ]);
      expect(the(events, 'ReInviteReceived').data.offerless).toBe(true);
    });
  }

  it('an ACK without the answer: the callee gets an ACK rejecting its stream and a BYE, the caller a BYE', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const callee = delayedCallee({ port: carrierPort, next: 'hung_up', callerAcksWithoutAnswer: true });
    await callee.ready;
    await allPassed(delayedCaller(pivot.address, { next: 'hung_up', ackWithoutAnswer: true }), callee);

    const events = await pivot.events();
    expect(events.map((e) => e.type)).toEqual([
      'CallReceived',
      'CallProgress',
      'CallAnswered',
      'CallAcked',
      'CallEnded',
    ]);
    expect(the(events, 'CallAcked').data.sdp).toBeUndefined();
    expect(the(events, 'CallEnded').data).toMatchObject({
      status: 'failed',
      why: expect.stringMatching(/no answer/),
    });
  });
});
