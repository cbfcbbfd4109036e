/**
 * The replaced call of an attended transfer (docs/decisions/0005-join-across-sessions.md): asked by a
 * transfer of another session, it lends that transfer its far leg, then either ends for its PBX (the
 * far parties were joined: the PBX leg is BYEd, RFC 3891 §3) or takes the leg back as it was.
 */
import { keepRemoteCseq, type LegDialog, nextRequest, requestReceived, response } from '../dialog.ts';
import { type Effect, fact, type Step, sip } from '../effects.ts';
import type { FarLegReturned, HandOverRequested, HangupReceived, ReplacedCallJoined } from '../events.ts';
import { namesDialog } from '../replaces.ts';
import { callOver } from './reapers.ts';
import { scheduleSessionTimer } from './session-timer.ts';
import { type CallContext, ended, leg, stopSessionTimer } from './steps.ts';

type Ctx = Omit<CallContext, 'outbox'>;

/** Whether the Replaces of a hand-over names this call's customer leg (the PBX's dialog). */
export function namesCustomerLeg(context: CallContext, event: HandOverRequested): boolean {
  const customer = context.legs.customer;
  return (
    customer !== undefined &&
    namesDialog(event.replaces, customer.callId, customer.local.params.tag, customer.remote.params.tag)
  );
}

/** Whether a hand-over comes from the transfer the far leg is already lent to (a delivery repeated). */
export function lentToIt(context: CallContext, event: { transferSid: string }): boolean {
  return context.lent?.transferSid === event.transferSid;
}

function farNumber(context: Ctx): string {
  return context.direction === 'trunking-terminating' ? context.to : context.from;
}

/** Who an answer to a hand-over is for: the asking transfer, in its own session. */
function answerTo(context: Ctx, event: HandOverRequested) {
  return {
    callSid: context.callSid,
    at: event.at,
    transferSid: event.transferSid,
    toSessionSid: event.fromSessionSid,
    toCallSid: event.fromCallSid,
  };
}

/** The far leg handed over, with the PBX's last SDP (what the far party was last offered). */
function handedOver(context: Ctx, event: HandOverRequested, farLeg: LegDialog): Effect {
  const customerSdp = context.legs.customer?.remoteSdp;
  return fact({
    type: 'FarLegHandedOver',
    ...answerTo(context, event),
    farLeg,
    farNumber: farNumber(context),
    ...(customerSdp ? { customerSdp } : {}),
  });
}

/** The far leg goes to the asking transfer; its requests are forwarded there from now on. */
export const lendFarLeg: Step<CallContext, HandOverRequested> = ({ outbox: _, ...context }, event) => {
  const far = leg(context, 'far');
  const { far: _lent, ...legs } = context.legs;
  return [
    {
      ...context,
      legs,
      lent: {
        transferSid: event.transferSid,
        toSessionSid: event.fromSessionSid,
        toCallSid: event.fromCallSid,
        legId: far.legId,
        callId: far.callId,
        farLeg: far,
      },
    },
    [handedOver(context, event, far)],
  ];
};

/**
 * The same hand-over delivered again (the asking session may not have heard the first answer before a
 * restart): the answer is given again, and the asking transfer takes it once.
 */
export const lentAgain: Step<CallContext, HandOverRequested> = ({ outbox: _, ...context }, event) => [
  context,
  [handedOver(context, event, context.lent?.farLeg ?? leg(context, 'far'))],
];

/** A hand-over this call cannot give: why, for the asking transfer to tell its PBX. */
export const refuseHandOver: Step<CallContext, HandOverRequested> = ({ outbox: _, ...context }, event) => {
  const [status, reason] = !namesCustomerLeg({ ...context, outbox: [] }, event)
    ? [481, 'Replaces names no dialog of the replaced call']
    : context.status === 'ringing'
      ? [403, 'the Replaces dialog is early: the replaced call is not answered']
      : context.lent
        ? [491, 'the replaced call already lent its far leg to another transfer']
        : [491, 'the replaced call is busy (a re-INVITE or a transfer is under way)'];
  return [context, [fact({ type: 'HandOverRefused', ...answerTo(context, event), status, reason })]];
};

/** The PBX hung up while its far leg is lent: answered; the join goes on, and nobody is BYEd for it later. */
export const customerLeftWhileLent: Step<CallContext, HangupReceived> = (
  { outbox: _, ...context },
  event,
) => {
  const customer = context.legs.customer;
  return [
    {
      ...context,
      customerGone: true,
      legs: customer ? { ...context.legs, customer: requestReceived(customer, event.cseq) } : context.legs,
    },
    [sip(response(event.bye, 200, 'OK'))],
  ];
};

/**
 * The far parties were joined: this call ends for its PBX, whose leg is BYEd unless it left already. Its
 * timers go with it (the joined call has its own limit).
 */
export const joinedElsewhere: Step<CallContext, ReplacedCallJoined> = ({ outbox: _, ...context }, event) => {
  const effects: Effect[] = [...stopSessionTimer(context, event.at)];
  let next: Ctx = { ...context, status: 'completed', sessionTimer: undefined };
  if (!context.customerGone) {
    const [customer, bye] = nextRequest(leg(context, 'customer'), 'BYE');
    next = { ...next, legs: { ...next.legs, customer } };
    effects.push(sip(bye));
  }
  const [over, cancels] = callOver(next, event);
  return [over, [...effects, ...cancels, ended(context, event.at, 'completed')]];
};

/**
 * The join failed and the far leg comes back with the CSeqs the transfer used. With both parties still
 * there the call goes on as it was; the session timer, whose refreshes the call could not take while the
 * leg was lent (nor its firing end the call), gives the refresher a whole interval again from now, as
 * after a failed transfer. With the PBX gone the far party is hung up; with the far party gone (it hung
 * up during the join, its BYE answered there) the PBX is. The call then ends and its timers with it.
 */
export const farLegBack: Step<CallContext, FarLegReturned> = ({ outbox: _, ...context }, event) => {
  const far = keepRemoteCseq(event.farLeg, context.legs.far);
  const back: Ctx = { ...context, lent: undefined, legs: { ...context.legs, far } };
  if (!context.customerGone && !event.farPartyGone) {
    if (!context.sessionTimer) return [back, []];
    const { leg: refresher, seconds } = context.sessionTimer;
    const [sessionTimer, rearmed] = scheduleSessionTimer(
      context.callSid,
      context.sessionTimer,
      refresher,
      seconds,
      event.at,
    );
    return [{ ...back, sessionTimer }, rearmed];
  }
  let legs = back.legs;
  const byes: Effect[] = [];
  if (!event.farPartyGone) {
    const [byed, bye] = nextRequest(far, 'BYE');
    legs = { ...legs, far: byed };
    byes.push(sip(bye));
  }
  if (!context.customerGone) {
    const [customer, bye] = nextRequest(leg(context, 'customer'), 'BYE');
    legs = { ...legs, customer };
    byes.push(sip(bye));
  }
  const [over, cancels] = callOver({ ...back, status: 'completed', sessionTimer: undefined, legs }, event);
  return [
    over,
    [...byes, ...stopSessionTimer(context, event.at), ...cancels, ended(context, event.at, 'completed')],
  ];
};
