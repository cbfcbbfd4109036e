/**
 * The read side end to end: a blind transfer over the wire (the PBX, the carrier and the target are
 * SIPp, as in transfer.test.ts), then the call log, the transfers and the billing the projections built
 * from the stored events, read over the pivot's HTTP API on a real port.
 *
 * The trunk's rate deck gives every leg and number a distinct rate, so a line billed for the wrong leg,
 * number, direction or deck shows as a wrong price (DESIGN.md "Billing": terminating A->B to SIP C bills
 * the child call as termination to B; the transfer itself is free; every started minute counts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/sipp.ts';
import { allPassed, carrier, pbx, target } from './parties.ts';
import { type PivotUnderTest, startTestPivot } from './pivot.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

const A = '+15550100000'; // the PBX's caller (transferor side)
const B = '+15550200000'; // the called number: the carrier's party, the transferee

/** Distinct per number and per deck: termination to B is the only right price for every line here. */
const RATES = {
  currency: 'EUR',
  origination: { '': 0.0034, '+1555010': 0.0029, '+1555020': 0.021 },
  termination: { '': 0.0045, '+1555010': 0.0077, '+1555020': 0.0125 },
};
const TERMINATION_TO_B = 0.0125;

const SID = (prefix: string) => new RegExp(`^${prefix}[0-9a-f]{32}$`);

// biome-ignore lint/suspicious/noExplicitAny: API resources are checked field by field.
type Json = any;

