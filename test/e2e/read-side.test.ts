/**
 * The read side end to end: a blind transfer over the wire (the PBX, the carrier and the target are
 * SIPp, as in transfer.test.ts), then the call log, the transfers and the billing the projections built
 * from the stored events, read over the pivot's HTTP API on a real port.
 *
 * The trunk's rate deck gives every leg and number a distinct rate, so a line billed for the wrong leg,
 * number, direction or deck shows as a wrong price (docs/architecture.md "Billing": terminating A->B to SIP C bills
 * the child call as termination to B; the transfer itself is free; every started minute counts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/sipp.ts';
import { expectOneMinuteEach, ordinaryCallLine } from './billingLines.ts';
import { type PivotUnderTest, startTestPivot } from './pivot.ts';
import { readModel, sidPattern } from './readModel.ts';
import { A, B, shownTo, transferToSipTarget } from './sipTargetTransfer.ts';
import { expectCompletedSipTransferRows, expectShortCallDuration } from './transferredCall.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

/** Distinct per number and per deck: termination to B is the only right price for every line here. */
const RATES = {
  currency: 'EUR',
  origination: { '': 0.0034, '+1555010': 0.0029, '+1555020': 0.021 },
  termination: { '': 0.0045, '+1555010': 0.0077, '+1555020': 0.0125 },
};
const TERMINATION_TO_B = 0.0125;

describe('the read side after a blind transfer (terminating A->B, SIP target C)', () => {
  for (const mode of ['from-transferee', 'from-transferor'] as const) {
    it(`${mode}: the call log, the transfer and the billing lines over HTTP`, async () => {
      const carrierPort = await freePort();
      pivot = await startTestPivot({ carrierPort, trunk: { transferCallerId: mode, rates: RATES } });
      const api = readModel(pivot.httpUrl);
      const shown = shownTo(mode);
      const { targetPort } = await transferToSipTarget(pivot.address, carrierPort, mode);
      const referTo = `sip:target@127.0.0.1:${targetPort}`;

      await api.untilEndedAndBilled({ calls: 2, billingLines: 2 });

      // The root call, its child call (the transferee bridged to the target) and the transfer.
      const { trunk, trunkSid, rootSid, root, child, transfer } = await expectCompletedSipTransferRows(api, {
        direction: 'trunking-terminating',
        from: A,
        to: B,
        childFrom: B,
        callerId: shown,
        referTo,
        transferCallerId: mode,
        price: TERMINATION_TO_B,
        currency: 'EUR',
      });
      // The trunk, seeded from the config.
      expect(trunkSid).toMatch(sidPattern('TK'));
      expect(trunk).toMatchObject({
        Name: 'acme',
        TransferCallerId: mode,
        Rates: { Currency: 'EUR', Origination: RATES.origination, Termination: RATES.termination },
      });
      expectShortCallDuration(root);
      // The child starts when the transfer completes, inside the root call.
      expect(Date.parse(child.StartTime)).toBeGreaterThan(Date.parse(root.AnswerTime));
      expect(Date.parse(child.StartTime)).toBeLessThanOrEqual(Date.parse(root.EndTime));
      // The same resources whether listed or fetched.
      expect(await api.get(`/v1/Calls/${child.Sid}`)).toEqual(child);
      expect(transfer).toEqual(await api.get(`/v1/Transfers/${child.TransferSid}`));
      expect(transfer.Refer202Ms).toBe(Date.parse(transfer.AcceptTime) - Date.parse(transfer.ReferTime));
      expect(transfer.ReferAnswerMs).toBe(Date.parse(transfer.AnswerTime) - Date.parse(transfer.ReferTime));

      // Billing: the root call as a normal terminating call, the child as termination to B; each one
      // started minute at B's termination rate; no line for the transfer itself.
      const day = root.StartTime.slice(0, 10);
      const rootLine = ordinaryCallLine(
        { callSid: rootSid, trunkSid, day },
        { kind: 'termination', number: B, rate: TERMINATION_TO_B, currency: 'EUR' },
      );
      const childLine = await expectOneMinuteEach(api, {
        root,
        child,
        rootLine,
        childDescription: 'transferred call: termination to the original callee',
      });
      const { Lines } = await api.get(
        `/v1/Billing/Lines?TrunkSid=${trunkSid}&StartDate=${day}&EndDate=${day}`,
      );
      expect(Lines).toHaveLength(2);
      expect(Lines).toEqual(expect.arrayContaining([rootLine, childLine]));

      const summary = await api.get(`/v1/Billing?TrunkSid=${trunkSid}`);
      expect(summary.Days).toEqual([
        { TrunkSid: trunkSid, Day: day, Currency: 'EUR', Calls: 2, Legs: 2, Minutes: 2, Amount: 0.025 },
      ]);
      expect(summary.Totals).toEqual([
        { TrunkSid: trunkSid, Currency: 'EUR', Calls: 2, Legs: 2, Minutes: 2, Amount: 0.025 },
      ]);
    });
  }
});
