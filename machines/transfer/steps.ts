/**
 * The pure steps of the blind transfer (docs/architecture.md "Transfer flow"). The statechart in
 * transfer.machine.ts decides which step runs; each returns the next context and its effects.
 */

import type { Transport } from '../../src/shared/messages.ts';
import { pivotCallId } from '../../src/shared/sessionKeys.ts';
import {
  type LegDialog,
  nextRequest,
  outgoingSdp,
  reasonPhrase,
  reInvite,
  reInviteWithCredentials,
  requestAt,
  requestReceived,
  response,
} from '../dialog.ts';
import { addSeconds, type Effect, fact, type Step, sip } from '../effects.ts';
import type {
  ReferReceived,
  ReplacesDialog,
  TargetReleased,
  TimerFired,
  TransfereeHungUp,
  TransferorHungUp,
  TransferPolicy,
  TransferResponse,
} from '../events.ts';
import { sdpSessionId, shortId } from '../ids.ts';
import { parseReferTo, type ReferTarget, referredByProblem, transferAllowed } from '../refer-target.ts';
import { replacesOf } from '../replaces.ts';
import { directionOf, hasSdp, holdDirection, rejectingAnswer, withDirection } from '../sdp.ts';
import { extractUser } from '../sip-syntax.ts';
import type { TransferContext } from './context.ts';
import { transferredCallHeaders } from './identity.ts';
import { asksJoin, judgeJoin } from './join-rules.ts';

type Ctx = Omit<TransferContext, 'outbox'>;

const SIPFRAG = 'message/sipfrag;version=2.0';

export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`transfer has no ${what}`);
  return value;
}

/**
 * The far leg after it refused a re-INVITE: the refused offer never took effect, so the next offer is
 * one version above the session's SDP (RFC 3264 §8).
 */
export function offerWithdrawn(context: Pick<TransferContext, 'far'>): LegDialog {
  const refused = must(context.far, 'far leg');
  return { ...refused, origin: { ...refused.origin, version: refused.origin.version - 1 } };
}

export type ReferVerdict = { ok: true; target: ReferTarget } | { ok: false; status: number; reason: string };

/** Whether a REFER may start a transfer, and why not: every refusal is recorded with its reason. */
export function judgeRefer(context: TransferContext, event: ReferReceived): ReferVerdict {
  const { policy } = event;
  if (event.leg !== 'customer') return { ok: false, status: 403, reason: 'REFER from the carrier side' };
  // A running transfer leaves the call `transferring`, not `inProgress`: check it first, or it is a 403.
  if (context.transferInProgress)
    return { ok: false, status: 491, reason: 'another transfer is in progress' };
  if (!context.callEstablished) return { ok: false, status: 403, reason: 'call is not in progress' };
  if (event.malformed) return { ok: false, status: 400, reason: event.malformed };
  if (asksJoin(event)) {
    const join = judgeJoin(context, event);
    // The joined party is the replaced call's far party: the carrier side.
    return join.ok ? { ok: true, target: { uri: event.referTo[0] ?? '', kind: 'pstn' } } : join;
  }
  // REFERs stored before the policy carried the carrier's networks replay under the rules of their day.
  const guards =
    policy.carrierNetworks === undefined
      ? undefined
      : { ...policy, ...(event.targetAddresses ? { targetAddresses: event.targetAddresses } : {}) };
  const referredBy =
    guards && event.referredBy !== undefined ? referredByProblem(event.referredBy) : undefined;
  if (referredBy) return { ok: false, status: 400, reason: referredBy };
  const parsed = parseReferTo(referToJudged(event), policy.trunkDomains, guards);
  if (!parsed.ok) return parsed;
  if (policy.transferMode === 'disable-all') {
    return { ok: false, status: 403, reason: `transfers are disabled on trunk ${context.trunkName}` };
  }
  if (!transferAllowed(policy.transferMode, parsed.target.kind)) {
    const carrier = parsed.target.carrierHost;
    return {
      ok: false,
      status: 403,
      reason:
        `PSTN targets are not allowed on trunk ${context.trunkName} (sip-only)` +
        (carrier ? `: Refer-To host ${carrier} is the carrier` : ''),
    };
  }
  if (parsed.target.kind === 'pstn' && parsed.target.e164 === undefined) {
    return {
      ok: false,
      status: 403,
      reason: `Refer-To host ${parsed.target.carrierHost} is the carrier: the user part must be a +E.164 number`,
    };
  }
  if (context.transfersAccepted >= policy.maxTransfersPerCall) {
    return { ok: false, status: 403, reason: `maxTransfersPerCall (${policy.maxTransfersPerCall}) reached` };
  }
  // A name that could not be located is accepted: RFC 3515 reports the failure in the final NOTIFY.
  if (parsed.target.kind === 'sip' && !event.targetDestination && !event.targetUnreachable) {
    return { ok: false, status: 400, reason: 'Refer-To host is not an address the pivot can reach' };
  }
  return parsed;
}