async function get(path: string): Promise<Json> {
  if (!pivot) throw new Error('no pivot');
  const response = await fetch(`${pivot.httpUrl}${path}`);
  const body = await response.json();
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Polls (bounded) until every projection has caught up with the store and `done` holds. */
async function caughtUp(done: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let health: Json;
  for (;;) {
    health = await get('/healthz');
    const projections = health.Projections as { Lag: number; Error: string | null }[];
    if (
      projections.length > 0 &&
      projections.every((p) => p.Lag === 0 && p.Error === null) &&
      (await done())
    ) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`projections did not catch up in ${timeoutMs} ms: ${JSON.stringify(health)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whole seconds from answer to end, a started second counting (the call log's rule). */
function secondsBetween(from: string, to: string): number {
  return Math.ceil((Date.parse(to) - Date.parse(from)) / 1000);
}

/** The `At` of a call's first stored event of a type, read over HTTP. */
function atOf(events: Json, type: string): string {
  const found = (events.Events as { Type: string; At: string }[]).find((e) => e.Type === type);
  if (!found) throw new Error(`no ${type} in ${events.Events.map((e: { Type: string }) => e.Type)}`);
  return found.At;
}

describe('the read side after a blind transfer (terminating A->B, SIP target C)', () => {
  for (const mode of ['from-transferee', 'from-transferor'] as const) {
    it(`${mode}: the call log, the transfer and the billing lines over HTTP`, async () => {
      const carrierPort = await freePort();
      pivot = await startTestPivot({ carrierPort, trunk: { transferCallerId: mode, rates: RATES } });
      const shown = mode === 'from-transferee' ? B : A;
      const far = carrier({
        port: carrierPort,
        flow: 'hold_then_reconnect',
        childEnd: mode === 'from-transferee' ? 'hangs_up' : 'hung_up',
      });
      const bob = target({
        outcome: 'answer',
        from: shown,
        childEnd: mode === 'from-transferee' ? 'hung_up' : 'hangs_up',
      });
      await Promise.all([far.ready, bob.ready]);
      const referTo = `sip:target@127.0.0.1:${bob.port}`;
      const agent = pbx(pivot.address, { flow: 'transfer', target: `target@127.0.0.1:${bob.port}` });
      await allPassed(agent, far, bob);

      // Both calls ended and both are billed: then every read model is complete.
      await caughtUp(async () => {
        const { Calls } = await get('/v1/Calls');
        const { Lines } = await get('/v1/Billing/Lines');
        return (
          Calls.length === 2 &&
          Calls.every((c: Json) => c.Status !== 'ringing' && c.Status !== 'in-progress') &&
          Lines.length >= 2
        );
      });

      // The trunk (seeded from the config), and its calls: the root call is the one without a parent.
      const { Trunks } = await get('/v1/Trunks');
      expect(Trunks).toHaveLength(1);
      const trunkSid: string = Trunks[0].Sid;
      expect(trunkSid).toMatch(SID('TK'));
      expect(Trunks[0]).toMatchObject({
        Name: 'acme',
        TransferCallerId: mode,
        Rates: { Currency: 'EUR', Origination: RATES.origination, Termination: RATES.termination },
      });
      const { Calls: all } = await get(`/v1/Calls?TrunkSid=${trunkSid}`);
      expect(all).toHaveLength(2);
      const roots = all.filter((c: Json) => c.ParentCallSid === null);
      expect(roots).toHaveLength(1);
      const rootSid: string = roots[0].Sid;
      expect(rootSid).toMatch(SID('CA'));

      const root = await get(`/v1/Calls/${rootSid}`);
      const rootEvents = await get(`/v1/Calls/${rootSid}/Events`);
      expect(root).toMatchObject({
        Sid: rootSid,
        ParentCallSid: null,
        TrunkSid: trunkSid,
        TransferSid: null,
        TrunkName: 'acme',
        Direction: 'trunking-terminating',
        From: A,
        To: B,
        CallerId: A,
        TargetKind: null,
        Status: 'completed',
        StartTime: atOf(rootEvents, 'CallReceived'),
        AnswerTime: atOf(rootEvents, 'CallAnswered'),
        EndTime: atOf(rootEvents, 'CallEnded'),
        TransfersAccepted: 1,
        Price: TERMINATION_TO_B,
        PriceUnit: 'EUR',
      });
      expect(root.Duration).toBe(secondsBetween(root.AnswerTime, root.EndTime));
      expect(root.Duration).toBeGreaterThanOrEqual(1);
      expect(root.Duration).toBeLessThanOrEqual(10);

      // The child call: the transferee bridged to the target.
      const { Calls: children } = await get(`/v1/Calls?ParentCallSid=${rootSid}`);
      expect(children).toHaveLength(1);
      const child = children[0];
      expect(child.Sid).toMatch(SID('CA'));
      expect(child.Sid).not.toBe(rootSid);
      expect(child.TransferSid).toMatch(SID('TR'));
      const childEvents = await get(`/v1/Calls/${child.Sid}/Events`);
      expect(childEvents.SessionSid).toBe(rootSid);
      expect(child).toMatchObject({
        ParentCallSid: rootSid,
        TrunkSid: trunkSid,
        TrunkName: 'acme',
        Direction: 'trunking-terminating',
        From: B,
        To: 'target',
        CallerId: shown,
        TargetKind: 'sip',
        Status: 'completed',
        StartTime: atOf(childEvents, 'ChildCallStarted'),
        AnswerTime: atOf(childEvents, 'ChildCallStarted'),
        EndTime: atOf(childEvents, 'CallEnded'),
        TransfersAccepted: 0,
        Price: TERMINATION_TO_B,
        PriceUnit: 'EUR',
      });
      expect(child.Duration).toBe(secondsBetween(child.AnswerTime, child.EndTime));
      expect(child.Duration).toBeGreaterThanOrEqual(1);
      expect(child.Duration).toBeLessThanOrEqual(10);
      // The child starts when the transfer completes, inside the root call.
      expect(Date.parse(child.StartTime)).toBeGreaterThan(Date.parse(root.AnswerTime));
      expect(Date.parse(child.StartTime)).toBeLessThanOrEqual(Date.parse(root.EndTime));
      // The same resource whether listed or fetched.
      expect(await get(`/v1/Calls/${child.Sid}`)).toEqual(child);

      // The transfer.
      const { Transfers } = await get(`/v1/Transfers?CallSid=${rootSid}`);
      expect(Transfers).toHaveLength(1);
      const transfer = await get(`/v1/Transfers/${child.TransferSid}`);
      expect(Transfers[0]).toEqual(transfer);
      expect(transfer).toMatchObject({
        Sid: child.TransferSid,
        CallSid: rootSid,
        ChildCallSid: child.Sid,
        TrunkSid: trunkSid,
        ReferredBy: '<sip:agent@pbx.example.test>',
        ReferTo: referTo,
        TargetKind: 'sip',
        TargetUri: referTo,
        CallerId: shown,
        TransferMode: 'enable-all',
        TransferCallerId: mode,
        Outcome: 'completed',
        ReferStatus: 202,
        TargetStatus: 200,
        RejectionReason: null,
        FailureReason: null,
        ReferTime: atOf(rootEvents, 'ReferReceived'),
        AcceptTime: atOf(rootEvents, 'ReferAccepted'),
        AnswerTime: atOf(rootEvents, 'TargetAnswered'),
        EndTime: atOf(rootEvents, 'TransferCompleted'),
      });
      expect(transfer.Refer202Ms).toBe(Date.parse(transfer.AcceptTime) - Date.parse(transfer.ReferTime));
      expect(transfer.ReferAnswerMs).toBe(Date.parse(transfer.AnswerTime) - Date.parse(transfer.ReferTime));

      // Billing: the root call as a normal terminating call, the child as termination to B; each one
      // started minute at B's termination rate; no line for the transfer itself.
      const day = root.StartTime.slice(0, 10);
      const rootLine = {
        CallSid: rootSid,
        Line: 1,
        TrunkSid: trunkSid,
        Day: day,
        Kind: 'termination',
        Number: B,
        Description: 'termination to the called number',
        RatePerMinute: TERMINATION_TO_B,
        Minutes: 1,
        Amount: TERMINATION_TO_B,
        Currency: 'EUR',
      };
      const childLine = {
        ...rootLine,
        CallSid: child.Sid,
        Description: 'transferred call: termination to the original callee',
      };
      expect(root.BillingLines).toEqual([rootLine]);
      expect(child.BillingLines).toEqual([childLine]);
      expect((await get(`/v1/Billing/Lines?CallSid=${child.Sid}`)).Lines).toEqual([childLine]);
      expect((await get(`/v1/Billing/Lines?CallSid=${rootSid}`)).Lines).toEqual([rootLine]);
      const { Lines } = await get(`/v1/Billing/Lines?TrunkSid=${trunkSid}&StartDate=${day}&EndDate=${day}`);
      expect(Lines).toHaveLength(2);
      expect(Lines).toEqual(expect.arrayContaining([rootLine, childLine]));

      const summary = await get(`/v1/Billing?TrunkSid=${trunkSid}`);
      expect(summary.Days).toEqual([
        { TrunkSid: trunkSid, Day: day, Currency: 'EUR', Calls: 2, Legs: 2, Minutes: 2, Amount: 0.025 },
      ]);
      expect(summary.Totals).toEqual([
        { TrunkSid: trunkSid, Currency: 'EUR', Calls: 2, Legs: 2, Minutes: 2, Amount: 0.025 },
      ]);
    });
  }
});
