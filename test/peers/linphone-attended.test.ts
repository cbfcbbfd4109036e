/**
 * Attended transfers made by a real phone: Linphone (linphonec) is the agent's PBX phone, registered
 * nowhere and sending everything to the pivot. It holds the customer's call, calls the colleague and
 * transfers with its own command (`transfer <id1> --to-call <id2>`): a REFER on one call whose Refer-To
 * carries the other call's dialog in `?Replaces=` (belle-sip %-escapes it in lower case: `%3b`, `%3d`).
 * Both far parties are one baresip on 127.0.0.2 (two accounts). Checked: the phone's SIP trace (REFER,
 * 202, NOTIFYs, BYEs), the far parties' trace (each gets the other's SDP, RFC 3725), the stored events of
 * both sessions and the call log.
 *
 * - The agent calls the customer (A), then the colleague (B), and REFERs A with B in Replaces; over
 *   UDP, and over TCP, where the phone's Contact names its end of the one connection it opened, so the
 *   pivot's NOTIFYs and its BYE must go back on that connection.
 * - The customer calls in (A, an origination call: the pivot's INVITE opened the phone's dialog) and
 *   the agent REFERs its consultation call B with A in Replaces: the tags the phone puts in Replaces are
 *   its own (from-tag) and the pivot's (to-tag) whichever side opened the dialog (RFC 3891 §3). Over
 *   TCP the pivot's INVITE comes on a connection of the pivot's, while the phone's 200 gives as Contact
 *   its end of the connection it opened itself: the ACK, the NOTIFYs and the BYE must go there.
 * - The agent transfers while the colleague still rings (semi-attended): the phone names the early
 *   dialog, without `early-only`; the pivot joins answered calls only, so the REFER is refused 403 before
 *   anything is touched, and the phone keeps both calls (a SIPp carrier here, whose colleague rings).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sessionOfCallId } from '../../src/shared/sessionKeys.ts';
import { joinedCarrier } from '../e2e/attendedParties.ts';
import { allPassed } from '../e2e/parties.ts';
import {
  CARRIER_IP,
  type PivotUnderTest,
  type StoredEvent,
  startTestPivot,
  TRUNK_DOMAIN,
} from '../e2e/pivot.ts';
import { readModel } from '../e2e/readModel.ts';
import { freePort } from '../helpers/sipp.ts';
import { type Baresip, type SipTraceEntry, startBaresip } from './baresip.ts';
import { type Linphone, startLinphone } from './linphone.ts';
import { freeSipPort } from './ports.ts';

const AGENT = '+15550100000';
const CUSTOMER = '+15550200000';
const COLLEAGUE = '+15550300000';

let pivot: PivotUnderTest | undefined;
let farParties: Baresip | undefined;
let agent: Linphone | undefined;
afterEach(async () => {
  await agent?.stop();
  await farParties?.stop();
  await pivot?.dispose();
  pivot = undefined;
  farParties = undefined;
  agent = undefined;
});

const header = (m: SipTraceEntry, name: string) =>
  new RegExp(`\\r\\n${name}: *([^\\r]*)\\r\\n`, 'i').exec(m.text)?.[1];
const callIdOf = (m: SipTraceEntry) => header(m, 'Call-ID');
const tagOf = (value: string | undefined) => /;tag=([^;>\s]+)/.exec(value ?? '')?.[1];
const body = (m: SipTraceEntry) => m.text.split('\r\n\r\n')[1] ?? '';
const audioPort = (sdp: string) => /^m=audio (\d+) /m.exec(sdp)?.[1];
const isRequest = (m: SipTraceEntry, method: string) => m.firstLine.startsWith(`${method} `);
const isResponse = (m: SipTraceEntry, status: number, method: string) =>
  m.firstLine.startsWith(`SIP/2.0 ${status} `) &&
  new RegExp(`\\r\\nCSeq: *\\d+ ${method}\\r\\n`, 'i').test(m.text);

function typesIn(events: StoredEvent[], stream: string): string[] {
  return events.filter((e) => e.stream === stream).map((e) => e.type);
}

async function startParties(options: { transport?: 'udp' | 'tcp'; customerCallsIn?: boolean }) {
  const carrierPort = await freeSipPort(CARRIER_IP);
  // A call to the trunk's number goes to the phone: its port is chosen before the pivot starts.
  const pbxPort = await freePort();
  pivot = await startTestPivot({
    carrierPort,
    pbxPort,
    trunk: { originationUri: `sip:127.0.0.1:${pbxPort};transport=${options.transport ?? 'udp'}` },
  });
  farParties = await startBaresip({
    ip: CARRIER_IP,
    name: 'far-parties',
    sipPort: carrierPort,
    aor: (port) => `sip:${CUSTOMER}@${CARRIER_IP}:${port}`,
    extraAors: (port) => [`sip:${COLLEAGUE}@${CARRIER_IP}:${port}`],
  });
  agent = await startLinphone({
    name: 'agent',
    identity: `sip:${AGENT}@${TRUNK_DOMAIN}`,
    outbound: pivot.address,
    sipPort: pbxPort,
    autoAnswer: options.customerCallsIn,
    ...(options.transport ? { transport: options.transport } : {}),
  });
  return { pivot, farParties, agent };
}

/** The phone's dialog of a call, from its trace: the Call-ID, its own tag and the pivot's. */
function phoneDialog(trace: SipTraceEntry[], phoneAddress: string, user: string) {
  const sent = (m: SipTraceEntry) => m.source === phoneAddress;
  const outgoing = trace.find((m) => sent(m) && m.firstLine.startsWith(`INVITE sip:${user}@`));
  if (outgoing) {
    const callId = callIdOf(outgoing)!;
    const answer = trace.find((m) => !sent(m) && isResponse(m, 200, 'INVITE') && callIdOf(m) === callId)!;
    return { callId, phoneTag: tagOf(header(outgoing, 'From')), pivotTag: tagOf(header(answer, 'To')) };
  }
  const incoming = trace.find(
    (m) =>
      !sent(m) && isRequest(m, 'INVITE') && new RegExp(`^<?sip:\\${user}@`).test(header(m, 'From') ?? ''),
  )!;
  const callId = callIdOf(incoming)!;
  const answer = trace.find((m) => sent(m) && isResponse(m, 200, 'INVITE') && callIdOf(m) === callId)!;
  return { callId, phoneTag: tagOf(header(answer, 'To')), pivotTag: tagOf(header(incoming, 'From')) };
}