/** The Refer-To judged as a target: with a Replaces elsewhere, its URI without the Replaces header. */
function referToJudged(event: ReferReceived): string[] {
  if (!event.replacesElsewhere) return event.referTo;
  const replaces = replacesOf(event.referTo);
  return replaces.kind === 'replaces' ? [`<${replaces.uri}>`] : event.referTo;
}

/** The Replaces header of a target INVITE (RFC 3891 §6.1), as the REFER named the dialog. */
export function replacesHeader(dialog: ReplacesDialog): string {
  return `${dialog.callId};to-tag=${dialog.toTag};from-tag=${dialog.fromTag}${dialog.earlyOnly ? ';early-only' : ''}`;
}

export const rejectRefer: Step<TransferContext, ReferReceived> = ({ outbox: _, ...context }, event) => {
  const verdict = judgeRefer({ ...context, outbox: [] }, event);
  const status = verdict.ok ? 500 : verdict.status;
  const reason = verdict.ok ? 'unexpected' : verdict.reason;
  return [
    { ...context, policy: event.policy },
    [
      sip(
        response(event.refer, status, reasonPhrase(status), {
          headers: { Warning: `399 sip-pivot "${reason}"` },
        }),
      ),
      fact({
        type: 'ReferRejected',
        callSid: context.callSid,
        transferSid: context.transferSid,
        at: event.at,
        status,
        reason,
        // The call records the REFER in the dialog it came in (remote CSeq).
        leg: event.leg,
        cseq: event.cseq,
      }),
    ],
  ];
};

/** Sends a NOTIFY carrying `statusLine` while the implicit subscription lasts. */
export function notify(context: Ctx, statusLine: string, final: boolean): [Ctx, Effect[]] {
  if (!context.subscribed) return [context, []];
  const [customer, request] = nextRequest(must(context.customer, 'customer leg'), 'NOTIFY', {
    headers: {
      Event: context.eventHeader,
      'Subscription-State': final ? 'terminated;reason=noresource' : 'active;expires=60',
    },
    body: `${statusLine}\r\n`,
    contentType: SIPFRAG,
  });
  return [{ ...context, customer, subscribed: !final }, [sip(request)]];
}

export function numberFor(context: Ctx, party: 'transferee' | 'transferor'): string {
  // On a terminating call the far party is the callee; on an originating call it is the caller.
  const farIsCallee = context.direction === 'trunking-terminating';
  return (party === 'transferee') === farIsCallee ? context.to : context.from;
}

/** Where a target leg "goes" when its name has no address: never sent to (see targetUnreachable). */
const NOWHERE: LegDialog['destination'] = { transport: 'udp', host: '0.0.0.0', port: 0 };

function targetDestinationOf(event: ReferReceived): LegDialog['destination'] {
  if (event.targetDestination) return event.targetDestination;
  if (event.targetUnreachable) return NOWHERE;
  throw new Error('missing target destination');
}

/** Our Contact on a target leg: in the leg's scheme and on its transport (absent: as stored before). */
function contactFor(policy: TransferPolicy, transport: Transport, uri: string): string {
  if (/^sips:/i.test(uri) && policy.sipsContact) return policy.sipsContact;
  if (transport === 'tls' && policy.tlsContact) return policy.tlsContact;
  return transport === 'tcp' ? (policy.tcpContact ?? policy.contact) : policy.contact;
}

