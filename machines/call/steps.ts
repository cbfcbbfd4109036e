/**
 * The pure steps of the call machine: each takes the context and the accepted input and returns the
 * next context and the effects. The statechart (call.machine.ts) decides which step runs when.
 */

import type { SendRequestCommand } from '../../src/shared/messages.ts';
import { PRACKING_INVITE_SUPPORTED_HEADER } from '../../src/shared/sipCapabilities.ts';
import {
  keepRemoteCseq,
  type LegDialog,
  type LegName,
  nextRequest,
  offerlessReInvite,
  outgoingSdp,
  reasonPhrase,
  reInvite,
  reInviteWithCredentials,
  requestAt,
  requestReceived,
  response,
} from '../dialog.ts';
import { addSeconds, type Effect, fact, type Step, sip, type WithOutbox } from '../effects.ts';
import type {
  Alternate,
  CallAcked,
  CallAnswered,
  CallCanceled,
  CallProgress,
  CallReceived,
  CallRejected,
  CallStatus,
  ChildCallStarted,
  Direction,
  HangupReceived,
  InfoAnswered,
  InfoReceived,
  ReferAccepted,
  ReferRejected,
  ReInviteAnswered,
  ReInviteReceived,
  TimerFired,
  TransferCompleted,
  TransferFailed,
  UpdateAnswered,
  UpdateReceived,
} from '../events.ts';
import { hasSdp, rejectingAnswer } from '../sdp.ts';
import type { ReaperState } from './reapers.ts';
import {
  cancelSessionTimer,
  type SessionTimer,
  scheduleSessionTimer,
  sessionTimerHeaders,
} from './session-timer.ts';

export interface CallContext extends WithOutbox {
  callSid: string;
  parentCallSid?: string;
  trunkSid: string;
  trunkName: string;
  direction: Direction;
  from: string;
  to: string;
  status: CallStatus;
  legs: Partial<Record<LegName, LegDialog>>;
  /** The leg that called us and the leg we called. */
  inbound: LegName;
  outbound: LegName;
  /** REFERs accepted so far on this call (maxTransfersPerCall counts them). */
  transfersAccepted: number;
  activeTransferSid?: string;
  /** The re-INVITE being relayed: the leg it came from and its transaction, answered when the other leg answers. */
  relay?: {
    from: LegName;
    to: LegName;
    transaction: { adapterId: string; transactionKey: string };
    sdp: string;
    /** The re-INVITE made no offer: the other leg's 2xx will (RFC 3261 §14.1). */
    offerless?: boolean;
    /** The re-INVITE's CSeq: its ACK carries it. */
    cseq?: number;
    /** The session interval the re-INVITE asked for (RFC 4028 refresh): its 2xx grants it. */
    sessionExpires?: number;
  };
  /**
   * A 2xx that carried an offer relayed from the other leg (delayed offer, RFC 3261 §13.2.1 and §14): the
   * ACK of leg `from` (its INVITE had CSeq `cseq`) brings the answer; the 2xx of leg `to`, which made
   * the offer, is ACKed with that answer only then.
   */
  awaitingAck?: {
    from: LegName;
    to: LegName;
    offer: string;
    cseq?: number;
    /** The CSeq of the offering leg's INVITE, when PRACKs moved that leg's CSeq past it. */
    toCseq?: number;
  };
  /**
   * The 2xx to the INVITE of leg `leg` (CSeq `cseq`) awaits its plain ACK, which brings no answer but
   * proves the caller has the dialog (RFC 3261 §13.3.1.4); the ACK timeout runs meanwhile.
   */
  unacked?: { leg: LegName; cseq?: number };
  /** The call was placed without SDP (delayed offer): every 2xx to its INVITE carries an offer. */
  delayedOffer?: boolean;
  byeFallbackTimerId?: string;
  /**
   * INFOs relayed and not answered yet (several may be in flight): each is sent on leg `to` at CSeq
   * `cseq`, and its final response goes back on `transaction`, the INFO of leg `from`.
   */
  infos?: RelayedInfo[];
  /**
   * The UPDATE offer being relayed (RFC 3311): sent on leg `to`; its answer goes back on `transaction`,
   * the UPDATE of leg `from`, whose offer was `sdp`.
   */
  update?: {
    from: LegName;
    to: LegName;
    transaction: { adapterId: string; transactionKey: string };
    sdp: string;
    /** Our UPDATE's CSeq on leg `to`. */
    cseq: number;
    sessionExpires?: number;
  };
  /** The session interval the caller's INVITE asked for (RFC 4028), granted in the 2xx to it. */
  sessionExpires?: number;
  /** The running session timer: the dialog of `leg` is taken for dead when it fires. */
  sessionTimer?: SessionTimer;
  /**
   * The CSeq of our INVITE on the outbound leg once PRACKs (RFC 3262) moved that leg's CSeq past it:
   * its ACK and CANCEL carry it. Absent while no PRACK was sent.
   */
  outboundInviteCseq?: number;
  /** The last RSeq PRACKed per early dialog (the callee's To tag) of the outbound INVITE. */
  prackedRseq?: Record<string, number>;
  /**
   * The caller required 100rel: it gets no provisional response but 100 (RFC 3262 §3 lets a UAS send
   * none). Sending them reliably, with RSeq and waiting for its PRACKs, is not done yet.
   */
  withholdProvisionals?: boolean;
  /** Gateways not tried yet for the outbound INVITE, and what that INVITE carried besides its SDP. */
  alternates?: Alternate[];
  inviteExtras?: { headers?: Record<string, string>; maxForwards?: number };
  /** The outbound INVITE was sent again with credentials: another challenge ends the call. */
  inviteAuthorized?: true;
  /** Reaper limits and timers (reapers.ts); absent for calls stored before them and child calls. */
  reapers?: ReaperState;
  /**
   * The far leg lent to an attended transfer of another session (lending.ts): requests and responses
   * on it belong to that session from then on, also after this call ended.
   */
  lent?: {
    transferSid: string;
    toSessionSid: string;
    toCallSid: string;
    legId: string;
    callId: string;
    /** The far leg as it was lent (a repeated hand-over is answered with it). */
    farLeg: LegDialog;
  };
  /** A leg being replaced by an INVITE with Replaces (replacing.ts): which, and its old dialog. */
  replacing?: { leg: LegName; old: LegDialog };
  /** The PBX hung up while the far leg was lent. */
  customerGone?: boolean;
}