/**
 * What the phone saw of its transfer: the REFER on the referred call names the replaced call's party
 * with that dialog in Replaces; 202, NOTIFY 100 then 200 (terminated), both answered; then both of its
 * calls released: it hangs up the referred call on the final NOTIFY, the pivot BYEs the replaced one.
 */
async function expectPhoneTransferred(
  phone: Linphone,
  calls: { referred: string; replaced: { callId: string; phoneTag?: string; pivotTag?: string } },
  replacedUser: string,
): Promise<void> {
  const sent = (m: SipTraceEntry) => m.source === phone.address;
  const { referred, replaced } = calls;
  const trace = phone.sipTrace();
  const refers = trace.filter((m) => sent(m) && isRequest(m, 'REFER'));
  expect(refers.map(callIdOf)).toEqual([referred]);
  const referTo = header(refers[0]!, 'Refer-To')!;
  const target = /^<sip:([^@]+)@([^?>]+)\?Replaces=([^>]+)>$/.exec(referTo);
  expect(target, referTo).not.toBeNull();
  expect(target![1]).toBe(replacedUser);
  const replaces = decodeURIComponent(target![3]!).split(';');
  expect(replaces[0]).toBe(replaced.callId);
  expect(replaces.slice(1).sort()).toEqual([`from-tag=${replaced.phoneTag}`, `to-tag=${replaced.pivotTag}`]);

  const onReferred = (m: SipTraceEntry) => !sent(m) && callIdOf(m) === referred;
  expect(trace.filter((m) => onReferred(m) && isResponse(m, 202, 'REFER'))).toHaveLength(1);
  const notifies = trace.filter((m) => onReferred(m) && isRequest(m, 'NOTIFY'));
  expect(notifies.map((m) => body(m).split('\r\n')[0])).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
  expect(header(notifies[1]!, 'Subscription-State')).toMatch(/^terminated/);
  expect(
    trace.filter((m) => sent(m) && isResponse(m, 200, 'NOTIFY') && callIdOf(m) === referred),
  ).toHaveLength(2);
  // (linphonec says a call ended when it sends its BYE: the 200 may come after.)
  expect(trace.some((m) => sent(m) && isRequest(m, 'BYE') && callIdOf(m) === referred)).toBe(true);
  await phone.waitForSip('200 to its BYE', (m) => onReferred(m) && isResponse(m, 200, 'BYE'));
  expect(trace.some((m) => !sent(m) && isRequest(m, 'BYE') && callIdOf(m) === replaced.callId)).toBe(true);
  await phone.waitForSip(
    "its 200 to the pivot's BYE",
    (m) => sent(m) && isResponse(m, 200, 'BYE') && callIdOf(m) === replaced.callId,
  );
}