function targetLeg(context: Ctx, event: ReferReceived, target: ReferTarget): LegDialog {
  const { policy } = event;
  const pstn = target.kind === 'pstn';
  const uri = pstn ? `${policy.carrierScheme ?? 'sip'}:${target.e164}@${policy.carrierHost}` : target.uri;
  const caller = numberFor(
    context,
    policy.transferCallerId === 'from-transferor' ? 'transferor' : 'transferee',
  );
  const id = shortId(context.transferSid);
  const destination = pstn ? policy.carrierDestination : targetDestinationOf(event);
  return {
    legId: `${id}t`,
    callId: pivotCallId(context.routingKey, `${id}t`, policy.publicHost),
    local: { uri: `sip:${caller}@${policy.publicHost}`, params: { tag: `pv${id}t` } },
    remote: { uri, params: {} },
    localCseq: 0,
    remoteTarget: uri,
    routeSet: [],
    destination,
    routed: true,
    contact: contactFor(policy, destination.transport, uri),
    origin: { sessionId: sdpSessionId(context.transferSid, 3), version: 0, address: policy.publicHost },
  };
}

/** 202, NOTIFY 100 Trying, and the far party put on hold with the PBX's SDP marked sendonly (or inactive). */
export const acceptRefer: Step<TransferContext, ReferReceived> = ({ outbox: _, ...context }, event) => {
  const verdict = judgeRefer({ ...context, outbox: [] }, event);
  if (!verdict.ok) throw new Error('acceptRefer on a refused REFER');
  const customer = must(context.customer, 'customer leg');
  const far = must(context.far, 'far leg');
  const customerSdp = must(customer.remoteSdp, 'customer SDP');
  const target = targetLeg(context, event, verdict.target);
  let next: Ctx = {
    ...context,
    // The REFER is the customer leg's latest request from the PBX (RFC 3261 §12.2.2 remote CSeq).
    customer: requestReceived(customer, event.cseq),
    policy: event.policy,
    ...(event.targetUnreachable && verdict.target.kind === 'sip'
      ? { targetUnreachable: event.targetUnreachable }
      : {}),
    ...(event.targetAlternates && verdict.target.kind === 'sip'
      ? { targetAlternates: event.targetAlternates }
      : {}),
    referredBy: event.referredBy,
    subscribed: event.referSub,
    // RFC 3515 §2.4.6: NOTIFYs of a later REFER in the same dialog carry the REFER's CSeq as id.
    eventHeader: context.transfersAccepted > 0 ? `refer;id=${event.cseq}` : 'refer',
    targetUri: target.remoteTarget,
    targetKind: verdict.target.kind,
    targetNumber: verdict.target.e164 ?? extractUser(verdict.target.uri) ?? verdict.target.uri,
    transfereeNumber: numberFor(context, 'transferee'),
    target,
    customerSdp,
    transfereeSdp: far.remoteSdp,
    offerlessTarget: event.policy.reconnect === 'rfc3725',
    ...(event.replacesElsewhere && event.replaces ? { replacesElsewhere: event.replaces } : {}),
  };
  const effects: Effect[] = [
    sip(response(event.refer, 202, 'Accepted', event.referSub ? {} : { headers: { 'Refer-Sub': 'false' } })),
    fact({
      type: 'ReferAccepted',
      callSid: context.callSid,
      transferSid: context.transferSid,
      at: event.at,
      referTo: verdict.target.uri,
      targetKind: verdict.target.kind,
      referSub: event.referSub,
      ...(event.referredBy ? { referredBy: event.referredBy } : {}),
    }),
  ];
  const [notified, notifyEffects] = notify(next, 'SIP/2.0 100 Trying', false);
  // RFC 3264 §8.4: hold marks the offer sendonly, or inactive when the stream was recvonly (or inactive).
  const [held, hold] = reInvite(far, withDirection(customerSdp, holdDirection(directionOf(customerSdp))));
  next = { ...notified, far: held };
  return [next, [...effects, ...notifyEffects, sip(hold)]];
};

/**
 * The INVITE to the target. RFC 3725 §4.3 (flow III): without SDP, so the target makes a fresh offer
 * that the transferee answers; offering the transferee's old SDP instead would commit the target to
 * media parameters the transferee may no longer use (its SDP while on hold), and re-offering the
 * target's answer to the transferee is not an offer the target ever made.
 */
