/**
 * A blind transfer to a PSTN number, over the wire: the PBX (SIPp) calls B through the pivot to the
 * carrier (SIPp on 127.0.0.2), then REFERs the call to a PSTN target C. docs/architecture.md "Transfer flow": a PSTN
 * target goes to the carrier, R-URI `sip:+E164@<carrier host>`. The carrier is one address, so one SIPp
 * (test/sipp/e2e-carrier-pstn.xml, a UAS run with -m 2) answers both the original call and the target leg,
 * each a call of its own with its own Call-ID, and checks each on its own branch.
 *
 * docs/architecture.md "Billing": terminating A->B transferred to PSTN C bills the child call as termination to B
 * plus termination to C, each x child duration. C's numbers have a rate prefix of their own in the deck
 * (and every other number and deck a distinct rate), so a line priced at the wrong rate fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp, type SippProcess } from '../helpers/sipp.ts';
import { ordinaryCallLine } from './billingLines.ts';
import { allPassed, escapeRegExp, received, renderScenario, withoutTrying } from './parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, TRUNK_DOMAIN, the } from './pivot.ts';
import { type Resource, readModel } from './readModel.ts';
import { completedTransferCalls, expectBothHungUp } from './storedTransfer.ts';
import { expectShortCallDuration, onlyChildOf } from './transferredCall.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

const A = '+15550100000'; // the PBX's caller (transferor side)
const B = '+15550200000'; // the called number: the carrier's party, the transferee
const C = '+15550900000'; // the PSTN transfer target

const RATES = {
  currency: 'EUR',
  origination: { '': 0.0034, '+1555010': 0.0029, '+1555020': 0.021, '+1555090': 0.0188 },
  termination: { '': 0.0045, '+1555010': 0.0077, '+1555020': 0.0125, '+1555090': 0.0333 },
};
const TERMINATION_TO_B = 0.0125;
const TERMINATION_TO_C = 0.0333;

/** The carrier: the original call's far leg and the PSTN target leg, two calls of one SIPp UAS. */
function carrierWithPstnTarget(port: number, options: { from: string; farEnds: boolean }): SippProcess {
  return runSipp({
    scenario: renderScenario('e2e-carrier-pstn.xml', {
      TARGET_NUMBER: escapeRegExp(C),
      FROM: escapeRegExp(options.from),
      FAR_END: options.farEnds ? 'hangs_up' : 'hung_up',
      TARGET_END: options.farEnds ? 'hung_up' : 'hangs_up',
    }),
    localIp: CARRIER_IP,
    localPort: port,
    calls: 2,
    timeoutMs: 20_000,
  });
}

/** The PBX: calls B through the pivot, then REFERs the call to `referTo` and follows the NOTIFYs. */
function pbxReferUri(pivotAddress: string, referTo: string): SippProcess {
  return runSipp({
    scenario: renderScenario('e2e-pbx-refer-uri.xml', { REFER_TO: referTo }),
    remote: pivotAddress,
    timeoutMs: 20_000,
  });
}

