/**
 * The steps of an attended transfer whose Replaces dialog is another call through the pivot
 * (docs/architecture.md "Attended transfer", docs/decisions/0005-join-across-sessions.md). The replaced
 * call lends its far leg to this transfer; the two far parties are re-INVITEd toward each other per
 * RFC 3725 (the replaced far party without SDP, its offer to our far party, the answer in its ACK), and
 * the replaced call is told how the join ended (JoinEnded), to end for its PBX or take its leg back.
 */
import {
  type LegDialog,
  nextRequest,
  outgoingSdp,
  reasonPhrase,
  reInvite,
  requestAt,
  requestReceived,
  response,
} from '../dialog.ts';
import { type Effect, fact, type Step, sip } from '../effects.ts';
import type {
  ReferReceived,
  ReplacedCallHandedOver,
  ReplacedCallRefused,
  TargetHungUp,
  TimerFired,
  TransfereeHungUp,
  TransferResponse,
} from '../events.ts';
import { hasSdp, rejectingAnswer } from '../sdp.ts';
import type { TransferContext } from './context.ts';
import {
  cancelTimer,
  failed,
  must,
  notify,
  numberFor,
  offerWithdrawn,
  scheduleNoAnswer,
  transfereeReconnected,
} from './steps.ts';

type Ctx = Omit<TransferContext, 'outbox'>;

/** 202, NOTIFY 100 Trying, and the replaced call's session asked for its far leg. No hold: the PBX held it. */
export const acceptJoin: Step<TransferContext, ReferReceived> = ({ outbox: _, ...context }, event) => {
  const customer = must(context.customer, 'customer leg');
  const far = must(context.far, 'far leg');
  const replaced = must(event.replaced, 'replaced call');
  const replaces = must(event.replaces, 'Replaces');
  const next: Ctx = {
    ...context,
    customer: requestReceived(customer, event.cseq),
    policy: event.policy,
    referredBy: event.referredBy,
    subscribed: event.referSub,
    eventHeader: context.transfersAccepted > 0 ? `refer;id=${event.cseq}` : 'refer',
    targetKind: 'pstn',
    transfereeNumber: numberFor(context, 'transferee'),
    customerSdp: customer.remoteSdp,
    transfereeSdp: far.remoteSdp,
    offerlessTarget: true,
    join: { sessionSid: replaced.sessionSid, callSid: replaced.callSid, handedOver: false },
  };
  const ids = { callSid: context.callSid, transferSid: context.transferSid, at: event.at };
  const effects: Effect[] = [
    sip(response(event.refer, 202, 'Accepted', event.referSub ? {} : { headers: { 'Refer-Sub': 'false' } })),
    fact({
      type: 'ReferAccepted',
      ...ids,
      referTo: event.referTo[0] ?? '',
      targetKind: 'pstn',
      referSub: event.referSub,
      ...(event.referredBy ? { referredBy: event.referredBy } : {}),
    }),
  ];
  const [notified, notifyEffects] = notify(next, 'SIP/2.0 100 Trying', false);
  return [
    notified,
    [
      ...effects,
      ...notifyEffects,
      fact({
        type: 'JoinRequested',
        ...ids,
        replacedSessionSid: replaced.sessionSid,
        replacedCallSid: replaced.callSid,
        replaces,
      }),
    ],
  ];
};

/**
 * The replaced call lent its far leg: it is re-INVITEd without SDP, so its 200 brings a fresh offer. The
 * join waits for that answer no longer than a target may ring (`no-answer`): both calls are held while it
 * waits, and a far party that never answers must not keep them so.
 */
export const handedOver: Step<TransferContext, ReplacedCallHandedOver> = (
  { outbox: _, ...context },
  event,
) => {
  const join = must(context.join, 'join');
  const [target, reinvite] = nextRequest(event.farLeg, 'INVITE');
  const noAnswer = scheduleNoAnswer(context, event.at);
  return [
    {
      ...context,
      target,
      targetNumber: event.farNumber,
      noAnswerTimerId: noAnswer.timerId,
      join: { ...join, handedOver: true, ...(event.customerSdp ? { customerSdp: event.customerSdp } : {}) },
    },
    [sip(reinvite), noAnswer.effect],
  ];
};

/** The replaced far party did not answer the join's re-INVITE in time: CANCELed, and the join fails 408. */
export const joinNoAnswer: Step<TransferContext, TimerFired> = ({ outbox: _, ...context }, event) => {
  const target = must(context.target, 'target leg');
  const cancel = sip(requestAt(target, 'CANCEL', target.localCseq));
  return fail({ ...context, noAnswerTimerId: undefined }, event.at, 408, reasonPhrase(408), [cancel]);
};

/** The replaced call kept its far leg: the PBX is told why; this call was not touched and goes on. */
export const handOverRefused: Step<TransferContext, ReplacedCallRefused> = (
  { outbox: _, ...context },
  event,
) => fail(context, event.at, event.status, event.reason, []);