/** The next INVITE on the target leg: identity, Referred-By and `extra` headers, and an offer unless RFC 3725. */
function targetInvite(context: Ctx, extra: Record<string, string> = {}): ReturnType<typeof nextRequest> {
  const policy = must(context.policy, 'policy');
  const referredBy = context.referredBy;
  let offered = must(context.target, 'target leg');
  const identity = policy.presentIdentity
    ? transferredCallHeaders(offered.local.uri, numberFor(context, 'transferor'), policy.publicHost)
    : {};
  const all = {
    ...identity,
    ...(referredBy ? { 'Referred-By': referredBy } : {}),
    ...(context.replacesElsewhere ? { Replaces: replacesHeader(context.replacesElsewhere) } : {}),
    ...extra,
  };
  const headers = Object.keys(all).length > 0 ? { headers: all } : {};
  let body: { body?: string } = {};
  if (!context.offerlessTarget) {
    const offer = withDirection(must(context.transfereeSdp, 'transferee SDP'), 'sendrecv');
    const [withOffer, sdp] = outgoingSdp(offered, offer);
    offered = withOffer;
    body = { body: sdp };
  }
  return nextRequest(offered, 'INVITE', { ...body, ...headers });
}

/**
 * The target's carrier challenged the INVITE and the engine had credentials: the same INVITE again in a
 * new transaction with them; the no-answer timer keeps running.
 */
export const authenticateTarget: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  event,
) => {
  const authorization = must(event.authorization, 'authorization');
  const [target, invite] = targetInvite(context, { [authorization.header]: authorization.value });
  return [{ ...context, target, targetAuthorized: true }, [sip(invite)]];
};

/**
 * The target's first address was overloaded (503) or never answered (408, or the adapter's own 503 after
 * a transport error): the same INVITE again, in a new transaction, to the next address of its name, as
 * carrier failover does (RFC 3263 §4.3); the no-answer timer keeps running.
 */
export const failOverTarget: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  _event,
) => {
  const [next, ...rest] = must(context.targetAlternates, 'target alternates');
  const policy = must(context.policy, 'policy');
  const contact = contactFor(policy, next!.transport, must(context.target, 'target leg').remoteTarget);
  const moved = {
    ...context,
    target: { ...must(context.target, 'target leg'), destination: next!, contact },
  };
  const [target, invite] = targetInvite(moved);
  // Another address may challenge on its own account.
  return [{ ...moved, target, targetAlternates: rest, targetAuthorized: undefined }, [sip(invite)]];
};

export function targetFailsOver(context: TransferContext, event: TransferResponse): boolean {
  return (event.status === 503 || event.status === 408) && (context.targetAlternates?.length ?? 0) > 0;
}

/**
 * The far party's carrier challenged a hold, reconnect or resume re-INVITE and the engine had
 * credentials: the same offer again in a new transaction with them; the transfer stays where it was.
 */
export const authenticateFar: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  event,
) => {
  const [far, invite] = reInviteWithCredentials(
    must(context.far, 'far leg'),
    must(event.authorization, 'authorization'),
  );
  return [{ ...context, far }, [sip(invite)]];
};

function inviteTarget(context: Ctx, event: TransferResponse): [Ctx, Effect[]] {
  const [target, invite] = targetInvite(context);
  const noAnswer = scheduleNoAnswer(context, event.at);
  return [
    { ...context, target, noAnswerTimerId: noAnswer.timerId },
    [
      sip(invite),
      fact({
        type: 'TargetInvited',
        callSid: context.callSid,
        transferSid: context.transferSid,
        at: event.at,
        uri: target.remoteTarget,
        from: target.local,
        targetCallId: target.callId,
      }),
      noAnswer.effect,
    ],
  ];
}

/** The timer that gives up on the INVITE the transfer is waiting on (`noAnswerTimeoutSeconds`). */
export function scheduleNoAnswer(context: Ctx, at: string): { timerId: string; effect: Effect } {
  const timerId = `${context.transferSid}:no-answer`;
  const seconds = must(context.policy, 'policy').noAnswerTimeoutSeconds;
  return {
    timerId,
    effect: fact({
      type: 'TimerScheduled',
      callSid: context.callSid,
      transferSid: context.transferSid,
      at,
      timerId,
      name: 'no-answer',
      dueAt: addSeconds(at, seconds),
    }),
  };
}

export const transfereeHeld: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }, event) => {
  const far = must(context.far, 'far leg');
  const acked = event.status < 300 ? [sip(requestAt(far, 'ACK', far.localCseq))] : [];
  const [next, effects] = inviteTarget(context, event);
  return [next, [...acked, ...effects]];
};

