/**
 * Builders for realistic session inputs, so machine specs stay short. Every builder returns a complete
 * event with wire-looking values (LegDialogs with real tags, CSeqs and Contacts; SDP with a real `o=`
 * line) and takes overrides for what a spec cares about.
 */
import type { LegDialog, LegName } from '../../machines/dialog.ts';
import type {
  CallAnswered,
  CallCanceled,
  CallProgress,
  CallReceived,
  CallRejected,
  Direction,
  HangupReceived,
  ReferReceived,
  TimerFired,
  TransfereeHungUp,
  TransferorHungUp,
  TransferPolicy,
  TransferResponse,
} from '../../machines/events.ts';
import type { SipEndpoint } from '../../src/shared/messages.ts';

// ---- ids and clock --------------------------------------------------------------------------------

export const ROOT = 'CA0123456789abcdef0123456789abcdef';
export const CHILD = 'CA1111111111111111111111111111aaaa';
export const CHILD_2 = 'CA2222222222222222222222222222bbbb';
export const TRANSFER = 'TR00000000000000000000000000001234';
export const TRANSFER_2 = 'TR00000000000000000000000000005678';
export const TRUNK = 'TKfedcba9876543210fedcba9876543210';
export const ADAPTER = 'adapter-1';

const EPOCH = Date.parse('2025-03-14T09:00:00.000Z');

/** The engine clock `seconds` after the session started. */
export function at(seconds = 0): string {
  return new Date(EPOCH + seconds * 1000).toISOString();
}

/** A server transaction the pivot must answer (what the adapter hands the engine). */
export function tx(key: string) {
  return { adapterId: ADAPTER, transactionKey: key };
}

// ---- network ----------------------------------------------------------------------------------------

export const PUBLIC_HOST = '203.0.113.5';
export const PIVOT_CONTACT = `sip:pivot@${PUBLIC_HOST}:5060`;
export const PBX: SipEndpoint = { transport: 'udp', host: '10.20.0.10', port: 5070 };
export const CARRIER: SipEndpoint = { transport: 'udp', host: '192.0.2.50', port: 5090 };
export const CARRIER_HOST = 'carrier.example.net';
export const TARGET: SipEndpoint = { transport: 'udp', host: '198.51.100.7', port: 5060 };
export const TRUNK_DOMAIN = 'acme.pstn.pivot.test';

/** The PBX's number on the trunk and the numbers it calls / is called from. */
export const PBX_NUMBER = '+15550100000';
export const PSTN_CALLEE = '+442079460000';
export const PSTN_CALLER = '+13125550142';

// ---- SDP --------------------------------------------------------------------------------------------

