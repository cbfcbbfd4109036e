/**
 * The parties of an attended transfer through the pivot, each a SIPp process: the PBX's consultation
 * call B (fixed Call-ID and tag, so call A's REFER can name it), the PBX's call A that REFERs with
 * Replaces, and the carrier answering both calls (test/sipp/e2e-*-joined / -attended / -consult.xml).
 */
import dgram from 'node:dgram';
import { shortId } from '../../machines/ids.ts';
import { callSidForCallId } from '../../src/shared/sids.ts';
import { runSipp, type SippProcess } from '../helpers/sipp.ts';
import { escapeRegExp, renderScenario } from './parties.ts';
import { CARRIER_IP, readStoredEvents, TRUNK_DOMAIN } from './pivot.ts';

const TIMEOUT_MS = 20_000;

/** The consultation call's dialog as the PBX sees it, and its Replaces value. */
export interface Consultation {
  callId: string;
  fromTag: string;
  callSid: string;
  /** The pivot's tag on the PBX's leg of call B: derived from the Call-ID, like every tag it makes. */
  pivotTag: string;
  /** `call-id;to-tag=...;from-tag=...`, %-encoded for a Refer-To URI header (RFC 3891 §3). */
  replaces: string;
}

/** SIPp names its one call's Call-ID after this pattern (-cid_str: %u the call number, %s our address). */
function callIdPattern(name: string): string {
  return `consult-${name}-${process.pid}-${Date.now()}-%u@%s`;
}

export function consultation(name: string): Consultation & { cidPattern: string } {
  const cidPattern = callIdPattern(name);
  const callId = cidPattern.replace('%u', '1').replace('%s', '127.0.0.1');
  const fromTag = `agentB${process.pid}`;
  const callSid = callSidForCallId(callId);
  const pivotTag = `pv${shortId(callSid)}c`;
  const replaces = encodeURIComponent(`${callId};to-tag=${pivotTag};from-tag=${fromTag}`);
  return { callId, fromTag, callSid, pivotTag, replaces, cidPattern };
}

export function consultCall(
  pivot: string,
  call: Consultation & { cidPattern: string },
  end: 'hung_up' | 'on_signal',
  domain = TRUNK_DOMAIN,
  /** The colleague's media port (regexp): the SIPp carrier's 40000 by default. */
  colleaguePort = '40000',
): SippProcess {
  return runSipp({
    scenario: renderScenario('e2e-pbx-consult.xml', {
      FROM_TAG: call.fromTag,
      END: end,
      DOMAIN: domain,
      COLLEAGUE_PORT: colleaguePort,
    }),
    extraArgs: ['-cid_str', call.cidPattern],
    remote: pivot,
    calls: 1,
    timeoutMs: TIMEOUT_MS,
  });
}

/**
 * A consultation call that stays early (the colleague rings): its PBX CANCELs it when the test sends it
 * an INFO (signalConsultation), then ACKs the 487.
 */
export function earlyConsultCall(pivot: string, call: Consultation & { cidPattern: string }): SippProcess {
  return runSipp({
    scenario: renderScenario('e2e-pbx-consult-early.xml', { FROM_TAG: call.fromTag, DOMAIN: TRUNK_DOMAIN }),
    extraArgs: ['-cid_str', call.cidPattern],
    remote: pivot,
    calls: 1,
    timeoutMs: TIMEOUT_MS,
  });
}

export function attendedCall(
  pivot: string,
  options: { replaces: string; flow: 'accepted' | 'refused'; final?: string; status?: number },
): SippProcess {
  return runSipp({
    scenario: renderScenario('e2e-pbx-attended.xml', {
      REPLACES: options.replaces,
      FLOW: options.flow,
      FINAL: escapeRegExp(options.final ?? '200 OK'),
      STATUS: options.status ?? 403,
    }),
    remote: pivot,
    calls: 1,
    timeoutMs: TIMEOUT_MS,
  });
}

type Join = 'join' | 'glare_join' | 'refuse_join' | 'answer_offer' | 'hangs_up_join' | 'none';

export function joinedCarrier(options: {
  port: number;
  customerJoin?: Join;
  colleagueJoin?: Join;
  customerEnd?: 'hangs_up' | 'hung_up' | 'stays';
  colleagueEnd?: 'hung_up' | 'stays';
  /** The media the colleague's ACK must answer with: the customer's (20000), or the PBX's restoring it. */
  colleagueAckMedia?: number;
  /** Calls it answers: both (2), or the customer's alone (1). */
  calls?: number;
  /** The colleague rings and never answers: the consultation call stays early until it is CANCELed. */
  colleagueRings?: boolean;
  /** The media port (regexp) of the PBX's offer in its hold: the SIPp PBX's 10000 by default. */
  pbxMedia?: string;
}): SippProcess {
  return runSipp({
    scenario: renderScenario('e2e-carrier-joined.xml', {
      CUSTOMER_JOIN: options.customerJoin ?? 'join',
      COLLEAGUE_JOIN: options.colleagueJoin ?? 'join',
      CUSTOMER_END: options.customerEnd ?? 'hangs_up',
      COLLEAGUE_END: options.colleagueEnd ?? 'hung_up',
      COLLEAGUE_ACK_MEDIA: options.colleagueAckMedia ?? 20000,
      COLLEAGUE_ANSWER: options.colleagueRings ? 'colleague_rings' : 'colleague_answers',
      PBX_MEDIA: options.pbxMedia ?? '10000',
    }),
    localIp: CARRIER_IP,
    localPort: options.port,
    calls: options.calls ?? 2,
    timeoutMs: TIMEOUT_MS,
  });
}

/** Waits until the pivot stored an event that passes `test` (read from its SQLite file while it runs). */
export async function storedEventually(
  dbPath: string,
  test: (event: { type: string; data: { callSid?: string } }) => boolean,
): Promise<void> {
  for (;;) {
    try {
      if (readStoredEvents(dbPath).some(test)) return;
    } catch {
      // The file may not have its table yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Tells the consultation call's PBX to hang up: an INFO in its dialog, which its scenario waits for. */
export async function signalConsultation(pbxPort: number, call: Consultation): Promise<void> {
  const socket = dgram.createSocket('udp4');
  const text = [
    `INFO sip:pbx@127.0.0.1:${pbxPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-signal-${Date.now()}`,
    'Max-Forwards: 70',
    `From: <sip:test@127.0.0.1>;tag=${call.pivotTag}`,
    `To: <sip:pbx@127.0.0.1>;tag=${call.fromTag}`,
    `Call-ID: ${call.callId}`,
    'CSeq: 1 INFO',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  await new Promise<void>((resolve, reject) =>
    socket.send(text, pbxPort, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
  socket.close();
}
