/**
 * Attended transfer failures through the pivot: a Replaces dialog that is no call of ours, the replaced
 * call's trunk refusing transfers (403 with the reason, before anything is touched), and either far
 * party refusing its re-INVITE (both calls go on as they were); and a Replaces dialog that is not a pivot
 * call, which the target is asked to replace. On the wire (SIPp) and in the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp } from '../helpers/sipp.ts';
import {
  attendedCall,
  consultation,
  consultCall,
  earlyConsultCall,
  joinedCarrier,
  signalConsultation,
  storedEventually,
} from './attendedParties.ts';
import { allPassed, carrier, escapeRegExp, pbx, received, renderScenario } from './parties.ts';
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

function only(events: StoredEvent[], type: string): StoredEvent {
  const found = events.filter((e) => e.type === type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
}

const BETA = {
  name: 'beta',
  domain: 'beta.pstn.pivot.test',
  acl: ['127.0.0.1/32'],
  originationUri: 'sip:127.0.0.1:5070',
  numbers: ['+15550100001'],
  transferMode: 'disable-all' as const,
  transferCallerId: 'from-transferee' as const,
  maxTransfersPerCall: 5,
  rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045 } },
};

/** Runs call B, waits for its answer, runs call A's REFER, then ends B from the PBX. */
async function attempt(options: {
  far: ReturnType<typeof joinedCarrier>;
  flow: 'accepted' | 'refused';
  final?: string;
  status?: number;
  domain?: string;
  /** The Replaces carries `early-only` (RFC 3891 §6.1). */
  earlyOnly?: boolean;
}) {
  const b = consultation('failure');
  const agentB = consultCall(pivot!.address, b, 'on_signal', options.domain);
  await storedEventually(pivot!.dbPath, (e) => e.type === 'CallAnswered' && e.data.callSid === b.callSid);
  const agentA = attendedCall(pivot!.address, {
    replaces: options.earlyOnly ? `${b.replaces}${encodeURIComponent(';early-only')}` : b.replaces,
    flow: options.flow,
    ...(options.final ? { final: options.final } : {}),
    ...(options.status ? { status: options.status } : {}),
  });
  const [resultA] = await allPassed(agentA);
  // Call B is still up: its PBX hangs up now, and the colleague must be BYEd by the pivot.
  await signalConsultation(agentB.port, b);
  const [resultB, resultFar] = await allPassed(agentB, options.far);
  return { b, resultA: resultA!, resultB: resultB!, resultFar: resultFar! };
}