/** No address for the target's name: nothing to INVITE, so the transfer fails as the target would have. */
export const targetUnreachable: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  event,
) => {
  const far = must(context.far, 'far leg');
  const acked = event.status < 300 ? [sip(requestAt(far, 'ACK', far.localCseq))] : [];
  const failure = must(context.targetUnreachable, 'target unreachable');
  return giveUp(context, event.at, failure.status, reasonPhrase(failure.status), acked);
};

export const targetRinging: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }, event) =>
  notify(context, `SIP/2.0 ${event.status} ${event.reason}`, false);

export function cancelTimer(context: Ctx, at: string): Effect[] {
  if (!context.noAnswerTimerId) return [];
  return [
    fact({
      type: 'TimerCanceled',
      callSid: context.callSid,
      transferSid: context.transferSid,
      at,
      timerId: context.noAnswerTimerId,
    }),
  ];
}

/** The target leg as its 2xx established it (To tag, Contact, Record-Route, SDP). */
function answeredDialog(target: LegDialog, event: TransferResponse): LegDialog {
  return {
    ...target,
    remote: { ...target.remote, params: { ...target.remote.params, tag: must(event.remoteTag, 'To tag') } },
    remoteTarget: event.remoteTarget ?? target.remoteTarget,
    routeSet: event.routeSet ?? [],
    ...(event.sdp !== undefined ? { remoteSdp: event.sdp } : {}),
  };
}

/** BYE to the answered target leg, recorded as TargetReleased with why the transfer let it go. */
function releaseTarget(context: Ctx, at: string, why: TargetReleased['why']): [Ctx, Effect[]] {
  const [target, bye] = nextRequest(must(context.target, 'target leg'), 'BYE');
  return [
    { ...context, target },
    [
      sip(bye),
      fact({
        type: 'TargetReleased',
        callSid: context.callSid,
        transferSid: context.transferSid,
        at,
        why,
        targetCallId: target.callId,
      }),
    ],
  ];
}

/**
 * The target answered: the far party is re-INVITEd to it, and the PBX told 200. RFC 3725: the target's
 * 200 carries its offer, which goes to the transferee as is (our origin); the target's 200 is ACKed
 * once the transferee answers (it retransmits its 200 meanwhile, for up to 64*T1). Transfers stored
 * before offered the transferee's SDP to the target: it is ACKed at once and its answer re-offered.
 * The moment of the final NOTIFY is kept: the BYE fallback counts from it.
 */
export const targetAnswered: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }, event) => {
  const target = answeredDialog(must(context.target, 'target leg'), event);
  const offerless = context.offerlessTarget === true;
  const acked = offerless ? [] : [sip(requestAt(target, 'ACK', target.localCseq))];
  const offer = must(event.sdp, 'SDP');
  const [far, reconnect] = reInvite(
    must(context.far, 'far leg'),
    offerless ? offer : withDirection(offer, 'sendrecv'),
  );
  const [notified, notifyEffects] = notify(
    { ...context, target, far, targetAnswered: true, noAnswerTimerId: undefined },
    'SIP/2.0 200 OK',
    true,
  );
  const next = notifyEffects.length > 0 ? { ...notified, finalNotifyAt: event.at } : notified;
  return [next, [...acked, ...cancelTimer(context, event.at), sip(reconnect), ...notifyEffects]];
};

/** Whether the target's 2xx lacks the offer an INVITE without SDP asked for (RFC 3261 §13.2.1). */
export function answeredWithoutOffer(context: TransferContext, event: TransferResponse): boolean {
  return context.offerlessTarget === true && !hasSdp(event.sdp);
}

/**
 * The target answered the offer-less INVITE without an offer: nothing to bridge the transferee to. Its
 * 2xx is ACKed (there is no offer to answer) and BYEd, and the transfer fails with 502 like any target
 * failure: the PBX is told, the far party resumed.
 */
export const targetWithoutOffer: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  event,
) => {
  const answered = answeredDialog(must(context.target, 'target leg'), event);
  const ack = requestAt(answered, 'ACK', answered.localCseq);
  const [target, bye] = nextRequest(answered, 'BYE');
  return giveUp({ ...context, target, targetAnswered: true }, event.at, 502, 'Bad Gateway', [
    sip(ack),
    sip(bye),
  ]);
};

/**
 * The ACK owed to the target's 2xx when the transferee never answered its offer: RFC 3261 §13.2.2.4,
 * an ACK must carry an answer, and a UAC that cannot accept the offer sends a valid answer and then BYE.
 * The answer rejects every stream (port 0, RFC 3264 §6), so no media starts before the BYE. Nothing
 * for transfers stored before, whose target was ACKed when it answered.
 */
