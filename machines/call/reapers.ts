/**
 * Reapers: durable timers that end what no peer will finish (the way `bye-fallback` ends a handed-off
 * call whose PBX never hangs up). A call received with `reapers` limits gets:
 *
 * - Timer C (RFC 3261 §16.6 step 11) while its outbound INVITE has no final response: the INVITE is
 *   CANCELed and the caller answered 408. The call then waits in `canceling` for the callee's 487, or
 *   ACKs and BYEs a 200 that crossed the CANCEL (RFC 3261 §15).
 * - An ACK timeout while the pivot waits for the ACK of a 2xx: after 64*T1 the session is over
 *   (RFC 3261 §13.3.1.4) and both legs are BYEd. For a 2xx that relayed an offer, the offering leg's
 *   2xx is first ACKed with an answer refusing its streams (an ACK must carry the answer). For an
 *   ordinary call (limits with `plainAck`) the 2xx to the caller's INVITE awaits its ACK too, whatever
 *   the call does meanwhile; while a transfer or a relayed offer holds the legs the timeout waits for
 *   it, like the call limit.
 * - The trunk's `maxCallSeconds` from the answer: both legs are BYEd. A transfer or a re-INVITE in
 *   flight owns the legs, so the limit waits for it, a short while at a time.
 *
 * A child call (the far party bridged to the transfer target) gets only the call limit, its parent's
 * `maxCallSeconds` counted afresh from the child call's start (the parent's own limit was canceled when
 * it handed its legs off); it is carried in the ChildCallStarted.
 *
 * Calls stored without `reapers` (before the pivot had them) schedule nothing and fold as they did.
 * Every timer is canceled when what it waits for happens, so no pending timer outlives its call.
 */
import {
  type LegDialog,
  type LegName,
  nextRequest,
  outgoingSdp,
  reasonPhrase,
  requestAt,
  response,
} from '../dialog.ts';
import { addSeconds, type Effect, fact, type Step, sip } from '../effects.ts';
import type { CallAcked, CallReceived, ChildCallStarted, Reapers, TimerFired } from '../events.ts';
import { rejectingAnswer } from '../sdp.ts';
import type { CallContext } from './steps.ts';

/** The limits of a call and the ids of its reaper timers while they are scheduled. */
export interface ReaperState {
  /** A child call has only `maxCallSeconds`. */
  limits: Partial<Reapers>;
  timerC?: string;
  ackTimeout?: string;
  maxCall?: string;
}

/** While a transfer or a relayed re-INVITE holds the legs, the call limit is looked at again this soon. */
export const MAX_CALL_DEFER_SECONDS = 30;

type Context = Omit<CallContext, 'outbox'>;
type Adjust<E> = (context: Context, event: E) => [Context, Effect[]];

/** A step followed by a reaper adjustment of its result. */
export function followedBy<E>(step: Step<CallContext, E>, adjust: Adjust<E>): Step<CallContext, E> {
  return (context, event) => {
    const [next, effects] = step(context, event);
    const [adjusted, more] = adjust(next, event);
    return [adjusted, [...effects, ...more]];
  };
}

function scheduled(
  context: Context,
  at: string,
  name: TimerFired['name'],
  timerId: string,
  seconds: number,
): Effect {
  return fact({
    type: 'TimerScheduled',
    callSid: context.callSid,
    at,
    timerId,
    name,
    dueAt: addSeconds(at, seconds),
  });
}

function canceled(context: Context, at: string, timerId: string): Effect {
  return fact({ type: 'TimerCanceled', callSid: context.callSid, at, timerId });
}

type Slot = 'timerC' | 'ackTimeout' | 'maxCall';

/** Cancels the reaper timers in `slots` that are scheduled. */
function cancelSlots(context: Context, at: string, slots: Slot[]): [Context, Effect[]] {
  const reapers = context.reapers;
  if (!reapers) return [context, []];
  const effects: Effect[] = [];
  const next: ReaperState = { ...reapers };
  for (const slot of slots) {
    const timerId = reapers[slot];
    if (timerId === undefined) continue;
    effects.push(canceled(context, at, timerId));
    delete next[slot];
  }
  return [{ ...context, reapers: next }, effects];
}

const ALL: Slot[] = ['timerC', 'ackTimeout', 'maxCall'];

/** After the call received: Timer C runs until the outbound INVITE has a final response. */
export const armTimerC: Adjust<CallReceived> = (context, event) => {
  if (!event.reapers) return [context, []];
  const timerC = `${context.callSid}:timer-c`;
  return [
    { ...context, reapers: { limits: event.reapers, timerC } },
    [scheduled(context, event.at, 'timer-c', timerC, event.reapers.timerCSeconds)],
  ];
};

