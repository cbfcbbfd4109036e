/**
 * The pure steps of the call machine: each takes the context and the accepted input and returns the
 * next context and the effects. The statechart (call.machine.ts) decides which step runs when.
 */
import {
  keepRemoteCseq,
  type LegDialog,
  type LegName,
  nextRequest,
  outgoingSdp,
  reasonPhrase,
  reInvite,
  requestAt,
  requestReceived,
  response,
} from '../dialog.ts';
import { addSeconds, type Effect, fact, type Step, sip, type WithOutbox } from '../effects.ts';
import type {
  Alternate,
  CallAnswered,
  CallCanceled,
  CallProgress,
  CallReceived,
  CallRejected,
  CallStatus,
  ChildCallStarted,
  Direction,
  HangupReceived,
  ReferAccepted,
  ReferRejected,
  ReInviteAnswered,
  ReInviteReceived,
  TimerFired,
  TransferCompleted,
  TransferFailed,
} from '../events.ts';

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
  };
  byeFallbackTimerId?: string;
  /** Gateways not tried yet for the outbound INVITE, and what that INVITE carried besides its SDP. */
  alternates?: Alternate[];
  inviteExtras?: { headers?: Record<string, string>; maxForwards?: number };
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

function leg(context: Omit<CallContext, 'outbox'>, name: LegName): LegDialog {
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

/** Status a final error response from the callee maps to in the call log. */
export function statusForRejection(status: number): CallStatus {
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480 || status === 487) return 'no-answer';
  return 'failed';
}

