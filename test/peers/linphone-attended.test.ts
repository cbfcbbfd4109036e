/**
 * An attended transfer made by a real phone: Linphone (linphonec) is the agent's PBX phone, registered
 * nowhere and sending everything to the pivot. It calls the customer (call A), holds it, calls the
 * colleague (call B) and transfers A to B with its own command: a REFER on A whose Refer-To carries B's
 * dialog in `?Replaces=` (belle-sip %-escapes it in lower case: `%3b`, `%3d`). Both far parties are one
 * baresip on 127.0.0.2 (two accounts). Checked: the phone's SIP trace (REFER, 202, NOTIFYs, BYEs), the
 * far parties' trace (each gets the other's SDP, RFC 3725), the stored events of both sessions and the
 * call log. Over UDP, and over TCP, where the phone's Contact names its end of the one connection it
 * opened, so the pivot's NOTIFYs and its BYE must go back on that connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callSidForCallId } from '../../src/shared/sids.ts';
import {
  CARRIER_IP,
  type PivotUnderTest,
  type StoredEvent,
  startTestPivot,
  TRUNK_DOMAIN,
} from '../e2e/pivot.ts';
import { readModel } from '../e2e/readModel.ts';
import { type Baresip, type SipTraceEntry, startBaresip } from './baresip.ts';
import { type Linphone, startLinphone } from './linphone.ts';
import { freeSipPort } from './ports.ts';

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

describe('an attended transfer made by a Linphone phone', () => {
  it.each(['udp', 'tcp'] as const)(
    "over %s, linphonec's own transfer command joins the customer and the colleague and frees both of its calls",
    async (transport) => {
      const carrierPort = await freeSipPort(CARRIER_IP);
      pivot = await startTestPivot({ carrierPort });
      farParties = await startBaresip({
        ip: CARRIER_IP,
        name: 'far-parties',
        sipPort: carrierPort,
        aor: (port) => `sip:${CUSTOMER}@${CARRIER_IP}:${port}`,
        extraAors: (port) => [`sip:${COLLEAGUE}@${CARRIER_IP}:${port}`],
      });
      agent = await startLinphone({
        name: 'agent',
        identity: `sip:+15550100000@${TRUNK_DOMAIN}`,
        outbound: pivot.address,
        transport,
      });

      const a = await agent.call(`sip:${CUSTOMER}@${TRUNK_DOMAIN}`);
      await agent.pause(a);
      const b = await agent.call(`sip:${COLLEAGUE}@${TRUNK_DOMAIN}`);
      agent.attendedTransfer(a, b);
      await agent.waitForOutput('transfer reported done', new RegExp(`of call ${a} has been transfered`));
      await Promise.all([agent.ended(a), agent.ended(b)]);

      // The phone's side, from its own trace.
      const sent = (m: SipTraceEntry) => m.destination === pivot!.address;
      const trace = agent.sipTrace();
      const invites = trace.filter((m) => sent(m) && isRequest(m, 'INVITE'));
      const inviteA = invites.find((m) => m.firstLine.startsWith(`INVITE sip:${CUSTOMER}@`))!;
      const inviteB = invites.find((m) => m.firstLine.startsWith(`INVITE sip:${COLLEAGUE}@`))!;
      const [callIdA, callIdB] = [callIdOf(inviteA)!, callIdOf(inviteB)!];
      const answerB = trace.find((m) => !sent(m) && isResponse(m, 200, 'INVITE') && callIdOf(m) === callIdB)!;
      // B's dialog as the phone knows it: its own tag (From) and the pivot's (To of the 200).
      const [phoneTagB, pivotTagB] = [tagOf(header(inviteB, 'From')), tagOf(header(answerB, 'To'))];

      const refer = trace.find((m) => sent(m) && isRequest(m, 'REFER'))!;
      expect(callIdOf(refer)).toBe(callIdA);
      const referTo = header(refer, 'Refer-To')!;
      const target = /^<sip:([^@]+)@([^?>]+)\?Replaces=([^>]+)>$/.exec(referTo);
      expect(target, referTo).not.toBeNull();
      expect(target![1]).toBe(COLLEAGUE);
      const replaces = decodeURIComponent(target![3]!).split(';');
      expect(replaces[0]).toBe(callIdB);
      expect(replaces.slice(1).sort()).toEqual([`from-tag=${phoneTagB}`, `to-tag=${pivotTagB}`]);

      const toReferA = (m: SipTraceEntry) => !sent(m) && callIdOf(m) === callIdA;
      expect(trace.filter((m) => toReferA(m) && isResponse(m, 202, 'REFER'))).toHaveLength(1);
      const notifies = trace.filter((m) => toReferA(m) && isRequest(m, 'NOTIFY'));
      expect(notifies.map((m) => body(m).split('\r\n')[0])).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
      expect(header(notifies[1]!, 'Subscription-State')).toMatch(/^terminated/);
      expect(
        trace.filter((m) => sent(m) && isResponse(m, 200, 'NOTIFY') && callIdOf(m) === callIdA),
      ).toHaveLength(2);
      // Both PBX legs released: the phone hangs A up on the final NOTIFY, the pivot BYEs B (RFC 3891 §3).
      // (linphonec says a call ended when it sends its BYE: the 200 may come after.)
      expect(trace.some((m) => sent(m) && isRequest(m, 'BYE') && callIdOf(m) === callIdA)).toBe(true);
      await agent.waitForSip('200 to its BYE on A', (m) => toReferA(m) && isResponse(m, 200, 'BYE'));
      expect(trace.some((m) => !sent(m) && isRequest(m, 'BYE') && callIdOf(m) === callIdB)).toBe(true);
      await agent.waitForSip(
        "its 200 to the pivot's BYE on B",
        (m) => sent(m) && isResponse(m, 200, 'BYE') && callIdOf(m) === callIdB,
      );

      // The far parties: the colleague is re-INVITEd without SDP and offers in its 200; that offer reaches
      // the customer in a re-INVITE; the customer's answer reaches the colleague in the ACK.
      const phones = farParties;
      const toPhones = (m: SipTraceEntry) => m.destination.startsWith(`${CARRIER_IP}:`);
      const callIdAt = (user: string) =>
        callIdOf(
          phones.sipTrace().find((m) => toPhones(m) && m.firstLine.startsWith(`INVITE sip:${user}@`))!,
        );
      const [customerCallId, colleagueCallId] = [callIdAt(CUSTOMER), callIdAt(COLLEAGUE)];
      const customerInvites = () =>
        phones
          .sipTrace()
          .filter((m) => toPhones(m) && isRequest(m, 'INVITE') && callIdOf(m) === customerCallId);
      const offerless = await phones.waitForSip(
        "the colleague's offer-less re-INVITE",
        (m) => toPhones(m) && isRequest(m, 'INVITE') && callIdOf(m) === colleagueCallId && body(m) === '',
      );
      const colleagueOffer = await phones.waitForSip(
        "the colleague's offer",
        (m) =>
          !toPhones(m) &&
          isResponse(m, 200, 'INVITE') &&
          header(m, 'CSeq') === header(offerless, 'CSeq') &&
          callIdOf(m) === colleagueCallId,
      );
      const join = await phones.waitForSip(
        'the join re-INVITE to the customer',
        (m) =>
          toPhones(m) &&
          isRequest(m, 'INVITE') &&
          callIdOf(m) === customerCallId &&
          header(m, 'CSeq') !== header(customerInvites()[0]!, 'CSeq') &&
          !/^a=sendonly\r$/m.test(body(m)),
      );
      // The initial INVITE, the phone's hold (relayed), the join.
      expect(customerInvites()).toHaveLength(3);
      expect(body(customerInvites()[1]!)).toMatch(/^a=sendonly\r$/m);
      expect(customerInvites()[2]).toEqual(join);
      expect(audioPort(body(join))).toBe(audioPort(body(colleagueOffer)));
      expect(body(join)).not.toMatch(/^a=(sendonly|inactive)\r$/m);
      const customerAnswer = await phones.waitForSip(
        "the customer's answer",
        (m) =>
          !toPhones(m) &&
          isResponse(m, 200, 'INVITE') &&
          header(m, 'CSeq') === header(join, 'CSeq') &&
          callIdOf(m) === customerCallId,
      );
      const ack = await phones.waitForSip(
        "the colleague's ACK with the answer",
        (m) => toPhones(m) && isRequest(m, 'ACK') && callIdOf(m) === colleagueCallId && body(m) !== '',
      );
      expect(audioPort(body(ack))).toBe(audioPort(body(customerAnswer)));

      // The customer hangs up the joined call: the pivot BYEs the colleague.
      await phones.command('hangup');

      const [sidA, sidB] = [callSidForCallId(callIdA), callSidForCallId(callIdB)];
      const api = readModel(pivot.httpUrl);
      await api.untilEndedAndBilled({ calls: 3, billingLines: 4 });
      const { Calls } = await api.get('/v1/Calls');
      const joined = Calls.find((c: { ParentCallSid?: string }) => c.ParentCallSid === sidA);
      expect(Calls.find((c: { Sid: string }) => c.Sid === sidA)).toMatchObject({
        To: CUSTOMER,
        Status: 'completed',
      });
      expect(Calls.find((c: { Sid: string }) => c.Sid === sidB)).toMatchObject({
        To: COLLEAGUE,
        Status: 'completed',
      });
      expect(joined).toMatchObject({
        JoinedCallSid: sidB,
        From: CUSTOMER,
        To: COLLEAGUE,
        Status: 'completed',
      });
      const { Transfers } = await api.get(`/v1/Transfers?CallSid=${sidA}`);
      expect(Transfers).toEqual([
        expect.objectContaining({
          Kind: 'attended',
          ReplacedCallSid: sidB,
          ChildCallSid: joined.Sid,
          Outcome: 'completed',
        }),
      ]);

      const events = await pivot.events();
      const [streamA, streamB] = [`call-${sidA}`, `call-${sidB}`];
      const referReceived = events.find((e) => e.type === 'ReferReceived')!;
      expect(referReceived.stream).toBe(streamA);
      expect(referReceived.data.replaces).toMatchObject({
        callId: callIdB,
        toTag: pivotTagB,
        fromTag: phoneTagB,
      });
      expect(referReceived.data.replaced).toMatchObject({
        callSid: sidB,
        state: 'inProgress',
        sameCustomer: true,
      });
      expect(typesIn(events, streamA)).toEqual(
        expect.arrayContaining([
          'ReferAccepted',
          'JoinRequested',
          'ReplacedCallHandedOver',
          'TransferCompleted',
          'JoinEnded',
        ]),
      );
      expect(typesIn(events, streamB)).toEqual(
        expect.arrayContaining(['HandOverRequested', 'FarLegHandedOver', 'ReplacedCallJoined', 'CallEnded']),
      );
      const completed = events.find((e) => e.type === 'TransferCompleted')!.data;
      expect(completed.joinedCallSid).toBe(sidB);
      expect(events.find((e) => e.type === 'ChildCallStarted')!.data).toMatchObject({
        callSid: joined.Sid,
        parentCallSid: sidA,
        joinedCallSid: sidB,
      });
    },
  );
});