export interface RelayedInfo {
  from: LegName;
  to: LegName;
  cseq: number;
  transaction: { adapterId: string; transactionKey: string };
}

export const emptyCallContext: CallContext = {
  callSid: '',
  trunkSid: '',
  trunkName: '',
  direction: 'trunking-terminating',
  from: '',
  to: '',
  status: 'ringing',
  legs: {},
  inbound: 'customer',
  outbound: 'far',
  transfersAccepted: 0,
  outbox: [],
};

/** The CSeq of our INVITE on the outbound leg: what its ACK and CANCEL carry. */
function outboundInviteCseq(context: Omit<CallContext, 'outbox'>): number {
  return context.outboundInviteCseq ?? leg(context, context.outbound).localCseq;
}

export function leg(context: Omit<CallContext, 'outbox'>, name: LegName): LegDialog {
  const dialog = context.legs[name];
  if (!dialog) throw new Error(`call ${context.callSid} has no ${name} leg`);
  return dialog;
}

/**
 * The legs after the peer of `name` sent a request at `cseq` that the call accepted: its dialog's remote
 * CSeq (RFC 3261 §12.2.2) follows. A leg the call does not hold is left alone.
 */
function received(
  context: Omit<CallContext, 'outbox'>,
  name: LegName,
  cseq: number | undefined,
): CallContext['legs'] {
  const dialog = context.legs[name];
  return dialog ? { ...context.legs, [name]: requestReceived(dialog, cseq) } : context.legs;
}

/** Why one leg ended (RFC 3326 Reason, e.g. a Q.850 cause), told to the other leg as it was said. */
function reasonHeaders(event: { reasonHeader?: string }): { headers?: Record<string, string> } {
  return event.reasonHeader ? { headers: { Reason: event.reasonHeader } } : {};
}

/** Status a final error response from the callee maps to in the call log. */
export function statusForRejection(status: number): CallStatus {
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480 || status === 487) return 'no-answer';
  return 'failed';
}

export function ended(
  context: Omit<CallContext, 'outbox'>,
  at: string,
  status: CallStatus,
  sipStatus?: number,
): Effect {
  return fact({
    type: 'CallEnded',
    callSid: context.callSid,
    at,
    status,
    ...(sipStatus ? { sipStatus } : {}),
  });
}

export const receiveCall: Step<CallContext, CallReceived> = (_context, event) => {
  const inbound: LegName = event.customerLeg === 'inbound' ? 'customer' : 'far';
  const outbound: LegName = inbound === 'customer' ? 'far' : 'customer';
  // A delayed offer (no SDP in the INVITE) goes on as one: the callee's 2xx will carry the offer.
  const offered = event.delayedOffer !== true;
  const inboundLeg = offered ? { ...event.inbound, remoteSdp: event.sdp } : event.inbound;
  const [invited, sdp] = offered ? outgoingSdp(event.outbound, event.sdp) : [event.outbound, undefined];
  const headers = withPrackSupport(event.outboundHeaders);
  const [outboundLeg, invite] = nextRequest(invited, 'INVITE', {
    ...(sdp === undefined ? {} : { body: sdp }),
    ...(headers ? { headers } : {}),
  });
  if (event.maxForwards !== undefined) invite.maxForwards = event.maxForwards;
  const context: Omit<CallContext, 'outbox'> = {
    ...emptyCallContext,
    ...(event.alternates && event.alternates.length > 0 ? { alternates: event.alternates } : {}),
    // Kept for an INVITE sent again: to the next gateway, or with credentials after a challenge.
    inviteExtras: {
      ...(headers ? { headers } : {}),
      ...(event.maxForwards !== undefined ? { maxForwards: event.maxForwards } : {}),
    },
    callSid: event.callSid,
    trunkSid: event.trunkSid,
    trunkName: event.trunkName,
    direction: event.direction,
    from: event.from,
    to: event.to,
    status: 'ringing',
    legs: { [inbound]: inboundLeg, [outbound]: outboundLeg },
    inbound,
    outbound,
    ...(offered ? {} : { delayedOffer: true }),
    ...(event.sessionExpires !== undefined ? { sessionExpires: event.sessionExpires } : {}),
    ...(event.requires100rel ? { withholdProvisionals: true } : {}),
  };
  const pending = inboundLeg.pendingInvite!;
  return [context, [sip(response(pending, 100, 'Trying')), sip(invite)]];
};

export const startChildCall: Step<CallContext, ChildCallStarted> = (_context, event) => [
  {
    ...emptyCallContext,
    callSid: event.callSid,
    parentCallSid: event.parentCallSid,
    trunkSid: event.trunkSid,
    trunkName: event.trunkName,
    direction: event.direction,
    from: event.from,
    to: event.to,
    status: 'in-progress',
    legs: { far: event.farLeg, target: event.targetLeg },
    inbound: 'far',
    outbound: 'target',
  },
  [],
];