describe('attended transfer failures', () => {
  it('a Replaces dialog with a pivot Call-ID that is no call: 403 up front, the call goes on', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = joinedCarrier({ port: carrierPort, calls: 1, customerJoin: 'none', customerEnd: 'stays' });
    await far.ready;
    // A Call-ID the pivot would have made (it embeds a session sid), of no call.
    const callId = `pv-CA${'0'.repeat(32)}-1f@127.0.0.1`;
    const replaces = encodeURIComponent(`${callId};to-tag=x1;from-tag=y1`);
    const agentA = attendedCall(pivot.address, { replaces, flow: 'refused', status: 403 });
    await allPassed(agentA, far);
    const events = await pivot.events();
    expect(only(events, 'ReferRejected').data).toMatchObject({
      status: 403,
      reason: `Replaces names no call through the pivot (Call-ID ${callId})`,
    });
    expect(events.map((e) => e.type)).not.toContain('JoinRequested');
  });

  it("the replaced call's trunk does not allow transfers: 403 naming it; both calls go on", async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, extraTrunks: [BETA] });
    const far = joinedCarrier({
      port: carrierPort,
      customerJoin: 'none',
      colleagueJoin: 'none',
      customerEnd: 'stays',
      colleagueEnd: 'stays',
    });
    await far.ready;
    await attempt({ far, flow: 'refused', status: 403, domain: BETA.domain });
    const events = await pivot.events();
    expect(only(events, 'ReferRejected').data.reason).toBe(
      "transfers are disabled on trunk beta (the replaced call's)",
    );
    expect(events.map((e) => e.type)).not.toContain('HandOverRequested');
  });

  it('a Replaces naming an early (ringing) consultation call: 403 up front; B is CANCELed as usual', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = joinedCarrier({
      port: carrierPort,
      customerJoin: 'none',
      customerEnd: 'stays',
      colleagueRings: true,
    });
    await far.ready;
    const b = consultation('early');
    const agentB = earlyConsultCall(pivot.address, b);
    await storedEventually(pivot.dbPath, (e) => e.type === 'CallProgress' && e.data.callSid === b.callSid);
    const agentA = attendedCall(pivot.address, { replaces: b.replaces, flow: 'refused', status: 403 });
    const [resultA] = await allPassed(agentA);
    expect(received(resultA!).filter((line) => line.startsWith('SIP/2.0 403'))).toHaveLength(1);
    // The early call is untouched by the refusal: its PBX CANCELs it, the colleague gets the CANCEL.
    await signalConsultation(agentB.port, b);
    await allPassed(agentB, far);

    const events = await pivot.events();
    const refer = only(events, 'ReferReceived').data;
    expect(refer.replaced).toMatchObject({ callSid: b.callSid, state: 'ringing', sameCustomer: true });
    expect(only(events, 'ReferRejected').data).toMatchObject({
      status: 403,
      reason: 'the Replaces dialog is early: the replaced call is not answered',
    });
    expect(events.map((e) => e.type)).not.toContain('JoinRequested');
    expect(typesIn(events, `call-${b.callSid}`)).not.toContain('HandOverRequested');
    const endedB = events.find((e) => e.type === 'CallEnded' && e.data.callSid === b.callSid);
    expect(endedB?.data.status).toBe('canceled');
  });

  it('early-only naming an answered consultation call: 486 up front (RFC 3891 §3); both calls go on', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = joinedCarrier({
      port: carrierPort,
      customerJoin: 'none',
      colleagueJoin: 'none',
      customerEnd: 'stays',
      colleagueEnd: 'stays',
    });
    await far.ready;
    const { b } = await attempt({ far, flow: 'refused', status: 486, earlyOnly: true });
    const events = await pivot.events();
    expect(only(events, 'ReferReceived').data.replaces).toMatchObject({ callId: b.callId, earlyOnly: true });
    expect(only(events, 'ReferRejected').data).toMatchObject({
      status: 486,
      reason: 'Replaces is early-only, and the replaced call is answered',
    });
    expect(events.map((e) => e.type)).not.toContain('JoinRequested');
  });

  it('the colleague refuses the re-INVITE: NOTIFY 488, the leg goes back, both calls go on as they were', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = joinedCarrier({
      port: carrierPort,
      customerJoin: 'none',
      colleagueJoin: 'refuse_join',
      customerEnd: 'stays',
      colleagueEnd: 'stays',
    });
    await far.ready;
    const { b } = await attempt({ far, flow: 'accepted', final: '488 Not Acceptable Here' });
    const events = await pivot.events();
    const streamB = `call-${b.callSid}`;
    expect(typesIn(events, streamB)).toEqual(
      expect.arrayContaining(['FarLegHandedOver', 'FarLegReturned', 'HangupReceived', 'CallEnded']),
    );
    expect(only(events, 'TransferFailed').data.status).toBe(488);
    expect(only(events, 'JoinEnded').data).toMatchObject({ outcome: 'returned', status: 488 });
    expect(events.map((e) => e.type)).not.toContain('TransferCompleted');
  });

  it('the colleague hangs up during the join: its BYE gets 200, NOTIFY 487, B ends for its PBX, A goes on', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = joinedCarrier({
      port: carrierPort,
      customerJoin: 'none',
      colleagueJoin: 'hangs_up_join',
      customerEnd: 'stays',
    });
    await far.ready;
    const b = consultation('colleague-bye');
    const agentB = consultCall(pivot.address, b, 'hung_up');
    await storedEventually(pivot.dbPath, (e) => e.type === 'CallAnswered' && e.data.callSid === b.callSid);
    const agentA = attendedCall(pivot.address, {
      replaces: b.replaces,
      flow: 'accepted',
      final: '487 Request Terminated',
    });
    // The colleague's scenario requires the 200 to its BYE; B's PBX is BYEd by the pivot; A's PBX
    // hears NOTIFY 487 and hangs up, and the customer, never re-INVITEd, is BYEd then.
    const [resultA, resultB, resultFar] = await allPassed(agentA, agentB, far);
    expect(received(resultA!).filter((line) => line.startsWith('NOTIFY'))).toHaveLength(2);
    expect(received(resultB!).filter((line) => line.startsWith('BYE'))).toHaveLength(1);
    expect(received(resultFar!).filter((line) => line.startsWith('SIP/2.0 481'))).toEqual([]);

    // Both calls close in the call log, billed up to their end.
    const api = readModel(pivot.httpUrl);
    await api.untilEndedAndBilled({ calls: 2, billingLines: 2 });
    const { Calls } = await api.get('/v1/Calls');
    expect(Calls.map((c: { Status: string }) => c.Status)).toEqual(['completed', 'completed']);
    expect(Calls.filter((c: { ParentCallSid?: string }) => c.ParentCallSid)).toEqual([]);
    const { Transfers } = await api.get('/v1/Transfers');
    expect(Transfers).toEqual([expect.objectContaining({ Kind: 'attended', Outcome: 'failed' })]);

    const events = await pivot.events();
    const streamB = `call-${b.callSid}`;
    const hungUp = only(events, 'TargetHungUp');
    expect(hungUp.stream).not.toBe(streamB);
    expect(only(events, 'TransferFailed').data).toMatchObject({ status: 487, transferorGone: false });
    expect(only(events, 'JoinEnded').data).toMatchObject({ outcome: 'returned', farPartyGone: true });
    expect(only(events, 'FarLegReturned').data.farPartyGone).toBe(true);
    const bTypes = typesIn(events, streamB);
    expect(bTypes.slice(bTypes.indexOf('FarLegReturned'))).toEqual(['FarLegReturned', 'CallEnded']);
    expect(bTypes).not.toContain('HangupReceived');
    expect(events.map((e) => e.type)).not.toContain('TransferCompleted');
  });

  it("the customer refuses the colleague's offer: the colleague's ACK restores the PBX's SDP; both calls go on", async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = joinedCarrier({
      port: carrierPort,
      customerJoin: 'refuse_join',
      colleagueJoin: 'join',
      customerEnd: 'stays',
      colleagueEnd: 'stays',
      // The PBX's SDP on call B (m=audio 10002): the colleague is back with the PBX.
      colleagueAckMedia: 10002,
    });
    await far.ready;
    const { b, resultFar } = await attempt({ far, flow: 'accepted', final: '200 OK' });
    expect(received(resultFar).filter((line) => line.startsWith('BYE'))).toHaveLength(2);
    const events = await pivot.events();
    expect(only(events, 'TransferFailed').data.status).toBe(488);
    expect(only(events, 'JoinEnded').data).toMatchObject({ outcome: 'returned', status: 488 });
    expect(typesIn(events, `call-${b.callSid}`)).toEqual(
      expect.arrayContaining(['FarLegHandedOver', 'FarLegReturned', 'HangupReceived', 'CallEnded']),
    );
  });
});

describe('attended transfer whose Replaces dialog is not a pivot call', () => {
  it('INVITEs the target with the Replaces header (RFC 3891 §3); the rest is a blind transfer', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({ port: carrierPort, flow: 'hold_then_reconnect', childEnd: 'hangs_up' });
    const replaces = 'internal-42@10.0.0.9;to-tag=phone7;from-tag=agent3';
    const bob = runSipp({
      scenario: renderScenario('e2e-target-replaces.xml', { REPLACES: escapeRegExp(replaces) }),
      timeoutMs: 20_000,
    });
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, {
      flow: 'transfer',
      target: `target@127.0.0.1:${bob.port}?Replaces=${encodeURIComponent(replaces)}`,
    });
    await allPassed(agent, far, bob);

    const events = await pivot.events();
    const refer = only(events, 'ReferReceived').data;
    expect(refer.replacesElsewhere).toBe(true);
    expect(refer.replaces).toEqual({ callId: 'internal-42@10.0.0.9', toTag: 'phone7', fromTag: 'agent3' });
    expect(only(events, 'TargetInvited').data.uri).toBe(`sip:target@127.0.0.1:${bob.port}`);
    expect(only(events, 'TransferCompleted').data.joinedCallSid).toBeUndefined();
  });
});