/**
 * The far parties joined (RFC 3725): the replaced call's far party is re-INVITEd without SDP and offers
 * in its 200; that offer reaches the referred call's far party in a re-INVITE; its answer reaches the
 * first in the ACK. Call-IDs are the far parties' dialogs with the pivot.
 */
async function expectFarPartiesJoined(
  phones: Baresip,
  dialogs: { referred: string; replaced: string },
): Promise<void> {
  const toPhones = (m: SipTraceEntry) => m.destination.startsWith(`${CARRIER_IP}:`);
  const offerless = await phones.waitForSip(
    'the offer-less re-INVITE',
    (m) => toPhones(m) && isRequest(m, 'INVITE') && callIdOf(m) === dialogs.replaced && body(m) === '',
  );
  // The ACK ends the exchange: everything before it is in the trace.
  const ack = await phones.waitForSip(
    'the ACK with the answer',
    (m) => toPhones(m) && isRequest(m, 'ACK') && callIdOf(m) === dialogs.replaced && body(m) !== '',
  );
  const trace = phones.sipTrace();
  const offer = trace.find(
    (m) =>
      !toPhones(m) &&
      isResponse(m, 200, 'INVITE') &&
      callIdOf(m) === dialogs.replaced &&
      header(m, 'CSeq') === header(offerless, 'CSeq'),
  )!;
  expect(audioPort(body(offer))).toMatch(/^\d+$/);
  const relayed = trace
    .filter((m) => toPhones(m) && isRequest(m, 'INVITE') && callIdOf(m) === dialogs.referred)
    .at(-1)!;
  expect(audioPort(body(relayed))).toBe(audioPort(body(offer)));
  expect(body(relayed)).not.toMatch(/^a=(sendonly|inactive)\r$/m);
  const answer = trace.find(
    (m) =>
      !toPhones(m) &&
      isResponse(m, 200, 'INVITE') &&
      callIdOf(m) === dialogs.referred &&
      header(m, 'CSeq') === header(relayed, 'CSeq'),
  )!;
  expect(audioPort(body(ack))).toBe(audioPort(body(answer)));
  expect(audioPort(body(answer))).not.toBe(audioPort(body(offer)));
}

/** The store and the read side: the joined call is a child of the referred call, linked to the replaced. */
async function expectJoinedInStoreAndCallLog(
  under: PivotUnderTest,
  sids: { referred: string; replaced: string },
  replaces: { callId: string; phoneTag?: string; pivotTag?: string },
): Promise<void> {
  const api = readModel(under.httpUrl);
  await api.untilEndedAndBilled({ calls: 3, billingLines: 4 });
  const { Calls } = await api.get('/v1/Calls');
  const joined = Calls.find((c: { ParentCallSid?: string }) => c.ParentCallSid === sids.referred);
  for (const sid of [sids.referred, sids.replaced]) {
    expect(Calls.find((c: { Sid: string }) => c.Sid === sid)).toMatchObject({ Status: 'completed' });
  }
  expect(joined).toMatchObject({ JoinedCallSid: sids.replaced, Status: 'completed' });
  expect([joined.From, joined.To].sort()).toEqual([CUSTOMER, COLLEAGUE].sort());
  const { Transfers } = await api.get(`/v1/Transfers?CallSid=${sids.referred}`);
  expect(Transfers).toEqual([
    expect.objectContaining({
      Kind: 'attended',
      ReplacedCallSid: sids.replaced,
      ChildCallSid: joined.Sid,
      Outcome: 'completed',
    }),
  ]);

  const events = await under.events();
  const [referredStream, replacedStream] = [`call-${sids.referred}`, `call-${sids.replaced}`];
  const referReceived = events.filter((e) => e.type === 'ReferReceived');
  expect(referReceived.map((e) => e.stream)).toEqual([referredStream]);
  expect(referReceived[0]!.data.replaces).toMatchObject({
    callId: replaces.callId,
    toTag: replaces.pivotTag,
    fromTag: replaces.phoneTag,
  });
  expect(referReceived[0]!.data.replaced).toMatchObject({
    callSid: sids.replaced,
    state: 'inProgress',
    sameCustomer: true,
  });
  expect(typesIn(events, referredStream)).toEqual(
    expect.arrayContaining([
      'ReferAccepted',
      'JoinRequested',
      'ReplacedCallHandedOver',
      'TransferCompleted',
      'JoinEnded',
    ]),
  );
  expect(typesIn(events, replacedStream)).toEqual(
    expect.arrayContaining(['HandOverRequested', 'FarLegHandedOver', 'ReplacedCallJoined', 'CallEnded']),
  );
  expect(events.find((e) => e.type === 'TransferCompleted')!.data.joinedCallSid).toBe(sids.replaced);
  expect(events.find((e) => e.type === 'ChildCallStarted')!.data).toMatchObject({
    callSid: joined.Sid,
    parentCallSid: sids.referred,
    joinedCallSid: sids.replaced,
  });
}