export const relayProgress: Step<CallContext, CallProgress> = ({ outbox: _, ...context }, event) => {
  const [pracked, prack] = prackFor(context, event);
  const effects: Effect[] = prack ? [sip(prack)] : [];
  if (context.withholdProvisionals) return [pracked, effects];
  const inbound = leg(pracked, pracked.inbound);
  const toTag = inbound.local.params.tag;
  if (event.sdp === undefined) {
    return [
      pracked,
      [...effects, sip(response(inbound.pendingInvite!, event.status, event.reason, { toTag }))],
    ];
  }
  const [next, sdp] = outgoingSdp(inbound, event.sdp);
  const reply = response(next.pendingInvite!, event.status, event.reason, { toTag, body: sdp });
  return [{ ...pracked, legs: { ...pracked.legs, [pracked.inbound]: next } }, [...effects, sip(reply)]];
};

/**
 * A reliable provisional response (RFC 3262: `Require: 100rel` and an RSeq) is PRACKed: a new request
 * in the early dialog it set up (its To tag, Contact and Record-Route), at the outbound leg's next CSeq,
 * with `RAck: <RSeq> <INVITE CSeq> INVITE` (§7.2). The leg keeps its INVITE addressing (a CANCEL must
 * match the INVITE), only its CSeq moves on. A retransmission of a PRACKed RSeq is not PRACKed again.
 */
function prackFor(
  context: Omit<CallContext, 'outbox'>,
  event: CallProgress,
): [Omit<CallContext, 'outbox'>, SendRequestCommand | undefined] {
  const tag = event.remoteTag;
  if (event.rseq === undefined || tag === undefined) return [context, undefined];
  if ((context.prackedRseq?.[tag] ?? -1) >= event.rseq) return [context, undefined];
  const called = leg(context, context.outbound);
  const inviteCseq = outboundInviteCseq(context);
  const early: LegDialog = {
    ...called,
    remote: { ...called.remote, params: { ...called.remote.params, tag } },
    remoteTarget: event.remoteTarget ?? called.remoteTarget,
    routeSet: event.routeSet ?? [],
  };
  const [sent, prack] = nextRequest(early, 'PRACK', {
    headers: { RAck: `${event.rseq} ${inviteCseq} INVITE` },
  });
  return [
    {
      ...context,
      outboundInviteCseq: inviteCseq,
      prackedRseq: { ...context.prackedRseq, [tag]: event.rseq },
      legs: { ...context.legs, [context.outbound]: { ...called, localCseq: sent.localCseq } },
    },
    prack,
  ];
}

/** Whether a provisional response was PRACKed already (a retransmission of its reliable response). */
export function alreadyPracked(context: CallContext, event: CallProgress): boolean {
  const tag = event.remoteTag;
  return event.rseq !== undefined && tag !== undefined && (context.prackedRseq?.[tag] ?? -1) >= event.rseq;
}

/**
 * `Supported` on the call's INVITEs: ours with 100rel, since the call PRACKs reliable provisionals
 * (RFC 3262 §4). Set here rather than by the adapter because the other INVITEs the pivot sends (to a
 * transfer target, re-INVITEs) do not PRACK yet.
 */
function withPrackSupport(headers: Record<string, string> | undefined): Record<string, string> {
  return { ...headers, Supported: PRACKING_INVITE_SUPPORTED_HEADER };
}

/** The called leg as its 2xx established it (To tag, Contact, Record-Route, SDP). */
function answeredOutbound(context: Omit<CallContext, 'outbox'>, event: CallAnswered): LegDialog {
  const called = leg(context, context.outbound);
  return {
    ...called,
    remote: { ...called.remote, params: { ...called.remote.params, tag: event.remoteTag } },
    remoteTarget: event.remoteTarget,
    routeSet: event.routeSet,
    remoteSdp: event.sdp,
  };
}

export const answerCall: Step<CallContext, CallAnswered> = ({ outbox: _, ...context }, event) => {
  const outboundLeg = answeredOutbound(context, event);
  const caller = leg(context, context.inbound);
  const [answered, sdp] = outgoingSdp(caller, event.sdp);
  const granted = context.sessionExpires;
  const ok = response(answered.pendingInvite!, 200, 'OK', {
    toTag: answered.local.params.tag,
    contact: answered.contact,
    body: sdp,
    ...(granted !== undefined ? { headers: sessionTimerHeaders(granted) } : {}),
  });
  const { pendingInvite: _answered, ...inboundLeg } = answered;
  const [sessionTimer, timerEffects] =
    granted !== undefined
      ? scheduleSessionTimer(context.callSid, undefined, context.inbound, granted, event.at)
      : [undefined, []];
  const next: Omit<CallContext, 'outbox'> = {
    ...context,
    status: 'in-progress',
    legs: { ...context.legs, [context.outbound]: outboundLeg, [context.inbound]: inboundLeg },
    ...(sessionTimer ? { sessionTimer } : {}),
  };
  if (context.delayedOffer) {
    // Delayed offer: the callee's 2xx is the offer, our 200 relays it, the caller's ACK brings the
    // answer, and only that answer can go in the ACK the callee waits for (it retransmits its 2xx).
    const awaitingAck = {
      from: context.inbound,
      to: context.outbound,
      offer: event.sdp,
      ...(caller.remoteCseq !== undefined ? { cseq: caller.remoteCseq } : {}),
      ...(context.outboundInviteCseq !== undefined ? { toCseq: context.outboundInviteCseq } : {}),
    };
    return [{ ...next, awaitingAck }, [sip(ok), ...timerEffects]];
  }
  const ack = requestAt(outboundLeg, 'ACK', outboundInviteCseq(context));
  return [next, [sip(ack), sip(ok), ...timerEffects]];
};

