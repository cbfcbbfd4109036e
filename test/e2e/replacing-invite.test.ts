/**
 * An INVITE with Replaces arriving at the pivot (RFC 3891: a phone picking a call up, a parked call
 * retrieved): the new dialog takes the place of the PBX's leg of a call in progress. The far party is
 * re-INVITEd with the new offer, the new INVITE answered with its answer, the old PBX dialog BYEd; the
 * new dialog's later messages (its Call-ID maps to another session) reach the call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp } from '../helpers/sipp.ts';
import { consultation, consultCall, joinedCarrier, storedEventually } from './attendedParties.ts';
import { allPassed, received, renderScenario } from './parties.ts';
import { type PivotUnderTest, startTestPivot } from './pivot.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('an INVITE with Replaces at the pivot', () => {
  it("replaces the PBX's leg of a call in progress; the old dialog is BYEd, the new one hangs up the call", async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = joinedCarrier({
      port: carrierPort,
      calls: 1,
      colleagueJoin: 'answer_offer',
      colleagueEnd: 'hung_up',
    });
    await far.ready;
    const call = consultation('replaced');
    const old = consultCall(pivot.address, call, 'hung_up');
    await storedEventually(pivot.dbPath, (e) => e.type === 'CallAnswered' && e.data.callSid === call.callSid);
    const phone = runSipp({
      scenario: renderScenario('e2e-pbx-replacing.xml', {
        REPLACES: `${call.callId};to-tag=${call.pivotTag};from-tag=${call.fromTag}`,
      }),
      remote: pivot.address,
      timeoutMs: 20_000,
    });
    const [oldResult] = await allPassed(old, phone, far);
    expect(received(oldResult!).map((line) => line.split(' ')[0])).toContain('BYE');

    const events = await pivot.events();
    const stream = `call-${call.callSid}`;
    const types = events.filter((e) => e.stream === stream).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['ReplacingInviteReceived', 'ReInviteAnswered', 'HangupReceived', 'CallEnded']),
    );
    const replacing = events.find((e) => e.type === 'ReplacingInviteReceived')!.data;
    expect(replacing.leg).toBe('customer');
    // The new dialog's own session only records where its messages go.
    const redirect = events.find((e) => e.type === 'DialogRedirected')!;
    expect(redirect.stream).not.toBe(stream);
    expect(redirect.data.toSessionSid).toBe(call.callSid);
    expect(events.filter((e) => e.stream === redirect.stream).map((e) => e.type)).toEqual([
      'DialogRedirected',
    ]);
  });
});