function ackUnanswered(context: Ctx): [Ctx, Effect[]] {
  const target = context.target;
  if (!context.offerlessTarget || !target) return [context, []];
  if (!hasSdp(target.remoteSdp)) return [context, [sip(requestAt(target, 'ACK', target.localCseq))]];
  const [rejected, sdp] = outgoingSdp(target, rejectingAnswer(target.remoteSdp));
  return [
    { ...context, target: rejected },
    [sip(requestAt(rejected, 'ACK', rejected.localCseq, { body: sdp }))],
  ];
}

export const transfereeReconnected: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  event,
) => {
  const reconnected = must(context.far, 'far leg');
  const far = event.sdp ? { ...reconnected, remoteSdp: event.sdp } : reconnected;
  const acked: Effect[] = event.status < 300 ? [sip(requestAt(far, 'ACK', far.localCseq))] : [];
  const policy = must(context.policy, 'policy');
  let target = must(context.target, 'target leg');
  if (context.offerlessTarget) {
    // The transferee's answer to the target's offer completes the target's INVITE: its ACK carries it.
    // A 200 without SDP breaks RFC 3264; the target then gets an answer rejecting its streams.
    const answer = hasSdp(event.sdp) ? event.sdp : rejectingAnswer(must(target.remoteSdp, 'target offer'));
    const [answered, sdp] = outgoingSdp(target, answer);
    target = answered;
    acked.push(sip(requestAt(target, 'ACK', target.localCseq, { body: sdp })));
  }
  return [
    { ...context, far, target },
    [
      ...acked,
      fact({
        type: 'TransferCompleted',
        callSid: context.callSid,
        transferSid: context.transferSid,
        at: event.at,
        childCallSid: context.childCallSid,
        customerLeg: must(context.customer, 'customer leg'),
        farLeg: far,
        targetLeg: target,
        targetKind: must(context.targetKind, 'target kind'),
        targetNumber: must(context.targetNumber, 'target number'),
        transfereeNumber: must(context.transfereeNumber, 'transferee number'),
        transferorGone: context.transferorGone,
        byeFallbackSeconds: policy.byeFallbackSeconds,
        ...(context.finalNotifyAt ? { finalNotifyAt: context.finalNotifyAt } : {}),
      }),
    ],
  ];
};

/** RFC 3261 §12.2.1.2: a 481 or 408 to a request inside a dialog means the dialog is gone. */
export function dialogGone(status: number): boolean {
  return status === 481 || status === 408;
}

/**
 * The transferee refused the reconnect (a non-2xx final to the re-INVITE offering the target's SDP).
 * RFC 3261 §14.1: its session stays as it was, on hold with the PBX. The target cannot be bridged, so
 * it is hung up, and the transfer fails with the refusal's status: the far party is resumed to the PBX
 * and the original call goes on (or, with the PBX gone, the call hangs it up). The PBX was already told
 * 200 with a terminated subscription (RFC 6665: no NOTIFY may follow it), so no NOTIFY now: a
 * PBX that follows RFC 5589 hangs up on that 200 and the call ends; one that stays keeps its call. A
 * 481 or 408 means the transferee's dialog is gone: nothing to resume, the call hangs up the PBX.
 */
export const reconnectRefused: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  event,
) => {
  const far = offerWithdrawn(context);
  const [unanswered, ack] = ackUnanswered({ ...context, far });
  const [next, release] = releaseTarget(unanswered, event.at, 'reconnect-refused');
  const bye = [...ack, ...release];
  if (dialogGone(event.status)) {
    const gone = { ...next, transfereeGone: true, failure: { status: event.status, reason: event.reason } };
    return [gone, [...bye, failed(gone, event.at)]];
  }
  return giveUp(next, event.at, event.status, event.reason, bye);
};

export function failed(context: Ctx, at: string): Effect {
  const failure = context.failure ?? { status: 487, reason: reasonPhrase(487) };
  return fact({
    type: 'TransferFailed',
    callSid: context.callSid,
    transferSid: context.transferSid,
    at,
    status: failure.status,
    reason: failure.reason,
    customerLeg: must(context.customer, 'customer leg'),
    farLeg: must(context.far, 'far leg'),
    transferorGone: context.transferorGone,
    transfereeGone: context.transfereeGone,
  });
}