/** Whether the call was placed with a delayed offer: the callee's 2xx must bring the offer. */
export function delayedOffer(context: CallContext): boolean {
  return context.delayedOffer === true;
}

/** A delayed offer answered by a 2xx without SDP: RFC 3261 §13.2.1 requires the offer in that 2xx. */
export function answeredWithoutOffer(context: CallContext, event: CallAnswered): boolean {
  return delayedOffer(context) && !hasSdp(event.sdp);
}

/**
 * The callee answered our offer-less INVITE without an offer: no session can be set up between the two.
 * Its 2xx is ACKed (there is no offer to answer) and BYEd at once, and the caller, whose INVITE is still
 * pending, gets 502: the next hop broke the offer/answer rules.
 */
export const answerWithoutOffer: Step<CallContext, CallAnswered> = ({ outbox: _, ...context }, event) => {
  const called = answeredOutbound(context, event);
  const ack = requestAt(called, 'ACK', outboundInviteCseq(context));
  const [outboundLeg, bye] = nextRequest(called, 'BYE');
  const caller = leg(context, context.inbound);
  const why = "the callee's 200 to an INVITE without SDP carried no offer (RFC 3261 §13.2.1)";
  const reply = response(caller.pendingInvite!, 502, reasonPhrase(502), {
    toTag: caller.local.params.tag,
    headers: { Warning: `399 sip-pivot "${why}"` },
  });
  return [
    { ...context, status: 'failed', legs: { ...context.legs, [context.outbound]: outboundLeg } },
    [
      sip(ack),
      sip(bye),
      sip(reply),
      fact({
        type: 'CallEnded',
        callSid: context.callSid,
        at: event.at,
        status: 'failed',
        sipStatus: 502,
        why,
      }),
    ],
  ];
};

/** Whether the ACK brought the answer to the relayed offer; a confirmed call then goes on as usual. */
export function ackHasAnswer(event: CallAcked): boolean {
  return hasSdp(event.sdp);
}

/** The caller's ACK brought the answer: it goes in the ACK of the 2xx that made the offer. */
export const confirmCall: Step<CallContext, CallAcked> = ({ outbox: _, ...context }, event) => {
  const waiting = context.awaitingAck!;
  const asking = { ...leg(context, waiting.from), remoteSdp: event.sdp! };
  const [offering, sdp] = outgoingSdp(leg(context, waiting.to), event.sdp!);
  const ack = requestAt(offering, 'ACK', waiting.toCseq ?? offering.localCseq, { body: sdp });
  return [
    {
      ...context,
      awaitingAck: undefined,
      legs: { ...context.legs, [waiting.from]: asking, [waiting.to]: offering },
    },
    [sip(ack)],
  ];
};

/**
 * The callee challenged the INVITE (401/407) and the engine had credentials: the same INVITE again, in a
 * new transaction (next CSeq, same dialog identifiers and destination), carrying them (RFC 3261 §22.2).
 */
export const authenticateInvite: Step<CallContext, CallRejected> = ({ outbox: _, ...context }, event) => {
  const authorization = event.authorization!;
  const offer = leg(context, context.inbound).remoteSdp;
  const outbound = leg(context, context.outbound);
  const [offered, sdp] = offer ? outgoingSdp(outbound, offer) : [outbound, undefined];
  const extras = context.inviteExtras ?? {};
  const [outboundLeg, invite] = nextRequest(offered, 'INVITE', {
    ...(sdp !== undefined ? { body: sdp } : {}),
    headers: { ...extras.headers, [authorization.header]: authorization.value },
  });
  if (extras.maxForwards !== undefined) invite.maxForwards = extras.maxForwards;
  return [
    {
      ...context,
      inviteAuthorized: true,
      outboundInviteCseq: undefined,
      prackedRseq: undefined,
      legs: { ...context.legs, [context.outbound]: outboundLeg },
    },
    [sip(invite)],
  ];
};

/**
 * The gateway refused the INVITE for overload or never answered: offer the call to the next gateway in
 * a new INVITE transaction (same dialog identifiers, next CSeq), with the same offer and headers.
 */
export const failOver: Step<CallContext, CallRejected> = ({ outbox: _, ...context }, _event) => {
  const [next, ...rest] = context.alternates ?? [];
  if (!next) throw new Error(`call ${context.callSid} has no gateway left`);
  const offer = leg(context, context.inbound).remoteSdp;
  const moved: LegDialog = {
    ...leg(context, context.outbound),
    remote: { uri: next.uri, params: {} },
    remoteTarget: next.uri,
    destination: next.destination,
    ...(next.contact ? { contact: next.contact } : {}),
  };
  const [offered, sdp] = offer ? outgoingSdp(moved, offer) : [moved, undefined];
  const extras = context.inviteExtras ?? {};
  const [outboundLeg, invite] = nextRequest(offered, 'INVITE', {
    ...(sdp !== undefined ? { body: sdp } : {}),
    ...(extras.headers ? { headers: extras.headers } : {}),
  });
  if (extras.maxForwards !== undefined) invite.maxForwards = extras.maxForwards;
  return [
    {
      ...context,
      alternates: rest,
      // Another gateway may challenge on its own account.
      inviteAuthorized: undefined,
      outboundInviteCseq: undefined,
      prackedRseq: undefined,
      legs: { ...context.legs, [context.outbound]: outboundLeg },
    },
    [sip(invite)],
  ];
};