/**
 * After a 2xx relaying an offer (or, with `plainAck`, the 2xx to the caller's INVITE): the asking
 * leg's ACK must come within the ACK timeout. A new offer relayed before the first ACK came replaces
 * that wait: the peer went on using the dialog.
 */
export const armAckTimeout: Adjust<{ at: string }> = (context, event) => {
  const waiting = context.awaitingAck
    ? { leg: context.awaitingAck.from, cseq: context.awaitingAck.cseq }
    : context.unacked;
  const seconds = context.reapers?.limits.ackTimeoutSeconds;
  if (seconds === undefined || !waiting) return [context, []];
  const [previous, cancels] = context.awaitingAck
    ? cancelSlots({ ...context, unacked: undefined }, event.at, ['ackTimeout'])
    : [context, []];
  const reapers = previous.reapers!;
  const ackTimeout = `${context.callSid}:ack-timeout:${waiting.leg}:${waiting.cseq ?? event.at}`;
  return [
    { ...previous, reapers: { ...reapers, ackTimeout } },
    [...cancels, scheduled(context, event.at, 'ack-timeout', ackTimeout, seconds)],
  ];
};

/** With `plainAck`, the 2xx just sent to the caller's INVITE awaits its ACK even if it needs no answer. */
function awaitPlainAck(context: Context): Context {
  if (!context.reapers?.limits.plainAck || context.awaitingAck || context.status !== 'in-progress') {
    return context;
  }
  const cseq = context.legs[context.inbound]?.remoteCseq;
  return { ...context, unacked: { leg: context.inbound, ...(cseq !== undefined ? { cseq } : {}) } };
}

/** The callee answered: Timer C is done, the call limit starts, and an ACK may be awaited. */
export const answered: Adjust<{ at: string }> = (context, event) => {
  const [stopped, cancels] = cancelSlots(context, event.at, ['timerC']);
  const [waiting, ackTimer] = armAckTimeout(awaitPlainAck(stopped), event);
  const limit = waiting.reapers?.limits.maxCallSeconds;
  if (!waiting.reapers || limit === undefined || waiting.status !== 'in-progress') {
    return [waiting, [...cancels, ...ackTimer]];
  }
  const maxCall = `${context.callSid}:max-call`;
  return [
    { ...waiting, reapers: { ...waiting.reapers, maxCall } },
    [...cancels, ...ackTimer, scheduled(context, event.at, 'max-call', maxCall, limit)],
  ];
};

/** A child call started with a limit: it ends when that limit is reached, like its parent would have. */
export const armChildLimit: Adjust<ChildCallStarted> = (context, event) => {
  if (event.maxCallSeconds === undefined) return [context, []];
  const maxCall = `${context.callSid}:max-call`;
  return [
    { ...context, reapers: { limits: { maxCallSeconds: event.maxCallSeconds }, maxCall } },
    [scheduled(context, event.at, 'max-call', maxCall, event.maxCallSeconds)],
  ];
};

/** The outbound INVITE has a final response other than a 2xx, or the caller canceled. */
export const leftRinging: Adjust<{ at: string }> = (context, event) =>
  cancelSlots(context, event.at, ['timerC']);

/** The awaited ACK arrived. */
export const ackArrived: Adjust<{ at: string }> = (context, event) =>
  cancelSlots(context, event.at, ['ackTimeout']);

/** Whether an ACK is the one the 2xx to the caller's INVITE awaits (the first; it is stored once). */
export function isPlainAck(context: CallContext, event: CallAcked): boolean {
  const waiting = context.unacked;
  return waiting?.leg === event.leg && (waiting.cseq === undefined || waiting.cseq === event.cseq);
}

/** The plain ACK arrived: the caller has the dialog, the ACK timeout stops. Nothing goes on the wire. */
export const plainAckArrived: Step<CallContext, CallAcked> = ({ outbox: _, ...context }, event) =>
  cancelSlots({ ...context, unacked: undefined }, event.at, ['ackTimeout']);

/** The call ended or left the pivot's hands (handed off): nothing is left to reap. */
export const callOver: Adjust<{ at: string }> = (context, event) =>
  cancelSlots({ ...context, unacked: undefined }, event.at, ALL);

function leg(context: Context, name: LegName): LegDialog {
  const dialog = context.legs[name];
  if (!dialog) throw new Error(`call ${context.callSid} has no ${name} leg`);
  return dialog;
}

