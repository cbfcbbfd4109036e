/**
 * A blind transfer of an origination call, over the wire: the carrier (SIPp on 127.0.0.2) calls the
 * trunk's number, the pivot relays the call to the trunk's originationUri (the PBX, SIPp on 127.0.0.1),
 * and the PBX REFERs it to a SIP target (a third SIPp). Each party's scenario checks what it receives
 * (test/sipp/e2e-carrier-call-transferred.xml, e2e-pbx-answer-refer.xml, e2e-target.xml); then the
 * stored events, and the call log, the transfer and the billing over the HTTP API.
 *
 * DESIGN.md "Billing": originating A->B transferred to SIP C bills the child call as origination from A
 * (x child duration); the root call is a normal originating call (origination from A). The rate deck gives
 * every number a distinct rate in both decks, so a line priced for the wrong number, deck or leg fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp, type SippProcess } from '../helpers/sipp.ts';
import { allPassed, received, renderScenario, target } from './parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, the, typesOf } from './pivot.ts';

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

/** The root call's events for a transfer that completes and whose PBX then hangs up. */
const COMPLETED_AND_PBX_HUNG_UP = [
  'CallReceived',
  'CallProgress',
  'CallAnswered',
  'ReferReceived',
  'ReferAccepted',
  'TransfereeHeld',
  'TargetInvited',
  'TimerScheduled',
  'TargetRinging',
  'TargetAnswered',
  'TimerCanceled',
  'TransfereeReconnected',
  'TransferCompleted',
  'TimerScheduled',
  'HangupReceived',
  'TimerCanceled',
  'CallEnded',
];

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
  for (;;) {
    const health = await get('/healthz');
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

function secondsBetween(from: string, to: string): number {
  return Math.ceil((Date.parse(to) - Date.parse(from)) / 1000);
}

function atOf(events: Json, type: string): string {
  const found = (events.Events as { Type: string; At: string }[]).find((e) => e.Type === type);
  if (!found) throw new Error(`no ${type} in ${events.Events.map((e: { Type: string }) => e.Type)}`);
  return found.At;
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
      expect(received(carrierResult!).filter((l) => l !== 'SIP/2.0 100 Trying')).toEqual([
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
      await caughtUp(async () => {
        const { Calls } = await get('/v1/Calls');
        const { Lines } = await get('/v1/Billing/Lines');
        return (
          Calls.length === 2 &&
          Calls.every((c: Json) => c.Status !== 'ringing' && c.Status !== 'in-progress') &&
          Lines.length >= 2
        );
      });
      const { Trunks } = await get('/v1/Trunks');
      expect(Trunks).toHaveLength(1);
      const trunkSid: string = Trunks[0].Sid;
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
        Direction: 'trunking-originating',
        From: A,
        To: B,
        CallerId: A,
        TargetKind: null,
        Status: 'completed',
        StartTime: atOf(rootEvents, 'CallReceived'),
        AnswerTime: atOf(rootEvents, 'CallAnswered'),
        EndTime: atOf(rootEvents, 'CallEnded'),
        TransfersAccepted: 1,
        Price: ORIGINATION_FROM_A,
        PriceUnit: 'USD',
      });
      expect(root.Duration).toBe(secondsBetween(root.AnswerTime, root.EndTime));

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
        Direction: 'trunking-originating',
        From: A,
        To: 'target',
        CallerId: shown,
        TargetKind: 'sip',
        Status: 'completed',
        StartTime: atOf(childEvents, 'ChildCallStarted'),
        AnswerTime: atOf(childEvents, 'ChildCallStarted'),
        EndTime: atOf(childEvents, 'CallEnded'),
        TransfersAccepted: 0,
        Price: ORIGINATION_FROM_A,
        PriceUnit: 'USD',
      });
      expect(child.Duration).toBe(secondsBetween(child.AnswerTime, child.EndTime));
      expect(child.Duration).toBeGreaterThanOrEqual(1);
      expect(child.Duration).toBeLessThanOrEqual(10);

      const { Transfers } = await get(`/v1/Transfers?CallSid=${rootSid}`);
      expect(Transfers).toHaveLength(1);
      const referTo = `sip:target@127.0.0.1:${bob.port}`;
      expect(Transfers[0]).toMatchObject({
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

      const day = root.StartTime.slice(0, 10);
      const rootLine = {
        CallSid: rootSid,
        Line: 1,
        TrunkSid: trunkSid,
        Day: day,
        Kind: 'origination',
        Number: A,
        Description: 'origination from the calling number',
        RatePerMinute: ORIGINATION_FROM_A,
        Minutes: 1,
        Amount: ORIGINATION_FROM_A,
        Currency: 'USD',
      };
      const childLine = {
        ...rootLine,
        CallSid: child.Sid,
        Description: 'transferred call: origination from the original caller',
      };
      expect(root.BillingLines).toEqual([rootLine]);
      expect(child.BillingLines).toEqual([childLine]);
      expect((await get(`/v1/Billing/Lines?CallSid=${child.Sid}`)).Lines).toEqual([childLine]);
      expect((await get(`/v1/Billing/Lines?CallSid=${rootSid}`)).Lines).toEqual([rootLine]);
      const summary = await get(`/v1/Billing?TrunkSid=${trunkSid}`);
      expect(summary.Days).toEqual([
        { TrunkSid: trunkSid, Day: day, Currency: 'USD', Calls: 2, Legs: 2, Minutes: 2, Amount: 0.0122 },
      ]);

      // The stored events.
      const events = await pivot.events();
      const rootCall = the(events, 'CallReceived').data.callSid;
      const childCall = the(events, 'ChildCallStarted').data.callSid;
      expect(rootCall).toBe(rootSid);
      expect(childCall).toBe(child.Sid);
      expect(typesOf(events, rootCall)).toEqual(COMPLETED_AND_PBX_HUNG_UP);
      expect(typesOf(events, childCall)).toEqual(['ChildCallStarted', 'HangupReceived', 'CallEnded']);
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
      // The PBX hung up the original call; the child call ended from the side the test chose (the two
      // hang-ups are independent, so each is looked up by its call).
      const hangups = events.filter((e) => e.type === 'HangupReceived');
      expect(hangups).toHaveLength(2);
      expect(hangups.find((e) => e.data.callSid === rootCall)?.data.leg).toBe('customer');
      expect(hangups.find((e) => e.data.callSid === childCall)?.data.leg).toBe(
        carrierEnds ? 'far' : 'target',
      );
      expect(events.filter((e) => e.type === 'CallEnded').map((e) => e.data.status)).toEqual([
        'completed',
        'completed',
      ]);
    });
  }
});