/**
 * The ACK that should carry the answer did not (RFC 3261 §13.2.2.4 and RFC 3264 §4: an offer in a 2xx
 * must be answered in the ACK). There is no session to keep: the offering leg's 2xx still gets the ACK it
 * is owed, with an answer rejecting every stream (an ACK must carry an answer), and both legs are hung up.
 */
export const ackWithoutAnswer: Step<CallContext, CallAcked> = ({ outbox: _, ...context }, event) => {
  const waiting = context.awaitingAck!;
  const [offering, rejected] = outgoingSdp(leg(context, waiting.to), rejectingAnswer(waiting.offer));
  const ack = requestAt(offering, 'ACK', waiting.toCseq ?? offering.localCseq, { body: rejected });
  const [offeringGone, byeOffering] = nextRequest(offering, 'BYE');
  const [askingGone, byeAsking] = nextRequest(leg(context, waiting.from), 'BYE');
  return [
    {
      ...context,
      awaitingAck: undefined,
      status: 'failed',
      legs: { ...context.legs, [waiting.to]: offeringGone, [waiting.from]: askingGone },
    },
    [
      sip(ack),
      sip(byeOffering),
      sip(byeAsking),
      fact({
        type: 'CallEnded',
        callSid: context.callSid,
        at: event.at,
        status: 'failed',
        why: `the ACK on the ${waiting.from} leg carried no answer to the offer in our 200 (RFC 3261 §13.2.2.4)`,
      }),
    ],
  ];
};

/**
 * A BYE while the pivot waits for the ACK with the answer: the other leg is hung up as usual, and if it
 * is the leg whose 2xx made the offer, that 2xx is first ACKed with an answer rejecting its streams (RFC
 * 3261 §13.2.2.4: ACK, then BYE).
 */
export const hangUpUnconfirmed: Step<CallContext, HangupReceived> = (context, event) => {
  const waiting = context.awaitingAck!;
  const other = event.leg === context.inbound ? context.outbound : context.inbound;
  const effects: Effect[] = [];
  let legs = context.legs;
  if (other === waiting.to) {
    const [offering, rejected] = outgoingSdp(leg(context, waiting.to), rejectingAnswer(waiting.offer));
    effects.push(sip(requestAt(offering, 'ACK', waiting.toCseq ?? offering.localCseq, { body: rejected })));
    legs = { ...legs, [waiting.to]: offering };
  }
  const [next, hungUp] = hangUp({ ...context, legs, awaitingAck: undefined }, event);
  return [next, [...effects, ...hungUp]];
};

export const rejectCall: Step<CallContext, CallRejected> = ({ outbox: _, ...context }, event) => {
  const inbound = leg(context, context.inbound);
  const status = statusForRejection(event.status);
  const reply = response(inbound.pendingInvite!, event.status, event.reason, {
    toTag: inbound.local.params.tag,
    ...reasonHeaders(event),
  });
  return [{ ...context, status }, [sip(reply), ended(context, event.at, status, event.status)]];
};

export const cancelCall: Step<CallContext, CallCanceled> = ({ outbox: _, ...context }, event) => {
  const inbound = leg(context, context.inbound);
  const outbound = leg(context, context.outbound);
  return [
    { ...context, status: 'canceled' },
    [
      sip(response(event.cancel, 200, 'OK')),
      sip(response(inbound.pendingInvite!, 487, reasonPhrase(487), { toTag: inbound.local.params.tag })),
      sip(requestAt(outbound, 'CANCEL', outboundInviteCseq(context), reasonHeaders(event))),
      ended(context, event.at, 'canceled', 487),
    ],
  ];
};

/** The callee's final error after our CANCEL (normally 487): nothing left to do, the call is logged. */
export const canceled: Step<CallContext, CallRejected> = ({ outbox: _, ...context }) => [context, []];

/** A 200 that crossed our CANCEL (RFC 3261 §15): ACK it and hang the callee up at once. */
export const lateAnswer: Step<CallContext, CallAnswered> = ({ outbox: _, ...context }, event) => {
  const called = leg(context, context.outbound);
  const answered: LegDialog = {
    ...called,
    remote: { ...called.remote, params: { ...called.remote.params, tag: event.remoteTag } },
    remoteTarget: event.remoteTarget,
    routeSet: event.routeSet,
    remoteSdp: event.sdp,
  };
  const ack = requestAt(answered, 'ACK', outboundInviteCseq(context));
  const [outboundLeg, bye] = nextRequest(answered, 'BYE');
  return [{ ...context, legs: { ...context.legs, [context.outbound]: outboundLeg } }, [sip(ack), sip(bye)]];
};

/** A BYE on one leg: answer it and hang up the other leg of the bridge. */
export const hangUp: Step<CallContext, HangupReceived> = ({ outbox: _, ...context }, event) => {
  const other = event.leg === context.inbound ? context.outbound : context.inbound;
  const [otherLeg, bye] = nextRequest(leg(context, other), 'BYE', reasonHeaders(event));
  const legs = received(context, event.leg, event.cseq);
  return [
    {
      ...context,
      status: 'completed',
      infos: undefined,
      update: undefined,
      legs: { ...legs, [other]: otherLeg },
    },
    [
      sip(response(event.bye, 200, 'OK')),
      sip(bye),
      ...abandonPending(context),
      ...stopSessionTimer(context, event.at),
      ended(context, event.at, 'completed'),
    ],
  ];
};

/**
 * INFOs and an UPDATE still waiting for the other leg's answer when the call ends: that answer will
 * never be taken, so they are answered 481 now (the dialog is going away) rather than left to time out.
 */