/** Timer C fired: CANCEL the outbound INVITE and give up on the caller's with 408. */
export const timerCExpired: Step<CallContext, TimerFired> = ({ outbox: _, ...context }, event) => {
  const outbound = leg(context, context.outbound);
  const inbound = leg(context, context.inbound);
  const seconds = context.reapers?.limits.timerCSeconds;
  const { timerC: _fired, ...reapers } = context.reapers!;
  return [
    { ...context, status: 'no-answer', reapers },
    [
      sip(requestAt(outbound, 'CANCEL', outbound.localCseq)),
      sip(
        response(inbound.pendingInvite!, 408, reasonPhrase(408), {
          toTag: inbound.local.params.tag,
        }),
      ),
      fact({
        type: 'CallEnded',
        callSid: context.callSid,
        at: event.at,
        status: 'no-answer',
        sipStatus: 408,
        why: `no final response to the INVITE within ${seconds} s (Timer C, RFC 3261 §16.6)`,
      }),
    ],
  ];
};

/**
 * Ends an established (or confirming) call from the pivot's side: an offer still owed its answer is
 * answered refusing its streams, both legs are BYEd, and the other reaper timers are canceled.
 */
function tearDown(
  context: Context,
  event: TimerFired,
  fired: Slot,
  status: 'failed' | 'completed',
  why: string,
): [Context, Effect[]] {
  const { [fired]: _fired, ...rest } = context.reapers!;
  const [next, cancels] = cancelSlots({ ...context, reapers: { ...rest } }, event.at, ALL);
  const effects: Effect[] = [];
  let legs = next.legs;
  const waiting = next.awaitingAck;
  if (waiting) {
    const [offering, refused] = outgoingSdp(leg(next, waiting.to), rejectingAnswer(waiting.offer));
    effects.push(sip(requestAt(offering, 'ACK', offering.localCseq, { body: refused })));
    legs = { ...legs, [waiting.to]: offering };
  }
  for (const name of [next.inbound, next.outbound]) {
    const dialog = legs[name];
    if (!dialog) continue;
    const [gone, bye] = nextRequest(dialog, 'BYE');
    legs = { ...legs, [name]: gone };
    effects.push(sip(bye));
  }
  effects.push(...cancels, fact({ type: 'CallEnded', callSid: context.callSid, at: event.at, status, why }));
  return [{ ...next, awaitingAck: undefined, unacked: undefined, status, legs }, effects];
}

/** The ACK of our 2xx never came (RFC 3261 §13.3.1.4): the session is over, both legs are BYEd. */
export const ackTimedOut: Step<CallContext, TimerFired> = ({ outbox: _, ...context }, event) => {
  const seconds = context.reapers?.limits.ackTimeoutSeconds;
  const from = context.awaitingAck?.from ?? context.unacked?.leg;
  return tearDown(
    context,
    event,
    'ackTimeout',
    'failed',
    `no ACK on the ${from} leg within ${seconds} s of our 2xx (RFC 3261 §13.3.1.4)`,
  );
};

/** The trunk's call limit is reached: both legs are BYEd. */
export const maxCallReached: Step<CallContext, TimerFired> = ({ outbox: _, ...context }, event) => {
  const seconds = context.reapers?.limits.maxCallSeconds;
  return tearDown(
    context,
    event,
    'maxCall',
    'completed',
    `the call reached its trunk's limit of ${seconds} s (maxCallSeconds)`,
  );
};

/** The call limit came while a transfer or a relayed re-INVITE holds the legs: look again shortly. */
export const deferMaxCall: Step<CallContext, TimerFired> = ({ outbox: _, ...context }, event) => {
  const maxCall = `${context.callSid}:max-call:${event.at}`;
  return [
    { ...context, reapers: { ...context.reapers!, maxCall } },
    [scheduled(context, event.at, 'max-call', maxCall, MAX_CALL_DEFER_SECONDS)],
  ];
};

/** The ACK timeout came while a transfer or a relayed offer holds the legs: look again shortly. */
export const deferAckTimeout: Step<CallContext, TimerFired> = ({ outbox: _, ...context }, event) => {
  const ackTimeout = `${context.callSid}:ack-timeout:deferred:${event.at}`;
  return [
    { ...context, reapers: { ...context.reapers!, ackTimeout } },
    [scheduled(context, event.at, 'ack-timeout', ackTimeout, MAX_CALL_DEFER_SECONDS)],
  ];
};

/** Guards: the timer that fired is this call's reaper of that kind. */
export const isReaper =
  (slot: Slot) =>
  ({ context, event }: { context: CallContext; event: unknown }): boolean =>
    context.reapers?.[slot] !== undefined && (event as TimerFired).timerId === context.reapers[slot];