/** Reports the failure to the PBX and takes the far party off hold with the PBX's SDP. */
function giveUp(context: Ctx, at: string, status: number, reason: string, extra: Effect[]): [Ctx, Effect[]] {
  const [notified, notifyEffects] = notify(
    { ...context, failure: { status, reason } },
    `SIP/2.0 ${status} ${reason}`,
    true,
  );
  if (context.transferorGone) {
    // Nobody to resume the far party to: the call machine hangs it up when it gets the legs back.
    return [notified, [...extra, ...cancelTimer(context, at), ...notifyEffects, failed(notified, at)]];
  }
  const [far, resume] = reInvite(
    must(context.far, 'far leg'),
    withDirection(must(context.customerSdp, 'SDP'), 'sendrecv'),
  );
  return [{ ...notified, far }, [...extra, ...cancelTimer(context, at), ...notifyEffects, sip(resume)]];
}

export const targetFailed: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }, event) =>
  giveUp(context, event.at, event.status, event.reason, []);

export const noAnswer: Step<TransferContext, TimerFired> = ({ outbox: _, ...context }, event) => {
  const target = must(context.target, 'target leg');
  const cancel = sip(requestAt(target, 'CANCEL', target.localCseq));
  return giveUp({ ...context, noAnswerTimerId: undefined }, event.at, 408, reasonPhrase(408), [cancel]);
};

export const transfereeResumed: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  event,
) => {
  const far = must(context.far, 'far leg');
  const acked = event.status < 300 ? [sip(requestAt(far, 'ACK', far.localCseq))] : [];
  return [context, [...acked, failed(context, event.at)]];
};

/**
 * A 2xx from the target after the transfer gave up on it (it crossed our CANCEL, or came after an error
 * final from another fork): RFC 3261 §13.2.2.4 and §15, the UAC ACKs it and then BYEs it. Only the
 * target leg is touched; the original call is not disturbed.
 */
export const lateAnswer: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }, event) => {
  const answered = answeredDialog(must(context.target, 'target leg'), event);
  // To an INVITE without SDP the 2xx is an offer, and the ACK must answer it (rejecting its streams).
  const [target, ack] = context.offerlessTarget
    ? ackUnanswered({ ...context, target: answered })
    : [{ ...context, target: answered }, [sip(requestAt(answered, 'ACK', answered.localCseq))]];
  const [next, release] = releaseTarget({ ...target, targetAnswered: true }, event.at, 'late-answer');
  return [next, [...ack, ...release]];
};

export const subscriptionEnded: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }) => [
  { ...context, subscribed: false },
  [],
];

export const transferorHungUp: Step<TransferContext, TransferorHungUp> = (
  { outbox: _, ...context },
  event,
) => [
  {
    ...context,
    ...(context.customer ? { customer: requestReceived(context.customer, event.cseq) } : {}),
    transferorGone: true,
    subscribed: false,
  },
  [sip(response(event.bye, 200, 'OK'))],
];

/** The far party left mid-transfer: stop the target attempt and hand back what is left. */
export const transfereeHungUp =
  (phase: 'holding' | 'inviting' | 'reconnecting' | 'resuming'): Step<TransferContext, TransfereeHungUp> =>
  ({ outbox: _, ...context }, event) => {
    const effects: Effect[] = [sip(response(event.bye, 200, 'OK'))];
    // While resuming, the transfer already failed (and the PBX was told why): keep that status.
    const failure = context.failure ?? { status: 487, reason: reasonPhrase(487) };
    let next: Ctx = {
      ...context,
      ...(context.far ? { far: requestReceived(context.far, event.cseq) } : {}),
      transfereeGone: true,
      failure,
    };
    const target = context.target;
    if (phase === 'inviting' && target) {
      effects.push(sip(requestAt(target, 'CANCEL', target.localCseq)), ...cancelTimer(context, event.at));
    }
    if (phase === 'reconnecting' && target) {
      const [unanswered, ack] = ackUnanswered(next);
      const [released, release] = releaseTarget(unanswered, event.at, 'transferee-hung-up');
      next = released;
      effects.push(...ack, ...release);
    }
    if (phase === 'holding' || phase === 'inviting') {
      const [notified, notifyEffects] = notify(next, 'SIP/2.0 487 Request Terminated', true);
      next = notified;
      effects.push(...notifyEffects);
    }
    return [next, [...effects, failed(next, event.at)]];
  };