function abandonPending(context: Omit<CallContext, 'outbox'>): Effect[] {
  const pending = [...(context.infos ?? []).map((info) => info.transaction)];
  if (context.update) pending.push(context.update.transaction);
  return pending.map((transaction) => sip(response(transaction, 481, reasonPhrase(481))));
}

/** The session timer is of no use once the call ends. */
export function stopSessionTimer(context: Omit<CallContext, 'outbox'>, at: string): Effect[] {
  return context.sessionTimer ? [cancelSessionTimer(context.callSid, context.sessionTimer, at)] : [];
}

/**
 * A REFER on one of the call's legs was refused: the call still records it in that leg's dialog (its
 * CSeq is the leg's remote CSeq now). While a transfer runs this copy of the leg may be ahead of the
 * transfer's; the hand-back keeps the higher remote CSeq.
 */
export const referRefused: Step<CallContext, ReferRejected> = ({ outbox: _, ...context }, event) => [
  event.leg ? { ...context, legs: received(context, event.leg, event.cseq) } : context,
  [],
];

export const startTransfer: Step<CallContext, ReferAccepted> = ({ outbox: _, ...context }, event) => [
  { ...context, activeTransferSid: event.transferSid, transfersAccepted: context.transfersAccepted + 1 },
  [],
];

/**
 * The transfer hands the legs back with their CSeqs advanced. Whoever is still there stays connected;
 * a bridge with one party gone is hung up.
 */
export const failTransfer: Step<CallContext, TransferFailed> = ({ outbox: _, ...context }, event) => {
  const back = {
    ...context,
    activeTransferSid: undefined,
    legs: {
      ...context.legs,
      customer: keepRemoteCseq(event.customerLeg, context.legs.customer),
      far: keepRemoteCseq(event.farLeg, context.legs.far),
    },
  };
  if (!event.transferorGone && !event.transfereeGone) {
    if (!context.sessionTimer) return [back, []];
    // The refresher's re-INVITEs got 491 while the transfer ran, and a timer due meanwhile could not
    // end a call the transfer owned: the refresher gets a whole interval again from now.
    const { leg: refresher, seconds } = context.sessionTimer;
    const [sessionTimer, timerEffects] = scheduleSessionTimer(
      context.callSid,
      context.sessionTimer,
      refresher,
      seconds,
      event.at,
    );
    return [{ ...back, sessionTimer }, timerEffects];
  }
  const effects: Effect[] = [...stopSessionTimer(context, event.at)];
  let legs = back.legs;
  if (!event.transferorGone) {
    const [customer, bye] = nextRequest(back.legs.customer, 'BYE');
    legs = { ...legs, customer };
    effects.push(sip(bye));
  }
  if (!event.transfereeGone) {
    const [far, bye] = nextRequest(back.legs.far, 'BYE');
    legs = { ...legs, far };
    effects.push(sip(bye));
  }
  effects.push(ended(context, event.at, 'completed'));
  return [{ ...back, legs, status: 'completed', sessionTimer: undefined }, effects];
};

/**
 * The far leg now belongs to the child call; the PBX is expected to hang up, or we do it
 * `byeFallbackSeconds` after the final NOTIFY told it the transfer succeeded (after the completion
 * itself when no NOTIFY was sent). A due time already past fires at once.
 */
export const completeTransfer: Step<CallContext, TransferCompleted> = ({ outbox: _, ...context }, event) => {
  const { far: _handedOff, ...legs } = context.legs;
  const customer = keepRemoteCseq(event.customerLeg, context.legs.customer);
  // The session the timer watched is no longer this call's: the far party is bridged to the target.
  const stopped = stopSessionTimer(context, event.at);
  const next = {
    ...context,
    activeTransferSid: undefined,
    sessionTimer: undefined,
    legs: { ...legs, customer },
  };
  if (event.transferorGone) {
    return [{ ...next, status: 'completed' }, [...stopped, ended(context, event.at, 'completed')]];
  }
  const timerId = `${context.callSid}:bye-fallback`;
  return [
    { ...next, byeFallbackTimerId: timerId },
    [
      ...stopped,
      fact({
        type: 'TimerScheduled',
        callSid: context.callSid,
        at: event.at,
        timerId,
        name: 'bye-fallback',
        dueAt: addSeconds(event.finalNotifyAt ?? event.at, event.byeFallbackSeconds),
      }),
    ],
  ];
};

export const transferorLeft: Step<CallContext, HangupReceived> = ({ outbox: _, ...context }, event) => {
  const legs = received(context, event.leg, event.cseq);
  const effects: Effect[] = [sip(response(event.bye, 200, 'OK'))];
  if (context.byeFallbackTimerId) {
    effects.push(
      fact({
        type: 'TimerCanceled',
        callSid: context.callSid,
        at: event.at,
        timerId: context.byeFallbackTimerId,
      }),
    );
  }
  effects.push(ended(context, event.at, 'completed'));
  return [{ ...context, status: 'completed', legs }, effects];
};

export const byeFallback: Step<CallContext, TimerFired> = ({ outbox: _, ...context }, event) => {
  const [customer, bye] = nextRequest(leg(context, 'customer'), 'BYE');
  return [
    { ...context, status: 'completed', legs: { ...context.legs, customer } },
    [sip(bye), ended(context, event.at, 'completed')],
  ];
};