/**
 * The replaced far party answered with its offer: our far party is re-INVITEd with it, and the PBX told
 * 200. A re-INVITE's 2xx keeps the dialog's route set (RFC 3261 §12.2.1.2); its Contact may move the
 * remote target.
 */
export const joinAnswered: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }, event) => {
  const sent = must(context.target, 'target leg');
  const target: LegDialog = {
    ...sent,
    remoteTarget: event.remoteTarget ?? sent.remoteTarget,
    remoteSdp: must(event.sdp, 'SDP'),
  };
  const [far, reconnect] = reInvite(must(context.far, 'far leg'), must(event.sdp, 'SDP'));
  const [notified, notifyEffects] = notify(
    { ...context, target, far, targetAnswered: true },
    'SIP/2.0 200 OK',
    true,
  );
  const answeredAt = notifyEffects.length > 0 ? { ...notified, finalNotifyAt: event.at } : notified;
  return [
    { ...answeredAt, noAnswerTimerId: undefined },
    [...cancelTimer(context, event.at), sip(reconnect), ...notifyEffects],
  ];
};

/** Whether the replaced far party's 2xx lacks the offer our re-INVITE without SDP asked for. */
export function joinAnsweredWithoutOffer(event: TransferResponse): boolean {
  return event.status >= 200 && event.status < 300 && !hasSdp(event.sdp);
}

/**
 * The replaced far party refused the re-INVITE: RFC 3261 §14.1, its session stays as it was. Nothing was
 * changed on either call: the PBX is told the failure, and both calls go on as they were.
 */
export const joinRefused: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }, event) =>
  fail(context, event.at, event.status, event.reason, []);

/** Both far parties answered: both ACKed (the replaced one with our far party's answer), the join told. */
export const joined: Step<TransferContext, TransferResponse> = (context, event) => {
  const [next, effects] = transfereeReconnected(context, event);
  const join = must(context.join, 'join');
  const completed = effects.map((effect) =>
    effect.kind === 'fact' && effect.event.type === 'TransferCompleted'
      ? fact({ ...effect.event, joinedCallSid: join.callSid })
      : effect,
  );
  return [
    next,
    [
      ...completed,
      fact({
        type: 'JoinEnded',
        callSid: context.callSid,
        transferSid: context.transferSid,
        at: event.at,
        replacedSessionSid: join.sessionSid,
        replacedCallSid: join.callSid,
        outcome: 'joined',
        childCallSid: context.childCallSid,
        status: 200,
        reason: 'OK',
      }),
    ],
  ];
};

/**
 * Our far party refused the offer (or left): its session stays as it was (on hold with the PBX). The
 * replaced far party's 2xx carried an offer; its ACK answers it with the PBX's SDP on that call, which
 * restores the session it had. The PBX already had the final NOTIFY (200) when the offer went out.
 */
export const joinReconnectRefused: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  event,
) => {
  const far = offerWithdrawn(context);
  return fail({ ...context, far }, event.at, event.status, event.reason, []);
};

/** Our far party hung up while it was being joined: the replaced far party is restored and given back. */
export const joinTransfereeHungUp: Step<TransferContext, TransfereeHungUp> = (
  { outbox: _, ...context },
  event,
) => {
  const far = context.far ? requestReceived(context.far, event.cseq) : context.far;
  const gone: Ctx = { ...context, far, transfereeGone: true };
  return fail(gone, event.at, 487, 'Request Terminated', [sip(response(event.bye, 200, 'OK'))]);
};

/** The ACK a replaced far party's offer is owed: the PBX's SDP on that call, restoring its session. */
function ackRestoring(context: Ctx): [Ctx, Effect[]] {
  const target = context.target;
  if (!target || !context.targetAnswered) return [context, []];
  if (!hasSdp(target.remoteSdp)) return [context, [sip(requestAt(target, 'ACK', target.localCseq))]];
  const restore = context.join?.customerSdp ?? rejectingAnswer(target.remoteSdp);
  const [answered, sdp] = outgoingSdp(target, restore);
  return [
    { ...context, target: answered },
    [sip(requestAt(answered, 'ACK', answered.localCseq, { body: sdp }))],
  ];
}

/** The join failed: the PBX is told (while subscribed), the legs go back to the call, the far leg home. */
function fail(context: Ctx, at: string, status: number, reason: string, extra: Effect[]): [Ctx, Effect[]] {
  const stopped = cancelTimer(context, at);
  const [acked, ack] = ackRestoring({ ...context, noAnswerTimerId: undefined });
  const [notified, notifyEffects] = notify(
    { ...acked, failure: { status, reason } },
    `SIP/2.0 ${status} ${reason}`,
    true,
  );
  return [
    notified,
    [
      ...extra,
      ...stopped,
      ...ack,
      ...notifyEffects,
      failed(notified, at),
      ...returned(notified, at, status, reason),
    ],
  ];
}

