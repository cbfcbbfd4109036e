/**
 * A blind transfer of an origination call, over the wire: the carrier (SIPp on 127.0.0.2) calls the
 * trunk's number, the pivot relays the call to the trunk's originationUri (the PBX, SIPp on 127.0.0.1),
 * and the PBX REFERs it to a SIP target (a third SIPp). Each party's scenario checks what it receives
 * (test/sipp/e2e-carrier-call-transferred.xml, e2e-pbx-answer-refer.xml, e2e-target.xml); then the
 * stored events, and the call log, the transfer and the billing over the HTTP API.
 *
 * docs/architecture.md "Billing": originating A->B transferred to SIP C bills the child call as origination from A
 * (x child duration); the root call is a normal originating call (origination from A). The rate deck gives
 * every number a distinct rate in both decks, so a line priced for the wrong number, deck or leg fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp, type SippProcess } from '../helpers/sipp.ts';
import { expectOneMinuteEach, ordinaryCallLine } from './billingLines.ts';
import { allPassed, received, renderScenario, target, withoutTrying } from './parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, the } from './pivot.ts';
import { readModel, secondsBetween } from './readModel.ts';
import { completedTransferCalls, expectBothHungUp } from './storedTransfer.ts';
import { expectCompletedSipTransferRows } from './transferredCall.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

const A = '+15550300000'; // the carrier's caller: the far party, the transferee
const B = '+15550100000'; // the trunk's number: the PBX, the transferor

const RATES = {
  currency: 'USD',
  origination: { '': 0.0034, '+1555010': 0.0029, '+1555030': 0.0061 },
  termination: { '': 0.0045, '+1555010': 0.0077, '+1555030': 0.0093 },
};
const ORIGINATION_FROM_A = 0.0061;

const TIMEOUT_MS = 20_000;

/** The carrier calling B, then held and reconnected by the transfer; `childEnd`: who ends the child call. */
function carrierCallTransferred(pivotAddress: string, childEnd: 'hangs_up' | 'hung_up'): SippProcess {
  return runSipp({
    scenario: renderScenario('e2e-carrier-call-transferred.xml', {
      CHILD_END: childEnd,
      HANGUP_DELAY_MS: 300,
    }),
    remote: pivotAddress,
    localIp: CARRIER_IP,
    timeoutMs: TIMEOUT_MS,
  });
}

/** The PBX answering at its originationUri, then REFERring the call to `targetAddress` (user@host:port). */
function pbxAnswerRefer(port: number, targetAddress: string): SippProcess {
  return runSipp({
    scenario: renderScenario('e2e-pbx-answer-refer.xml', { TARGET: targetAddress, BYE_DELAY_MS: 200 }),
    localPort: port,
    timeoutMs: TIMEOUT_MS,
  });
}