/** A re-INVITE on one leg (hold, resume, new codec): offered to the other leg with our SDP origin. */
export const relayReInvite: Step<CallContext, ReInviteReceived> = ({ outbox: _, ...context }, event) => {
  const to = event.leg === context.inbound ? context.outbound : context.inbound;
  // A re-INVITE without SDP asks the other leg for an offer (RFC 3261 §14.1): relayed without one too.
  // Either way the request is remembered, so a challenge to it is met with credentials.
  const [other, request] = event.offerless
    ? offerlessReInvite(leg(context, to))
    : reInvite(leg(context, to), event.sdp);
  return [
    {
      ...context,
      legs: { ...received(context, event.leg, event.cseq), [to]: other },
      relay: {
        from: event.leg,
        to,
        transaction: event.reinvite,
        sdp: event.sdp,
        ...(event.offerless ? { offerless: true } : {}),
        ...(event.cseq !== undefined ? { cseq: event.cseq } : {}),
        ...(event.sessionExpires !== undefined ? { sessionExpires: event.sessionExpires } : {}),
      },
    },
    [sip(request)],
  ];
};

/** The other leg answered the relayed re-INVITE: ACK it and give the same answer to the asking leg. */
/** The relayed re-INVITE, challenged by the other leg's peer, once more with the engine's credentials. */
export const authenticateRelay: Step<CallContext, ReInviteAnswered> = ({ outbox: _, ...context }, event) => {
  const relay = context.relay;
  if (!relay || !event.authorization) throw new Error(`call ${context.callSid} has no relayed re-INVITE`);
  const [to, invite] = reInviteWithCredentials(leg(context, relay.to), event.authorization);
  return [{ ...context, legs: { ...context.legs, [relay.to]: to } }, [sip(invite)]];
};

export const answerReInvite: Step<CallContext, ReInviteAnswered> = ({ outbox: _, ...context }, event) => {
  const relay = context.relay!;
  const asked = leg(context, relay.to);
  if (event.status >= 300) {
    return [{ ...context, relay: undefined }, [sip(response(relay.transaction, event.status, event.reason))]];
  }
  const answered = event.sdp ? { ...asked, remoteSdp: event.sdp } : asked;
  const offerless = relay.offerless === true;
  const current = leg(context, relay.from);
  const asking = offerless ? current : { ...current, remoteSdp: relay.sdp };
  const [replied, sdp] = event.sdp ? outgoingSdp(asking, event.sdp) : [asking, undefined];
  const ok = response(relay.transaction, 200, 'OK', {
    contact: replied.contact,
    ...(sdp !== undefined ? { body: sdp } : {}),
    ...(relay.sessionExpires !== undefined ? { headers: sessionTimerHeaders(relay.sessionExpires) } : {}),
  });
  const legs = { ...context.legs, [relay.to]: answered, [relay.from]: replied };
  const [refreshed, timerEffects] = sessionRefreshed(context, relay.from, relay.sessionExpires, event.at);
  const next = { ...context, relay: undefined, legs, sessionTimer: refreshed };
  if (offerless && hasSdp(event.sdp)) {
    // The other leg's 2xx is the offer; the asking leg's ACK will bring the answer its ACK needs.
    const awaitingAck = {
      from: relay.from,
      to: relay.to,
      offer: event.sdp,
      ...(relay.cseq !== undefined ? { cseq: relay.cseq } : {}),
    };
    return [{ ...next, awaitingAck }, [sip(ok), ...timerEffects]];
  }
  const ack = requestAt(answered, 'ACK', answered.localCseq);
  return [next, [sip(ack), sip(ok), ...timerEffects]];
};

/**
 * The session timer after leg `from`'s session refresh (a re-INVITE or UPDATE) got a 2xx at `at` (RFC
 * 4028 §10): one that asked for an interval makes `from` the refresher with that interval, from now. One
 * that asked for none from the refresher turns the timer off (§9: its 2xx carried no Session-Expires, so
 * the peer no longer refreshes and the pivot must not expire the call); from the other leg it is no refresh.
 */
export function sessionRefreshed(
  context: Omit<CallContext, 'outbox'>,
  from: LegName,
  seconds: number | undefined,
  at: string,
): [SessionTimer | undefined, Effect[]] {
  const current = context.sessionTimer;
  if (seconds !== undefined) return scheduleSessionTimer(context.callSid, current, from, seconds, at);
  if (current?.leg === from) return [undefined, [cancelSessionTimer(context.callSid, current, at)]];
  return [current, []];
}

/** Whether a timer that fired is the call's running session timer (not one a refresh replaced). */
export function isSessionTimer(context: CallContext, event: TimerFired): boolean {
  return event.name === 'session-expires' && context.sessionTimer?.timerId === event.timerId;
}

/**
 * No refresh came from the refresher within the session interval (RFC 4028 §10): its dialog is taken for
 * dead. Both legs get a BYE (the other party is still there and must be released too) and the call ends.
 */
export const sessionExpired: Step<CallContext, TimerFired> = ({ outbox: _, ...context }, event) => {
  const timer = context.sessionTimer!;
  const [inbound, byeInbound] = nextRequest(leg(context, context.inbound), 'BYE');
  const [outbound, byeOutbound] = nextRequest(leg(context, context.outbound), 'BYE');
  return [
    {
      ...context,
      status: 'completed',
      sessionTimer: undefined,
      infos: undefined,
      update: undefined,
      legs: { ...context.legs, [context.inbound]: inbound, [context.outbound]: outbound },
    },
    [
      sip(byeInbound),
      sip(byeOutbound),
      ...abandonPending(context),
      fact({
        type: 'CallEnded',
        callSid: context.callSid,
        at: event.at,
        status: 'completed',
        why: `session expired: no refresh from the ${timer.leg} leg within ${timer.seconds} s (RFC 4028 §10)`,
      }),
    ],
  ];
};

