/**
 * Builders for the SIP inputs the adapter would deliver, so engine tests can drive whole calls with
 * typed inputs. Peers: the PBX at 127.0.0.1:5070 (trunk acme), the carrier at 127.0.0.1:5090, a SIP
 * target at 127.0.0.1:5080.
 */

import type { PivotConfig } from '../../src/config/index.ts';
import { parseConfig } from '../../src/config/index.ts';
import type {
  NameAddr,
  SendRequestCommand,
  SipInput,
  SipRequestInput,
  SipResponseInput,
} from '../../src/shared/messages.ts';

export const PBX = { transport: 'udp', host: '127.0.0.1', port: 5070 } as const;
export const CARRIER = { transport: 'udp', host: '127.0.0.2', port: 5090 } as const;

export function testConfig(
  overrides: {
    transferMode?: 'disable-all' | 'enable-all' | 'sip-only';
    noAnswer?: number;
    /** The trunk's call limit; `false` leaves a transfer's no-answer timer the only one pending. */
    maxCallSeconds?: number | false;
  } = {},
): PivotConfig {
  return parseConfig({
    sip: { host: '127.0.0.1', port: 5060, publicHost: '127.0.0.1' },
    http: { host: '127.0.0.1', port: 8080 },
    store: { kind: 'memory' },
    bus: { kind: 'inprocess' },
    carrier: { uri: 'sip:127.0.0.2:5090' },
    transfer: { noAnswerTimeoutSeconds: overrides.noAnswer ?? 30, byeFallbackSeconds: 32 },
    trunks: [
      {
        name: 'acme',
        domain: 'acme.pstn.pivot.test',
        acl: ['127.0.0.1/32'],
        originationUri: 'sip:127.0.0.1:5070',
        numbers: ['+15550100000'],
        transferMode: overrides.transferMode ?? 'enable-all',
        transferCallerId: 'from-transferee',
        maxTransfersPerCall: 5,
        rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045 } },
        ...(overrides.maxCallSeconds !== undefined ? { maxCallSeconds: overrides.maxCallSeconds } : {}),
      },
    ],
  });
}

export const SDP_PBX =
  'v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\na=sendrecv\r\n';
export const SDP_CARRIER =
  'v=0\r\no=gw 7 7 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\na=sendrecv\r\n';
export const SDP_TARGET =
  'v=0\r\no=bob 3 3 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=sendrecv\r\n';

const addr = (uri: string, tag?: string): NameAddr => ({ uri, params: tag ? { tag } : {} });

let counter = 0;

/** The PBX's INVITE for a termination call to +15550200000. */
export function pbxInvite(callId = `pbx-${++counter}@127.0.0.1`): SipRequestInput {
  return {
    kind: 'request',
    adapterId: 'a1',
    transactionKey: `z9hG4bKpbx${++counter}:INVITE`,
    method: 'INVITE',
    uri: 'sip:+15550200000@acme.pstn.pivot.test',
    callId,
    from: addr('sip:+15550100000@127.0.0.1', 'pbxtag'),
    to: addr('sip:+15550200000@acme.pstn.pivot.test'),
    cseq: { seq: 1, method: 'INVITE' },
    contact: addr('sip:pbx@127.0.0.1:5070'),
    recordRoute: [],
    headers: {},
    body: SDP_PBX,
    source: PBX,
    receivedAt: new Date().toISOString(),
  };
}

/** A request from the PBX inside the dialog the INVITE created (To carries the pivot's tag). */
export function pbxInDialog(
  invite: SipRequestInput,
  pivotTag: string,
  method: string,
  seq: number,
  headers: Record<string, string[]> = {},
): SipRequestInput {
  return {
    ...invite,
    transactionKey: `z9hG4bKpbx${++counter}:${method}`,
    method,
    uri: 'sip:pivot@127.0.0.1:5060',
    to: { ...invite.to, params: { tag: pivotTag } },
    cseq: { seq, method },
    headers,
    body: '',
  };
}

/** The answer a peer sends to a request the pivot sent. */
export function answer(
  request: SendRequestCommand,
  status: number,
  reason: string,
  body = '',
  toTag = 'peer',
): SipResponseInput {
  return {
    kind: 'response',
    adapterId: 'a1',
    transactionKey: request.branch,
    status,
    reason,
    callId: request.callId,
    from: request.from,
    to: {
      ...request.to,
      params: { ...request.to.params, ...(status > 100 ? { tag: request.to.params.tag ?? toTag } : {}) },
    },
    cseq: request.cseq,
    contact: addr(`sip:peer@${request.destination.host}:${request.destination.port}`),
    recordRoute: [],
    headers: {},
    body,
    source: request.destination,
    receivedAt: new Date().toISOString(),
  };
}

/** A request from a peer inside a dialog the pivot created (e.g. the carrier's BYE on the far leg). */
export function peerInDialog(
  request: SendRequestCommand,
  method: string,
  seq: number,
  toTag = 'peer',
): SipInput {
  return {
    kind: 'request',
    adapterId: 'a1',
    transactionKey: `z9hG4bKpeer${++counter}:${method}`,
    method,
    uri: request.contact?.replace(/[<>]/g, '') ?? 'sip:pivot@127.0.0.1',
    callId: request.callId,
    from: { ...request.to, params: { tag: request.to.params.tag ?? toTag } },
    to: request.from,
    cseq: { seq, method },
    recordRoute: [],
    headers: {},
    body: '',
    source: request.destination,
    receivedAt: new Date().toISOString(),
  };
}

const REAPER_TIMERS = new Set(['timer-c', 'ack-timeout', 'max-call']);

/** Events without the TimerScheduled/TimerCanceled of reaper timers, which every call now has. */
export function withoutReaperTimers<E extends { type: string; data: unknown }>(events: E[]): E[] {
  return events.filter((event) => {
    if (event.type !== 'TimerScheduled' && event.type !== 'TimerCanceled') return true;
    // A reaper timer's id is `<CallSid>:<name>[:...]`.
    const name = ((event.data as { timerId?: string }).timerId ?? '').split(':')[1] ?? '';
    return !REAPER_TIMERS.has(name);
  });
}