function ended(
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
  const inboundLeg = { ...event.inbound, remoteSdp: event.sdp };
  const [invited, sdp] = outgoingSdp(event.outbound, event.sdp);
  const headers = event.outboundHeaders;
  const [outboundLeg, invite] = nextRequest(invited, 'INVITE', {
    body: sdp,
    ...(headers ? { headers } : {}),
  });
  if (event.maxForwards !== undefined) invite.maxForwards = event.maxForwards;
  const context: Omit<CallContext, 'outbox'> = {
    ...emptyCallContext,
    ...(event.alternates && event.alternates.length > 0
      ? {
          alternates: event.alternates,
          inviteExtras: {
            ...(headers ? { headers } : {}),
            ...(event.maxForwards !== undefined ? { maxForwards: event.maxForwards } : {}),
          },
        }
      : {}),
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
  const inbound = leg(context, context.inbound);
  const toTag = inbound.local.params.tag;
  if (event.sdp === undefined) {
    return [context, [sip(response(inbound.pendingInvite!, event.status, event.reason, { toTag }))]];
  }
  const [next, sdp] = outgoingSdp(inbound, event.sdp);
  const reply = response(next.pendingInvite!, event.status, event.reason, { toTag, body: sdp });
  return [{ ...context, legs: { ...context.legs, [context.inbound]: next } }, [sip(reply)]];
};

export const answerCall: Step<CallContext, CallAnswered> = ({ outbox: _, ...context }, event) => {
  const called = leg(context, context.outbound);
  const outboundLeg: LegDialog = {
    ...called,
    remote: { ...called.remote, params: { ...called.remote.params, tag: event.remoteTag } },
    remoteTarget: event.remoteTarget,
    routeSet: event.routeSet,
    remoteSdp: event.sdp,
  };
  const ack = requestAt(outboundLeg, 'ACK', outboundLeg.localCseq);
  const [answered, sdp] = outgoingSdp(leg(context, context.inbound), event.sdp);
  const ok = response(answered.pendingInvite!, 200, 'OK', {
    toTag: answered.local.params.tag,
    contact: answered.contact,
    body: sdp,
  });
  const { pendingInvite: _answered, ...inboundLeg } = answered;
  return [
    {
      ...context,
      status: 'in-progress',
      legs: { ...context.legs, [context.outbound]: outboundLeg, [context.inbound]: inboundLeg },
    },
    [sip(ack), sip(ok)],
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
  };
  const [offered, sdp] = offer ? outgoingSdp(moved, offer) : [moved, undefined];
  const extras = context.inviteExtras ?? {};
  const [outboundLeg, invite] = nextRequest(offered, 'INVITE', {
    ...(sdp !== undefined ? { body: sdp } : {}),
    ...(extras.headers ? { headers: extras.headers } : {}),
  });
  if (extras.maxForwards !== undefined) invite.maxForwards = extras.maxForwards;
  return [
    { ...context, alternates: rest, legs: { ...context.legs, [context.outbound]: outboundLeg } },
    [sip(invite)],
  ];
};

export const rejectCall: Step<CallContext, CallRejected> = ({ outbox: _, ...context }, event) => {
  const inbound = leg(context, context.inbound);
  const status = statusForRejection(event.status);
  const reply = response(inbound.pendingInvite!, event.status, event.reason, {
    toTag: inbound.local.params.tag,
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
      sip(requestAt(outbound, 'CANCEL', outbound.localCseq)),
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
  const ack = requestAt(answered, 'ACK', answered.localCseq);
  const [outboundLeg, bye] = nextRequest(answered, 'BYE');
  return [{ ...context, legs: { ...context.legs, [context.outbound]: outboundLeg } }, [sip(ack), sip(bye)]];
};

/** A BYE on one leg: answer it and hang up the other leg of the bridge. */
export const hangUp: Step<CallContext, HangupReceived> = ({ outbox: _, ...context }, event) => {
  const other = event.leg === context.inbound ? context.outbound : context.inbound;
  const [otherLeg, bye] = nextRequest(leg(context, other), 'BYE');
  const legs = received(context, event.leg, event.cseq);
  return [
    { ...context, status: 'completed', legs: { ...legs, [other]: otherLeg } },
    [sip(response(event.bye, 200, 'OK')), sip(bye), ended(context, event.at, 'completed')],
  ];
};

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
  if (!event.transferorGone && !event.transfereeGone) return [back, []];
  const effects: Effect[] = [];
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
  return [{ ...back, legs, status: 'completed' }, effects];
};

/**
 * The far leg now belongs to the child call; the PBX is expected to hang up, or we do it
 * `byeFallbackSeconds` after the final NOTIFY told it the transfer succeeded (after the completion
 * itself when no NOTIFY was sent). A due time already past fires at once.
 */
export const completeTransfer: Step<CallContext, TransferCompleted> = ({ outbox: _, ...context }, event) => {
  const { far: _handedOff, ...legs } = context.legs;
  const customer = keepRemoteCseq(event.customerLeg, context.legs.customer);
  const next = { ...context, activeTransferSid: undefined, legs: { ...legs, customer } };
  if (event.transferorGone) {
    return [{ ...next, status: 'completed' }, [ended(context, event.at, 'completed')]];
  }
  const timerId = `${context.callSid}:bye-fallback`;
  return [
    { ...next, byeFallbackTimerId: timerId },
    [
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
  const [other, request] = reInvite(leg(context, to), event.sdp);
  return [
    {
      ...context,
      legs: { ...received(context, event.leg, event.cseq), [to]: other },
      relay: { from: event.leg, to, transaction: event.reinvite, sdp: event.sdp },
    },
    [sip(request)],
  ];
};

/** The other leg answered the relayed re-INVITE: ACK it and give the same answer to the asking leg. */
export const answerReInvite: Step<CallContext, ReInviteAnswered> = ({ outbox: _, ...context }, event) => {
  const relay = context.relay!;
  const asked = leg(context, relay.to);
  if (event.status >= 300) {
    return [{ ...context, relay: undefined }, [sip(response(relay.transaction, event.status, event.reason))]];
  }
  const answered = event.sdp ? { ...asked, remoteSdp: event.sdp } : asked;
  const ack = requestAt(answered, 'ACK', answered.localCseq);
  const asking = { ...leg(context, relay.from), remoteSdp: relay.sdp };
  const [replied, sdp] = event.sdp ? outgoingSdp(asking, event.sdp) : [asking, undefined];
  const ok = response(relay.transaction, 200, 'OK', {
    contact: replied.contact,
    ...(sdp !== undefined ? { body: sdp } : {}),
  });
  return [
    { ...context, relay: undefined, legs: { ...context.legs, [relay.to]: answered, [relay.from]: replied } },
    [sip(ack), sip(ok)],
  ];
};