/** The far parties' dialogs with the pivot: the one each opened or was called in. */
function farDialogs(phones: Baresip): { customer: string; colleague: string } {
  const trace = phones.sipTrace();
  const initial = (user: string) =>
    trace.find(
      (m) =>
        isRequest(m, 'INVITE') &&
        (m.firstLine.startsWith(`INVITE sip:${user}@`) || (header(m, 'From') ?? '').includes(`sip:${user}@`)),
    )!;
  return { customer: callIdOf(initial(CUSTOMER))!, colleague: callIdOf(initial(COLLEAGUE))! };
}

describe('an attended transfer made by a Linphone phone', () => {
  it.each(['udp', 'tcp'] as const)(
    'over %s: the agent calls the customer and the colleague, and REFERs the customer with the colleague in Replaces',
    async (transport) => {
      const { pivot, farParties, agent } = await startParties({ transport });

      const a = await agent.call(`sip:${CUSTOMER}@${TRUNK_DOMAIN}`);
      await agent.pause(a);
      const b = await agent.call(`sip:${COLLEAGUE}@${TRUNK_DOMAIN}`);
      agent.attendedTransfer(a, b);
      await agent.waitForOutput('transfer reported done', new RegExp(`of call ${a} has been transfered`));
      await Promise.all([agent.ended(a), agent.ended(b)]);

      const trace = agent.sipTrace();
      const callA = phoneDialog(trace, agent.address, CUSTOMER);
      const callB = phoneDialog(trace, agent.address, COLLEAGUE);
      await expectPhoneTransferred(agent, { referred: callA.callId, replaced: callB }, COLLEAGUE);
      // The phone's hold reached the customer before the join.
      const far = farDialogs(farParties);
      expect(
        farParties
          .sipTrace()
          .some(
            (m) => isRequest(m, 'INVITE') && callIdOf(m) === far.customer && /^a=sendonly\r$/m.test(body(m)),
          ),
      ).toBe(true);
      await expectFarPartiesJoined(farParties, { referred: far.customer, replaced: far.colleague });

      // The customer hangs up the joined call: the pivot BYEs the colleague.
      await farParties.command('hangup');
      await expectJoinedInStoreAndCallLog(
        pivot,
        { referred: sessionOfCallId(callA.callId), replaced: sessionOfCallId(callB.callId) },
        callB,
      );
    },
  );

  it.each(['udp', 'tcp'] as const)(
    'over %s: the customer calls in; the agent REFERs its consultation call with the customer call in Replaces',
    async (transport) => {
      const { pivot, farParties, agent } = await startParties({ customerCallsIn: true, transport });

      await farParties.command('dial', `sip:${AGENT}@${pivot.address}`);
      const { id: a, from } = await agent.incoming();
      expect(from).toContain(`sip:${CUSTOMER}@`);
      await agent.pause(a);
      const b = await agent.call(`sip:${COLLEAGUE}@${TRUNK_DOMAIN}`);
      agent.attendedTransfer(b, a);
      await agent.waitForOutput('transfer reported done', new RegExp(`of call ${b} has been transfered`));
      await Promise.all([agent.ended(a), agent.ended(b)]);

      const trace = agent.sipTrace();
      const callA = phoneDialog(trace, agent.address, CUSTOMER);
      const callB = phoneDialog(trace, agent.address, COLLEAGUE);
      // The pivot opened the phone's dialog of A: its Call-ID, its From tag.
      expect(callA.callId).toMatch(/^pv-CA[0-9a-f]{32}-/);
      const answerA = trace.find(
        (m) => m.source === agent.address && isResponse(m, 200, 'INVITE') && callIdOf(m) === callA.callId,
      )!;
      const contactPort = Number(/^<sip:[^>]*:(\d+)[;>]/.exec(header(answerA, 'Contact') ?? '')?.[1]);
      // Over TCP the Contact is not where the pivot's INVITE came in (the phone's listening port).
      expect(contactPort === agent.sipPort).toBe(transport === 'udp');
      await expectPhoneTransferred(agent, { referred: callB.callId, replaced: callA }, CUSTOMER);
      const far = farDialogs(farParties);
      await expectFarPartiesJoined(farParties, { referred: far.colleague, replaced: far.customer });

      await farParties.command('hangup');
      await expectJoinedInStoreAndCallLog(
        pivot,
        { referred: sessionOfCallId(callB.callId), replaced: sessionOfCallId(callA.callId) },
        callA,
      );
    },
  );

  it('a transfer while the colleague rings: the early dialog in Replaces is refused 403, the phone keeps both calls', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = joinedCarrier({
      port: carrierPort,
      customerJoin: 'none',
      customerEnd: 'stays',
      colleagueRings: true,
      pbxMedia: '[0-9]+',
    });
    await far.ready;
    agent = await startLinphone({
      name: 'agent',
      identity: `sip:${AGENT}@${TRUNK_DOMAIN}`,
      outbound: pivot.address,
    });
    const phone = agent;

    const a = await phone.call(`sip:${CUSTOMER}@${TRUNK_DOMAIN}`);
    await phone.pause(a);
    const b = await phone.dial(`sip:${COLLEAGUE}@${TRUNK_DOMAIN}`);
    await phone.ringing(b);
    phone.attendedTransfer(a, b);
    const sent = (m: SipTraceEntry) => m.source === phone.address;
    const answer = await phone.waitForSip(
      'the answer to its REFER',
      (m) =>
        !sent(m) && /^SIP\/2\.0 [2-6]\d\d /.test(m.firstLine) && /\r\nCSeq: *\d+ REFER\r\n/i.test(m.text),
    );
    expect(answer.firstLine).toBe('SIP/2.0 403 Forbidden');
    expect(header(answer, 'Warning')).toBe(
      '399 sip-pivot "the Replaces dialog is early: the replaced call is not answered"',
    );
    const trace = phone.sipTrace();
    const callA = phoneDialog(trace, agent.address, CUSTOMER);
    const inviteB = trace.find((m) => sent(m) && m.firstLine.startsWith(`INVITE sip:${COLLEAGUE}@`))!;
    const callIdB = callIdOf(inviteB)!;
    const refer = trace.find((m) => sent(m) && isRequest(m, 'REFER'))!;
    expect(callIdOf(refer)).toBe(callA.callId);
    const replaces = decodeURIComponent(/\?Replaces=([^>]+)>/.exec(header(refer, 'Refer-To')!)![1]!);
    expect(replaces.split(';')[0]).toBe(callIdB);
    expect(replaces).not.toContain('early-only');

    // Both calls go on as they were: A held, B ringing; no NOTIFY came.
    phone.command('calls');
    await phone.waitForOutput('call A still held', new RegExp(`^${a}\\s+\\|[^|]+\\|\\s*Paused\\s*\\|`, 'm'));
    await phone.waitForOutput(
      'call B still ringing',
      new RegExp(`^${b}\\s+\\|[^|]+\\|\\s*OutgoingRinging\\s*\\|`, 'm'),
    );
    expect(phone.sipTrace().filter((m) => isRequest(m, 'NOTIFY'))).toEqual([]);

    // The agent gives up: B is CANCELed, A hung up; the carrier sees exactly that (its scenario).
    phone.command(`terminate ${b}`);
    await phone.ended(b);
    phone.command(`terminate ${a}`);
    await phone.ended(a);
    await allPassed(far);

    const events = await pivot.events();
    const [sidA, sidB] = [sessionOfCallId(callA.callId), sessionOfCallId(callIdB)];
    expect(events.filter((e) => e.type === 'ReferReceived').map((e) => e.data.replaced)).toEqual([
      expect.objectContaining({ callSid: sidB, state: 'ringing', sameCustomer: true }),
    ]);
    expect(events.find((e) => e.type === 'ReferRejected')!.data).toMatchObject({ status: 403 });
    expect(events.map((e) => e.type)).not.toContain('JoinRequested');
    expect(typesIn(events, `call-${sidB}`)).not.toContain('HandOverRequested');
    const ended = (sid: string) =>
      events.find((e) => e.type === 'CallEnded' && e.data.callSid === sid)?.data.status;
    expect([ended(sidA), ended(sidB)]).toEqual(['completed', 'canceled']);
  });
});