describe('a blind transfer to a PSTN target (terminating A->B, PSTN C through the carrier)', () => {
  // docs/architecture.md "Trunk policy": a PSTN target is tel:+E164 or sip:+E164@<any trunk domain> (the domain
  // compared case-insensitively, URI parameters allowed).
  for (const [mode, referTo, farEnds] of [
    ['from-transferee', `tel:${C}`, true],
    ['from-transferee', `sip:${C}@${TRUNK_DOMAIN}`, false],
    ['from-transferor', `sip:${C}@${TRUNK_DOMAIN.toUpperCase()};user=phone`, false],
  ] as const) {
    it(`${mode}, Refer-To ${referTo}: the carrier gets the new leg; billed termination to B + to C`, async () => {
      const carrierPort = await freePort();
      pivot = await startTestPivot({
        carrierPort,
        trunk: { transferMode: 'enable-all', transferCallerId: mode, rates: RATES },
      });
      const shown = mode === 'from-transferee' ? B : A;
      const far = carrierWithPstnTarget(carrierPort, { from: shown, farEnds });
      await far.ready;
      const agent = pbxReferUri(pivot.address, referTo);
      const [pbxResult, carrierResult] = await allPassed(agent, far);

      expect(withoutTrying(received(pbxResult!))).toEqual([
        'SIP/2.0 180 Ringing',
        'SIP/2.0 200 OK',
        'SIP/2.0 202 Accepted',
        expect.stringMatching(/^NOTIFY /),
        expect.stringMatching(/^NOTIFY /),
        expect.stringMatching(/^NOTIFY /),
        'SIP/2.0 200 OK',
      ]);
      // Both legs at the one carrier address: the original call, then the target leg's INVITE for C.
      expect(received(carrierResult!)).toEqual([
        `INVITE sip:${B}@${CARRIER_IP} SIP/2.0`,
        expect.stringMatching(/^ACK /),
        expect.stringMatching(/^INVITE sip:carrier@127\.0\.0\.2:\d+ SIP\/2\.0$/),
        expect.stringMatching(/^ACK /),
        `INVITE sip:${C}@${CARRIER_IP} SIP/2.0`,
        // RFC 3725: C's 200 (its offer) is ACKed only with the far leg's answer to the reconnect.
        expect.stringMatching(/^INVITE sip:carrier@127\.0\.0\.2:\d+ SIP\/2\.0$/),
        expect.stringMatching(/^ACK sip:carrier@/),
        expect.stringMatching(/^ACK sip:pstn@/),
        // Whichever leg hangs up gets its 200; the pivot then BYEs the other one (the child call's end).
        'SIP/2.0 200 OK',
        farEnds
          ? expect.stringMatching(/^BYE sip:pstn@127\.0\.0\.2:\d+ SIP\/2\.0$/)
          : expect.stringMatching(/^BYE sip:carrier@127\.0\.0\.2:\d+ SIP\/2\.0$/),
      ]);

      // The PSTN leg asserts who is calling and, when that is the transferee, who diverted the call.
      const pstnInvite = carrierResult!.messages
        .split(/^-{10,}.*$/m)
        .find((block) => block.includes(`INVITE sip:${C}@${CARRIER_IP} SIP/2.0`));
      expect(pstnInvite).toMatch(new RegExp(`^P-Asserted-Identity: <sip:\\${shown}@127\\.0\\.0\\.1>$`, 'm'));
      if (mode === 'from-transferee') {
        expect(pstnInvite).toMatch(
          new RegExp(`^Diversion: <sip:\\${A}@127\\.0\\.0\\.1>;reason=deflection;counter=1$`, 'm'),
        );
      } else {
        expect(pstnInvite).not.toMatch(/^Diversion:/m);
      }

      const api = readModel(pivot.httpUrl);
      await api.untilEndedAndBilled({ calls: 2, billingLines: 3 });
      const { Trunks } = await api.get('/v1/Trunks');
      const trunkSid: string = Trunks[0].Sid;
      const { Calls: all } = await api.get('/v1/Calls');
      const rootSid: string = all.find((c: Resource) => c.ParentCallSid === null).Sid;
      const root = await api.get(`/v1/Calls/${rootSid}`);
      expect(root).toMatchObject({
        Direction: 'trunking-terminating',
        From: A,
        To: B,
        Status: 'completed',
        TransfersAccepted: 1,
        Price: TERMINATION_TO_B,
        PriceUnit: 'EUR',
      });
      const child = await onlyChildOf(api, rootSid);
      expect(child).toMatchObject({
        ParentCallSid: rootSid,
        TrunkSid: trunkSid,
        Direction: 'trunking-terminating',
        From: B,
        To: C,
        CallerId: shown,
        TargetKind: 'pstn',
        Status: 'completed',
        TransfersAccepted: 0,
        Price: 0.0458, // TERMINATION_TO_B + TERMINATION_TO_C, summed in micro-units
        PriceUnit: 'EUR',
      });
      expectShortCallDuration(child);

      const { Transfers } = await api.get(`/v1/Transfers?CallSid=${rootSid}`);
      expect(Transfers).toHaveLength(1);
      expect(Transfers[0]).toMatchObject({
        Sid: child.TransferSid,
        ChildCallSid: child.Sid,
        ReferTo: referTo,
        TargetKind: 'pstn',
        TargetUri: `sip:${C}@${CARRIER_IP}`,
        CallerId: shown,
        TransferMode: 'enable-all',
        TransferCallerId: mode,
        Outcome: 'completed',
        ReferStatus: 202,
        TargetStatus: 200,
      });

      const day = root.StartTime.slice(0, 10);
      const rootLine = ordinaryCallLine(
        { callSid: rootSid, trunkSid, day },
        { kind: 'termination', number: B, rate: TERMINATION_TO_B, currency: 'EUR' },
      );
      const childLines = [
        {
          ...rootLine,
          CallSid: child.Sid,
          Description: 'transferred call: termination to the original callee',
        },
        {
          ...rootLine,
          CallSid: child.Sid,
          Line: 2,
          Number: C,
          Description: 'transferred call: termination to the PSTN target',
          RatePerMinute: TERMINATION_TO_C,
          Amount: TERMINATION_TO_C,
        },
      ];
      expect(root.BillingLines).toEqual([rootLine]);
      expect(child.BillingLines).toEqual(childLines);
      expect((await api.get(`/v1/Billing/Lines?CallSid=${child.Sid}`)).Lines).toEqual(childLines);
      const summary = await api.get(`/v1/Billing?TrunkSid=${trunkSid}`);
      expect(summary.Days).toEqual([
        { TrunkSid: trunkSid, Day: day, Currency: 'EUR', Calls: 2, Legs: 3, Minutes: 3, Amount: 0.0583 },
      ]);

      const events = await pivot.events();
      const calls = completedTransferCalls(events);
      const { rootCall, childCall } = calls;
      expect([rootCall, childCall]).toEqual([rootSid, child.Sid]);
      expect(the(events, 'ReferAccepted').data).toMatchObject({
        referTo: referTo,
        targetKind: 'pstn',
        referSub: true,
      });
      expect(the(events, 'TargetInvited').data).toMatchObject({
        uri: `sip:${C}@${CARRIER_IP}`,
        from: { uri: `sip:${shown}@127.0.0.1` },
      });
      expect(the(events, 'ChildCallStarted').data).toMatchObject({
        parentCallSid: rootCall,
        from: B,
        to: C,
        targetKind: 'pstn',
      });
      // The PBX hung up the original call; the child call ended from the side the test chose.
      expectBothHungUp(events, calls, farEnds ? 'far' : 'target');
    });
  }
});
