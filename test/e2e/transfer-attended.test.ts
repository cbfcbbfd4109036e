/**
 * Attended transfer through the pivot (RFC 3891 Replaces, RFC 5589 §7) when both calls run through it:
 * the PBX's call A to a customer and its consultation call B to a colleague. A REFER on A naming B's
 * dialog joins the customer and the colleague directly (RFC 3725: the colleague re-INVITEd without
 * SDP, its offer to the customer, the customer's answer in the colleague's ACK) and frees both PBX
 * legs. Checked on the wire (the SIPp scenarios) and in the store (both sessions' streams).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkAll, replayEvents } from '../../src/engine/replay.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { freePort } from '../helpers/sipp.ts';
import {
  attendedCall,
  consultation,
  consultCall,
  joinedCarrier,
  storedEventually,
} from './attendedParties.ts';
import { allPassed, received } from './parties.ts';
import { type PivotUnderTest, type StoredEvent, startTestPivot } from './pivot.ts';
import { readModel } from './readModel.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

function typesIn(events: StoredEvent[], stream: string): string[] {
  return events.filter((e) => e.stream === stream).map((e) => e.type);
}

function one(events: StoredEvent[], type: string, stream?: string): StoredEvent {
  const found = events.filter((e) => e.type === type && (!stream || e.stream === stream));
  expect(found, `${type} in ${stream ?? 'any stream'}`).toHaveLength(1);
  return found[0]!;
}

describe('attended transfer between two calls through the pivot', () => {
  it('joins the customer and the colleague, BYEs both PBX legs; the joined call is a child of A linked to B', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = joinedCarrier({ port: carrierPort });
    await far.ready;
    const b = consultation('joined');
    const agentB = consultCall(pivot.address, b, 'hung_up');
    await storedEventually(pivot.dbPath, (e) => e.type === 'CallAnswered' && e.data.callSid === b.callSid);
    const agentA = attendedCall(pivot.address, { replaces: b.replaces, flow: 'accepted' });
    const [resultA, resultB] = await allPassed(agentA, agentB, far);

    // The PBX: 202, NOTIFY 100, NOTIFY 200 on A; a BYE from the pivot on B.
    const lines = received(resultA!)
      .filter((line) => !line.includes('100 Trying'))
      .map((line) => (line.startsWith('SIP/2.0') ? line : line.split(' ')[0]));
    // 180 and 200 to the INVITE, 200 to the hold, then the transfer, then the 200 to the PBX's BYE.
    expect(lines).toEqual([
      'SIP/2.0 180 Ringing',
      'SIP/2.0 200 OK',
      'SIP/2.0 200 OK',
      'SIP/2.0 202 Accepted',
      'NOTIFY',
      'NOTIFY',
      'SIP/2.0 200 OK',
    ]);
    expect(received(resultB!).map((line) => line.split(' ')[0])).toContain('BYE');

    // The read side: A and B end for the PBX; the joined call is A's child, billed for both far legs.
    const api = readModel(pivot.httpUrl);
    await api.untilEndedAndBilled({ calls: 3, billingLines: 4 });
    const { Calls } = await api.get('/v1/Calls');
    const byTo = (to: string, child: boolean) =>
      Calls.find(
        (c: { To: string; ParentCallSid?: string }) => c.To === to && Boolean(c.ParentCallSid) === child,
      );
    const [callA, callB, joined] = [
      byTo('+15550200000', false),
      byTo('+15550300000', false),
      byTo('+15550300000', true),
    ];
    expect(callA.Status).toBe('completed');
    expect(callB.Status).toBe('completed');
    expect(joined).toMatchObject({
      ParentCallSid: callA.Sid,
      JoinedCallSid: callB.Sid,
      From: '+15550200000',
      Status: 'completed',
    });
    expect(callA.JoinedCallSid).toBeNull();
    const { Transfers } = await api.get(`/v1/Transfers?CallSid=${callA.Sid}`);
    expect(Transfers).toEqual([
      expect.objectContaining({
        Kind: 'attended',
        ReplacedCallSid: callB.Sid,
        ChildCallSid: joined.Sid,
        Outcome: 'completed',
      }),
    ]);
    const { Lines } = await api.get(`/v1/Billing/Lines?CallSid=${joined.Sid}`);
    expect(Lines.map((l: { Kind: string; Number: string }) => `${l.Kind} ${l.Number}`).sort()).toEqual([
      'termination +15550200000',
      'termination +15550300000',
    ]);

    const events = await pivot.events();
    const streamA = one(events, 'ReferReceived').stream;
    const streamB = `call-${b.callSid}`;
    expect(streamA).not.toBe(streamB);
    const refer = one(events, 'ReferReceived').data;
    expect(refer.replaces).toMatchObject({ callId: b.callId, toTag: b.pivotTag, fromTag: b.fromTag });
    expect(refer.replaced).toMatchObject({ callSid: b.callSid, state: 'inProgress', sameCustomer: true });

    // Each stream keeps its own facts: A asks, B lends, A joins and tells B, B ends for its PBX.
    const a = typesIn(events, streamA);
    expect(a).toEqual(
      expect.arrayContaining([
        'ReferAccepted',
        'JoinRequested',
        'ReplacedCallHandedOver',
        'TransferCompleted',
      ]),
    );
    expect(a.indexOf('JoinRequested')).toBeLessThan(a.indexOf('ReplacedCallHandedOver'));
    const bTypes = typesIn(events, streamB);
    expect(bTypes).toEqual(
      expect.arrayContaining(['HandOverRequested', 'FarLegHandedOver', 'ReplacedCallJoined', 'CallEnded']),
    );
    expect(bTypes).not.toContain('TransferCompleted');

    const completed = one(events, 'TransferCompleted').data;
    expect(completed.joinedCallSid).toBe(b.callSid);
    // RFC 3725 end to end: each far party holds the other's SDP.
    expect(completed.farLeg.remoteSdp).toMatch(/^m=audio 20000 /m);
    expect(completed.targetLeg.remoteSdp).toMatch(/^m=audio 40000 /m);
    const child = one(events, 'ChildCallStarted').data;
    expect(child).toMatchObject({
      parentCallSid: completed.callSid,
      joinedCallSid: b.callSid,
      to: '+15550300000',
    });
    expect(one(events, 'CallEnded', streamB).data.status).toBe('completed');
    // The joined call ends when the customer hangs up: the colleague is BYEd by the child call.
    const childEnd = events.find((e) => e.type === 'CallEnded' && e.data.callSid === child.callSid);
    expect(childEnd?.data.status).toBe('completed');

    // `pivot replay --check`: both streams fold to the states recorded when they were stored.
    const store = createSqliteEventStore({ path: pivot.dbPath });
    try {
      const check = await checkAll(store);
      expect(check.mismatches).toEqual([]);
      const steps = replayEvents(b.callSid, await store.readStream(streamB));
      expect(steps.find((step) => step.type === 'HandOverRequested')).toMatchObject({
        before: 'inProgress',
        after: 'lending',
        actions: ['fact FarLegHandedOver'],
      });
    } finally {
      await store.close();
    }
  });

  it.each([
    ['the customer', { customerJoin: 'glare_join' as const }],
    ['the colleague', { colleagueJoin: 'glare_join' as const }],
  ])(
    '%s answers its re-INVITE 491: tried again after the RFC 3261 §14.1 back-off, and joined',
    async (_, glare) => {
      const carrierPort = await freePort();
      pivot = await startTestPivot({ carrierPort });
      const far = joinedCarrier({ port: carrierPort, ...glare });
      await far.ready;
      const b = consultation('glare');
      const agentB = consultCall(pivot.address, b, 'hung_up');
      await storedEventually(pivot.dbPath, (e) => e.type === 'CallAnswered' && e.data.callSid === b.callSid);
      const agentA = attendedCall(pivot.address, { replaces: b.replaces, flow: 'accepted' });
      await allPassed(agentA, agentB, far);

      const events = await pivot.events();
      const retries = events.filter((e) => e.type === 'TimerScheduled' && e.data.name === 'reinvite-retry');
      expect(retries).toHaveLength(1);
      const retry = retries[0]!;
      expect(retry.stream).toBe(one(events, 'ReferReceived').stream);
      const backoff = Date.parse(retry.data.dueAt) - Date.parse(retry.data.at);
      // The customer's dialog (call A's far leg) has the pivot's Call-ID: 2.1-4 s; the colleague's too.
      expect(backoff).toBeGreaterThanOrEqual(2100);
      expect(backoff).toBeLessThanOrEqual(4000);
      expect(events.filter((e) => e.type === 'TimerFired' && e.data.name === 'reinvite-retry')).toHaveLength(
        1,
      );
      expect(one(events, 'TransferCompleted').data.joinedCallSid).toBe(b.callSid);
    },
  );
});