/** Whether the relayed answer to an offer-less re-INVITE is an offer the asking leg must answer in its ACK. */
export function answerIsOffer(context: CallContext, event: ReInviteAnswered): boolean {
  return event.status < 300 && context.relay?.offerless === true && hasSdp(event.sdp);
}

/**
 * An INFO on one leg (DTMF, RFC 6086) goes to the other leg as a new request of that dialog (its next
 * CSeq), with the same body and Content-Type; the asking leg waits for the other leg's final response.
 */
export const relayInfo: Step<CallContext, InfoReceived> = ({ outbox: _, ...context }, event) => {
  const to = event.leg === context.inbound ? context.outbound : context.inbound;
  const headers = event.infoPackage !== undefined ? { 'Info-Package': event.infoPackage } : undefined;
  const [other, info] = nextRequest(leg(context, to), 'INFO', {
    ...(event.body ? { body: event.body, contentType: event.contentType ?? 'application/octet-stream' } : {}),
    ...(headers ? { headers } : {}),
  });
  const relayed: RelayedInfo = { from: event.leg, to, cseq: other.localCseq, transaction: event.info };
  return [
    {
      ...context,
      legs: { ...received(context, event.leg, event.cseq), [to]: other },
      infos: [...(context.infos ?? []), relayed],
    },
    [sip(info)],
  ];
};

/** The relayed INFO this final response answers, if the call still waits for it. */
export function relayedInfo(context: CallContext, event: InfoAnswered): RelayedInfo | undefined {
  return context.infos?.find((info) => info.to === event.leg && info.cseq === event.cseq);
}

/** The other leg's final response to a relayed INFO goes back to the asking leg, status and reason. */
export const answerInfo: Step<CallContext, InfoAnswered> = ({ outbox: _, ...context }, event) => {
  const answered = relayedInfo({ ...context, outbox: [] }, event)!;
  const infos = context.infos!.filter((info) => info !== answered);
  return [
    { ...context, infos: infos.length > 0 ? infos : undefined },
    [sip(response(answered.transaction, event.status, event.reason))],
  ];
};

/**
 * An UPDATE with SDP is an offer (RFC 3311 §5.1): sent on to the other leg as an UPDATE of that dialog
 * with our origin, like a relayed re-INVITE; the other leg's answer comes back in the 2xx.
 */
export const relayUpdate: Step<CallContext, UpdateReceived> = ({ outbox: _, ...context }, event) => {
  const to = event.leg === context.inbound ? context.outbound : context.inbound;
  const [offering, sdp] = outgoingSdp(leg(context, to), event.sdp!);
  const [other, update] = nextRequest(offering, 'UPDATE', { body: sdp });
  return [
    {
      ...context,
      legs: { ...received(context, event.leg, event.cseq), [to]: other },
      update: {
        from: event.leg,
        to,
        transaction: event.update,
        sdp: event.sdp!,
        cseq: other.localCseq,
        ...(event.sessionExpires !== undefined ? { sessionExpires: event.sessionExpires } : {}),
      },
    },
    [sip(update)],
  ];
};

/** The other leg answered the relayed UPDATE: its answer goes back rewritten with our origin. */
export const answerUpdate: Step<CallContext, UpdateAnswered> = ({ outbox: _, ...context }, event) => {
  const pending = context.update!;
  if (event.status >= 300 || !event.sdp) {
    // A 2xx without the answer breaks RFC 3311 §5.2; the asking leg is told the offer failed.
    const [status, reason] = event.status >= 300 ? [event.status, event.reason] : [502, reasonPhrase(502)];
    return [{ ...context, update: undefined }, [sip(response(pending.transaction, status, reason))]];
  }
  const answered = { ...leg(context, pending.to), remoteSdp: event.sdp };
  const [asking, sdp] = outgoingSdp({ ...leg(context, pending.from), remoteSdp: pending.sdp }, event.sdp);
  const ok = response(pending.transaction, 200, 'OK', {
    contact: asking.contact,
    body: sdp,
    ...(pending.sessionExpires !== undefined ? { headers: sessionTimerHeaders(pending.sessionExpires) } : {}),
  });
  const [sessionTimer, timerEffects] = sessionRefreshed(
    context,
    pending.from,
    pending.sessionExpires,
    event.at,
  );
  return [
    {
      ...context,
      update: undefined,
      sessionTimer,
      legs: { ...context.legs, [pending.to]: answered, [pending.from]: asking },
    },
    [sip(ok), ...timerEffects],
  ];
};

/**
 * An UPDATE without SDP changes no session: it is a session refresh (RFC 4028 §7.4, §10), answered
 * 200 here (the other leg has its own refreshes to make, if any) and counted as one.
 */
export const refreshByUpdate: Step<CallContext, UpdateReceived> = ({ outbox: _, ...context }, event) => {
  const current = leg(context, event.leg);
  const ok = response(event.update, 200, 'OK', {
    contact: current.contact,
    ...(event.sessionExpires !== undefined ? { headers: sessionTimerHeaders(event.sessionExpires) } : {}),
  });
  const [sessionTimer, timerEffects] = sessionRefreshed(context, event.leg, event.sessionExpires, event.at);
  return [
    { ...context, sessionTimer, legs: received(context, event.leg, event.cseq) },
    [sip(ok), ...timerEffects],
  ];
};

/** Whether an UPDATE carries an offer (SDP) rather than being a bare refresh. */
export function updateHasOffer(event: UpdateReceived): boolean {
  return hasSdp(event.sdp);
}