describe('a blind transfer of an origination call (carrier A -> trunk number B at the PBX -> SIP target C)', () => {
  for (const mode of ['from-transferee', 'from-transferor'] as const) {
    it(`${mode}: wire, stored events, call log, transfer and billing lines`, async () => {
      const pbxPort = await freePort();
      pivot = await startTestPivot({
        carrierPort: await freePort(),
        pbxPort,
        trunk: { transferCallerId: mode, rates: RATES },
      });
      // from-transferee: the target sees the carrier's caller (A), and the carrier ends the child call;
      // from-transferor: it sees the trunk's number (B), and it ends the child call itself.
      const shown = mode === 'from-transferee' ? A : B;
      const carrierEnds = mode === 'from-transferee';
      const bob = target({
        outcome: 'answer',
        from: shown,
        childEnd: carrierEnds ? 'hung_up' : 'hangs_up',
      });
      await bob.ready;
      const agent = pbxAnswerRefer(pbxPort, `target@127.0.0.1:${bob.port}`);
      await agent.ready;
      const far = carrierCallTransferred(pivot.address, carrierEnds ? 'hangs_up' : 'hung_up');
      const [pbxResult, carrierResult, targetResult] = await allPassed(agent, far, bob);

      // What each party received, in order (the pivot's 100 Trying is not what this is about).
      expect(received(pbxResult!)).toEqual([
        expect.stringMatching(/^INVITE sip:\+15550100000@127\.0\.0\.1:\d+ SIP\/2\.0$/),
        expect.stringMatching(/^ACK /),
        'SIP/2.0 202 Accepted',
        expect.stringMatching(/^NOTIFY sip:pbx@127\.0\.0\.1:\d+ SIP\/2\.0$/),
        expect.stringMatching(/^NOTIFY /),
        expect.stringMatching(/^NOTIFY /),
        'SIP/2.0 200 OK',
      ]);
      expect(withoutTrying(received(carrierResult!))).toEqual([
        'SIP/2.0 180 Ringing',
        'SIP/2.0 200 OK',
        expect.stringMatching(/^INVITE sip:carrier@127\.0\.0\.2:\d+ SIP\/2\.0$/),
        expect.stringMatching(/^ACK /),
        expect.stringMatching(/^INVITE sip:carrier@127\.0\.0\.2:\d+ SIP\/2\.0$/),
        expect.stringMatching(/^ACK /),
        carrierEnds
          ? 'SIP/2.0 200 OK'
          : expect.stringMatching(/^BYE sip:carrier@127\.0\.0\.2:\d+ SIP\/2\.0$/),
      ]);
      expect(received(targetResult!)).toEqual([
        `INVITE sip:target@127.0.0.1:${bob.port} SIP/2.0`,
        expect.stringMatching(/^ACK /),
        carrierEnds ? expect.stringMatching(/^BYE /) : 'SIP/2.0 200 OK',
      ]);

      // The read side, before the pivot stops.
      const api = readModel(pivot.httpUrl);
      await api.untilEndedAndBilled({ calls: 2, billingLines: 2 });
      const referTo = `sip:target@127.0.0.1:${bob.port}`;
      const { trunkSid, rootSid, root, child } = await expectCompletedSipTransferRows(api, {
        direction: 'trunking-originating',
        from: A,
        to: B,
        childFrom: A,
        callerId: shown,
        referTo,
        transferCallerId: mode,
        price: ORIGINATION_FROM_A,
        currency: 'USD',
      });
      expect(root.Duration).toBe(secondsBetween(root.AnswerTime, root.EndTime));

      const day = root.StartTime.slice(0, 10);
      await expectOneMinuteEach(api, {
        root,
        child,
        rootLine: ordinaryCallLine(
          { callSid: rootSid, trunkSid, day },
          { kind: 'origination', number: A, rate: ORIGINATION_FROM_A, currency: 'USD' },
        ),
        childDescription: 'transferred call: origination from the original caller',
      });
      const summary = await api.get(`/v1/Billing?TrunkSid=${trunkSid}`);
      expect(summary.Days).toEqual([
        { TrunkSid: trunkSid, Day: day, Currency: 'USD', Calls: 2, Legs: 2, Minutes: 2, Amount: 0.0122 },
      ]);

      // The stored events.
      const events = await pivot.events();
      const calls = completedTransferCalls(events);
      const { rootCall, childCall } = calls;
      expect(rootCall).toBe(rootSid);
      expect(childCall).toBe(child.Sid);
      expect(the(events, 'CallReceived').data).toMatchObject({
        direction: 'trunking-originating',
        from: A,
        to: B,
        outboundUri: `sip:${B}@127.0.0.1:${pbxPort}`,
      });
      expect(the(events, 'ReferReceived').data.leg).toBe('customer');
      expect(the(events, 'ReferAccepted').data).toMatchObject({
        referTo: referTo,
        targetKind: 'sip',
        referSub: true,
        referredBy: '<sip:agent@pbx.example.test>',
      });
      expect(the(events, 'TargetInvited').data).toMatchObject({
        uri: referTo,
        from: { uri: `sip:${shown}@127.0.0.1` },
      });
      expect(the(events, 'ChildCallStarted').data).toMatchObject({
        parentCallSid: rootCall,
        direction: 'trunking-originating',
        from: A,
        to: 'target',
        targetKind: 'sip',
      });
      // The PBX hung up the original call; the child call ended from the side the test chose.
      expectBothHungUp(events, calls, carrierEnds ? 'far' : 'target');
    });
  }
});