function sdpOf(user: string, id: number, address: string, port: number): string {
  return [
    'v=0',
    `o=${user} ${id} ${id} IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 8 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

export const SDP = {
  pbx: sdpOf('pbx', 4001, '10.20.0.10', 40000),
  carrier: sdpOf('carrier', 7002, '192.0.2.50', 30000),
  target: sdpOf('target', 9003, '198.51.100.7', 50000),
  /** The far party's answer to the hold (RFC 3264 §8.4: sendonly answered with recvonly). */
  carrierHeld: sdpOf('carrier', 7002, '192.0.2.50', 30000).replace('a=sendrecv', 'a=recvonly'),
} as const;

// ---- dialogs ----------------------------------------------------------------------------------------

/** The PBX's leg: it called us (terminating), or we call its origination URI (originating). */
export function pbxLeg(role: 'inbound' | 'outbound', overrides: Partial<LegDialog> = {}): LegDialog {
  const base: LegDialog =
    role === 'inbound'
      ? {
          legId: 'c0ffee000001',
          callId: '5c1d8e2a-77f0@10.20.0.10',
          local: { uri: `sip:${PSTN_CALLEE}@${TRUNK_DOMAIN}`, params: { tag: 'pv-c1' } },
          remote: {
            uri: `sip:${PBX_NUMBER}@10.20.0.10`,
            displayName: 'Acme Sales',
            params: { tag: 'pbx-a1' },
          },
          localCseq: 0,
          remoteTarget: 'sip:pbx@10.20.0.10:5070',
          routeSet: [],
          destination: PBX,
          contact: PIVOT_CONTACT,
          origin: { sessionId: '1001', version: 0, address: PUBLIC_HOST },
          pendingInvite: tx('z9hG4bK-pbx-inv-1|INVITE'),
        }
      : {
          legId: 'c0ffee000001',
          callId: `pv-${ROOT}-c@${PUBLIC_HOST}`,
          local: { uri: `sip:${PSTN_CALLER}@${PUBLIC_HOST}`, params: { tag: 'pv-c1' } },
          remote: { uri: `sip:${PBX_NUMBER}@10.20.0.10:5070`, params: {} },
          localCseq: 0,
          remoteTarget: `sip:${PBX_NUMBER}@10.20.0.10:5070`,
          routeSet: [],
          destination: PBX,
          contact: PIVOT_CONTACT,
          origin: { sessionId: '1001', version: 0, address: PUBLIC_HOST },
        };
  return { ...base, ...overrides };
}

/** The carrier's leg: we call it (terminating), or it called us (originating). */
export function carrierLeg(role: 'inbound' | 'outbound', overrides: Partial<LegDialog> = {}): LegDialog {
  const base: LegDialog =
    role === 'outbound'
      ? {
          legId: 'fa0000000002',
          callId: `pv-${ROOT}-f@${PUBLIC_HOST}`,
          local: { uri: `sip:${PBX_NUMBER}@${PUBLIC_HOST}`, params: { tag: 'pv-f1' } },
          remote: { uri: `sip:${PSTN_CALLEE}@${CARRIER_HOST}`, params: {} },
          localCseq: 0,
          remoteTarget: `sip:${PSTN_CALLEE}@${CARRIER_HOST}`,
          routeSet: [],
          destination: CARRIER,
          contact: PIVOT_CONTACT,
          origin: { sessionId: '1002', version: 0, address: PUBLIC_HOST },
        }
      : {
          legId: 'fa0000000002',
          callId: 'b7e1c0de-4411@192.0.2.50',
          local: { uri: `sip:${PBX_NUMBER}@${PUBLIC_HOST}`, params: { tag: 'pv-f1' } },
          remote: { uri: `sip:${PSTN_CALLER}@${CARRIER_HOST}`, params: { tag: 'carrier-b2' } },
          localCseq: 0,
          remoteTarget: 'sip:gw@192.0.2.50:5090',
          routeSet: ['<sip:192.0.2.50:5090;lr>'],
          destination: CARRIER,
          contact: PIVOT_CONTACT,
          origin: { sessionId: '1002', version: 0, address: PUBLIC_HOST },
          pendingInvite: tx('z9hG4bK-carrier-inv-1|INVITE'),
        };
  return { ...base, ...overrides };
}

// ---- call inputs ------------------------------------------------------------------------------------

/**
 * A new call. Terminating (default): the PBX calls a PSTN number, the customer leg is inbound.
 * Originating: the carrier calls the trunk's number, the customer (PBX) leg is the one we place.
 */
export function callReceived(
  options: { direction?: Direction } & Partial<Omit<CallReceived, 'type' | 'direction'>> = {},
): CallReceived {
  const { direction = 'trunking-terminating', ...overrides } = options;
  const terminating = direction === 'trunking-terminating';
  return {
    type: 'CallReceived',
    callSid: ROOT,
    at: at(0),
    trunkSid: TRUNK,
    trunkName: 'acme',
    direction,
    from: terminating ? PBX_NUMBER : PSTN_CALLER,
    to: terminating ? PSTN_CALLEE : PBX_NUMBER,
    inbound: terminating ? pbxLeg('inbound') : carrierLeg('inbound'),
    outbound: terminating ? carrierLeg('outbound') : pbxLeg('outbound'),
    customerLeg: terminating ? 'inbound' : 'outbound',
    sdp: terminating ? SDP.pbx : SDP.carrier,
    outboundUri: terminating ? `sip:${PSTN_CALLEE}@${CARRIER_HOST}` : `sip:${PBX_NUMBER}@10.20.0.10:5070`,
    ...overrides,
  };
}

export function callProgress(overrides: Partial<Omit<CallProgress, 'type'>> = {}): CallProgress {
  return { type: 'CallProgress', callSid: ROOT, at: at(1), status: 180, reason: 'Ringing', ...overrides };
}

/** The callee's 200 OK. Terminating: the carrier answers; originating: the PBX answers. */
export function callAnswered(
  options: { direction?: Direction } & Partial<Omit<CallAnswered, 'type'>> = {},
): CallAnswered {
  const { direction = 'trunking-terminating', ...overrides } = options;
  const terminating = direction === 'trunking-terminating';
  return {
    type: 'CallAnswered',
    callSid: ROOT,
    at: at(5),
    remoteTag: terminating ? 'carrier-a9' : 'pbx-o7',
    remoteTarget: terminating ? 'sip:gw@192.0.2.50:5090' : 'sip:pbx@10.20.0.10:5070',
    routeSet: terminating ? ['<sip:192.0.2.50:5090;lr>'] : [],
    sdp: terminating ? SDP.carrier : SDP.pbx,
    ...overrides,
  };
}

export function callRejected(status: number, reason: string): CallRejected {
  return { type: 'CallRejected', callSid: ROOT, at: at(3), status, reason };
}

export function callCanceled(): CallCanceled {
  return { type: 'CallCanceled', callSid: ROOT, at: at(2), cancel: tx('z9hG4bK-pbx-inv-1|CANCEL') };
}

export function hangup(leg: LegName, overrides: Partial<Omit<HangupReceived, 'type'>> = {}): HangupReceived {
  return {
    type: 'HangupReceived',
    callSid: ROOT,
    at: at(60),
    leg,
    bye: tx(`z9hG4bK-bye-${leg}|BYE`),
    ...overrides,
  };
}

export function timerFired(
  name: TimerFired['name'],
  timerId: string,
  overrides: Partial<Omit<TimerFired, 'type'>> = {},
): TimerFired {
  return { type: 'TimerFired', callSid: ROOT, at: at(90), name, timerId, ...overrides };
}

// ---- transfer inputs --------------------------------------------------------------------------------

export function policy(overrides: Partial<TransferPolicy> = {}): TransferPolicy {
  return {
    transferMode: 'enable-all',
    transferCallerId: 'from-transferee',
    maxTransfersPerCall: 5,
    trunkDomains: [TRUNK_DOMAIN],
    noAnswerTimeoutSeconds: 30,
    byeFallbackSeconds: 32,
    carrierHost: CARRIER_HOST,
    carrierDestination: CARRIER,
    publicHost: PUBLIC_HOST,
    contact: PIVOT_CONTACT,
    holdGlare: 'retry',
    ...overrides,
  };
}

export const SIP_TARGET = 'sip:alice@pbx2.example.com';
export const REFERRED_BY = '<sip:agent-204@10.20.0.10>';

/** A REFER from the PBX on the customer leg, to a SIP target unless `referTo` says otherwise. */
export function referReceived(overrides: Partial<Omit<ReferReceived, 'type'>> = {}): ReferReceived {
  return {
    type: 'ReferReceived',
    callSid: ROOT,
    transferSid: TRANSFER,
    at: at(20),
    refer: tx('z9hG4bK-pbx-refer-2|REFER'),
    leg: 'customer',
    referTo: [`<${SIP_TARGET}>`],
    referredBy: REFERRED_BY,
    referSub: true,
    cseq: 2,
    policy: policy(),
    childCallSid: CHILD,
    targetDestination: TARGET,
    ...overrides,
  };
}

type ResponseType = TransferResponse['type'];

const STATUS: Record<ResponseType, [number, string]> = {
  TransfereeHeld: [200, 'OK'],
  HoldRefused: [488, 'Not Acceptable Here'],
  TransfereeReconnected: [200, 'OK'],
  TransfereeResumed: [200, 'OK'],
  TargetRinging: [180, 'Ringing'],
  TargetAnswered: [200, 'OK'],
  TargetFailed: [486, 'Busy Here'],
  NotifyAnswered: [200, 'OK'],
};

/** A response to a request the transfer sent, with the wire values a real peer would send. */
export function transferResponse(
  type: ResponseType,
  overrides: Partial<Omit<TransferResponse, 'type'>> = {},
): TransferResponse {
  const [status, reason] = STATUS[type];
  const answer: Partial<TransferResponse> =
    type === 'TargetAnswered'
      ? {
          sdp: SDP.target,
          remoteTag: 'alice-t3',
          remoteTarget: 'sip:alice@198.51.100.7:5060',
          routeSet: [],
        }
      : type === 'TransfereeHeld'
        ? { sdp: SDP.carrierHeld }
        : type === 'TransfereeReconnected' || type === 'TransfereeResumed'
          ? { sdp: SDP.carrier }
          : {};
  return {
    type,
    callSid: ROOT,
    transferSid: TRANSFER,
    at: at(21),
    status,
    reason,
    ...answer,
    ...overrides,
  };
}

export function transferorHungUp(overrides: Partial<Omit<TransferorHungUp, 'type'>> = {}): TransferorHungUp {
  return {
    type: 'TransferorHungUp',
    callSid: ROOT,
    transferSid: TRANSFER,
    at: at(22),
    bye: tx('z9hG4bK-pbx-bye-9|BYE'),
    ...overrides,
  };
}

export function transfereeHungUp(overrides: Partial<Omit<TransfereeHungUp, 'type'>> = {}): TransfereeHungUp {
  return {
    type: 'TransfereeHungUp',
    callSid: ROOT,
    transferSid: TRANSFER,
    at: at(22),
    bye: tx('z9hG4bK-carrier-bye-7|BYE'),
    ...overrides,
  };
}

// ---- standard histories (inputs; run them through `history` from sessionSpec) -----------------------

/** Inputs up to an answered call. */
export function answeredCall(direction: Direction = 'trunking-terminating'): [CallReceived, CallAnswered] {
  return [callReceived({ direction }), callAnswered({ direction })];
}

/** Inputs up to an accepted REFER (transfer `holding`). */
export function referred(
  refer: Partial<Omit<ReferReceived, 'type'>> = {},
  direction: Direction = 'trunking-terminating',
) {
  return [...answeredCall(direction), referReceived(refer)];
}

/** Inputs up to the target INVITE (transfer `inviting`). */
export function targetInvited(
  refer: Partial<Omit<ReferReceived, 'type'>> = {},
  direction: Direction = 'trunking-terminating',
) {
  return [...referred(refer, direction), transferResponse('TransfereeHeld')];
}

/** Inputs up to the target's answer (transfer `reconnecting`). */
export function targetUp(refer: Partial<Omit<ReferReceived, 'type'>> = {}) {
  return [...targetInvited(refer), transferResponse('TargetAnswered', { at: at(30) })];
}

/** Inputs up to a busy target (transfer `resuming`). */
export function targetBusy(refer: Partial<Omit<ReferReceived, 'type'>> = {}) {
  return [...targetInvited(refer), transferResponse('TargetFailed', { at: at(25) })];
}

/** The no-answer timer of the first transfer firing. */
export function noAnswerFired(transferSid = TRANSFER): TimerFired {
  return timerFired('no-answer', `${transferSid}:no-answer`, { transferSid, at: at(51) });
}