/** JoinEnded `returned` for a far leg this transfer holds (none before the hand-over). */
function returned(context: Ctx, at: string, status: number, reason: string): Effect[] {
  const join = context.join;
  if (!join?.handedOver || !context.target) return [];
  return [
    fact({
      type: 'JoinEnded',
      callSid: context.callSid,
      transferSid: context.transferSid,
      at,
      replacedSessionSid: join.sessionSid,
      replacedCallSid: join.callSid,
      outcome: 'returned',
      farLeg: context.target,
      status,
      reason,
      ...(context.targetGone ? { farPartyGone: true as const } : {}),
    }),
  ];
}

/** A far leg lent after this transfer had already failed (its far party left): given straight back. */
export const giveBackUnused: Step<TransferContext, ReplacedCallHandedOver> = (
  { outbox: _, ...context },
  event,
) => {
  const join = must(context.join, 'join');
  const next: Ctx = { ...context, target: event.farLeg, join: { ...join, handedOver: true } };
  const failure = context.failure ?? { status: 487, reason: 'Request Terminated' };
  return [next, returned(next, event.at, failure.status, failure.reason)];
};

/** Our far party hung up before the replaced far party answered: its answer is restored then. */
export const markTransfereeGone: Step<TransferContext, TransfereeHungUp> = (
  { outbox: _, ...context },
  event,
) => [
  {
    ...context,
    ...(context.far ? { far: requestReceived(context.far, event.cseq) } : {}),
    transfereeGone: true,
  },
  [sip(response(event.bye, 200, 'OK'))],
];

/**
 * The replaced far party answered, but there is nothing to join it to: our far party left meanwhile
 * (487), or its 2xx lacks the offer our re-INVITE asked for (502). Its offer is answered with the PBX's
 * SDP on that call, restoring its session, and the leg goes back.
 */
export const joinAnsweredUnusable: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  event,
) => {
  const sent = must(context.target, 'target leg');
  const target: LegDialog = {
    ...sent,
    remoteTarget: event.remoteTarget ?? sent.remoteTarget,
    ...(event.sdp !== undefined ? { remoteSdp: event.sdp } : {}),
  };
  const [status, reason] = context.transfereeGone ? [487, 'Request Terminated'] : [502, 'Bad Gateway'];
  return fail({ ...context, target, targetAnswered: true }, event.at, status, reason, []);
};

/** The BYE of the replaced far party, answered; its dialog's remote CSeq recorded. */
function targetLeft(context: Ctx, event: TargetHungUp): [Ctx, Effect] {
  const target = context.target ? requestReceived(context.target, event.cseq) : context.target;
  return [{ ...context, target, targetGone: true }, sip(response(event.bye, 200, 'OK'))];
}

/**
 * The replaced far party hung up before answering the join's re-INVITE (RFC 3261 §15.1.2: that re-INVITE
 * gets 487). Nothing was changed on our far party (the PBX still holds it): the PBX is told 487 and gets
 * its call back, and the replaced call gets its leg back, to end for its PBX (`farPartyGone`).
 */
export const joinTargetHungUp: Step<TransferContext, TargetHungUp> = ({ outbox: _, ...context }, event) => {
  const [left, ok] = targetLeft(context, event);
  return fail(left, event.at, 487, reasonPhrase(487), [ok]);
};

/**
 * The replaced far party hung up after answering, while our far party is being offered its SDP: the BYE
 * is answered, and what becomes of our far party is decided when it answers (joinTargetGoneAnswered).
 * The final NOTIFY (200) has gone already, so the PBX is told nothing more (RFC 6665).
 */
export const markTargetGone: Step<TransferContext, TargetHungUp> = ({ outbox: _, ...context }, event) => {
  const [left, ok] = targetLeft(context, event);
  return [left, [ok]];
};

/**
 * Our far party accepted the offer of a far party that has hung up meanwhile: its 2xx is ACKed, and there
 * is nobody to join it to. With the PBX still there it is re-INVITEd with the PBX's SDP, back on hold
 * with the PBX as before the REFER (`resuming`, then the call goes on with the PBX); with the PBX gone,
 * the call hangs it up when the transfer hands the legs back. Either way the replaced call gets its leg
 * back, to end for its PBX.
 */
export const joinTargetGoneAnswered: Step<TransferContext, TransferResponse> = (
  { outbox: _, ...context },
  event,
) => {
  const reconnected = must(context.far, 'far leg');
  const far = event.sdp ? { ...reconnected, remoteSdp: event.sdp } : reconnected;
  const ack = sip(requestAt(far, 'ACK', far.localCseq));
  const [acked, restored] = ackRestoring({ ...context, far });
  const status = 487;
  const next: Ctx = { ...acked, failure: { status, reason: reasonPhrase(status) } };
  const back = returned(next, event.at, status, reasonPhrase(status));
  if (context.transferorGone) return [next, [ack, ...restored, failed(next, event.at), ...back]];
  const [resumed, resume] = reInvite(far, must(context.customerSdp, 'customer SDP'));
  return [{ ...next, far: resumed }, [ack, ...restored, sip(resume), ...back]];
};
