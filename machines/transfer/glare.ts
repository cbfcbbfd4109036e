/**
 * A 491 Request Pending to a re-INVITE the transfer sent (the hold or the reconnect of the far party, or
 * a join's re-INVITE of the replaced far party): the peer had an offer of its own in flight. RFC 3261 §14.1: the
 * re-INVITE is tried again after a random back-off, 2.1-4 s when the pivot owns the dialog's Call-ID,
 * 0-2 s otherwise, in 10 ms steps. The back-off is a durable timer; its "random" value is drawn from the
 * transfer's sid (drawn by the engine), so a replay decides alike.
 */

import { fnv1a32 } from '../../src/shared/fnv1a.ts';
import { routingKeyOf } from '../../src/shared/sessionKeys.ts';
import { nextRequest, reInvite } from '../dialog.ts';
import { addSeconds, type Effect, fact, type Step, sip } from '../effects.ts';
import type { TimerFired, TransferResponse } from '../events.ts';
import { directionOf, holdDirection, withDirection } from '../sdp.ts';
import type { TransferContext } from './context.ts';
import { must, offerWithdrawn } from './steps.ts';

/** Re-INVITEs tried again after a 491 before the transfer gives up as for any refusal. */
export const MAX_GLARE_RETRIES = 3;

type Ctx = Omit<TransferContext, 'outbox'>;

/** Whether a final response is a 491 the transfer may still retry after. */
export function retriesGlare(context: TransferContext, event: TransferResponse): boolean {
  return event.status === 491 && (context.glare?.attempts ?? 0) < MAX_GLARE_RETRIES;
}

/**
 * Whether a hold answered 491 is tried again: only for REFERs whose policy says so, so a transfer stored
 * before the hold was retried replays as it ran (the hold skipped).
 */
export function retriesHoldGlare(context: TransferContext, event: TransferResponse): boolean {
  return context.policy?.holdGlare === 'retry' && retriesGlare(context, event);
}

export function isGlareTimer(context: TransferContext, event: TimerFired): boolean {
  return event.name === 'reinvite-retry' && event.timerId === context.glare?.timerId;
}

/** The §14.1 back-off in milliseconds for the dialog with Call-ID `callId`. */
export function glareBackoffMs(callId: string, seed: string, attempt: number): number {
  const hash = fnv1a32(`${seed}:${attempt}`);
  const owner = routingKeyOf(callId) !== undefined;
  return owner ? 2100 + (hash % 191) * 10 : (hash % 201) * 10;
}

/**
 * The hold's retries have timer ids of their own: the hold's count is dropped once it is answered
 * (settleHold), so the reconnect gets its own MAX_GLARE_RETRIES under ids that cannot repeat the hold's.
 */
function schedule(
  context: Ctx,
  at: string,
  callId: string,
  of: 'reinvite' | 'hold' = 'reinvite',
): [Ctx, Effect[]] {
  const attempts = (context.glare?.attempts ?? 0) + 1;
  const timerId = `${context.transferSid}:${of}-retry-${attempts}`;
  const dueAt = addSeconds(at, glareBackoffMs(callId, context.transferSid, attempts) / 1000);
  return [
    { ...context, glare: { timerId, attempts } },
    [
      fact({
        type: 'TimerScheduled',
        callSid: context.callSid,
        transferSid: context.transferSid,
        at,
        timerId,
        name: 'reinvite-retry',
        dueAt,
      }),
    ],
  ];
}

/** The far party answered the reconnect 491: the offer never took effect, and is made again later. */
export const reconnectGlare: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }, event) => {
  const far = offerWithdrawn(context);
  return schedule({ ...context, far }, event.at, far.callId);
};

/** The back-off is over: the reconnect re-INVITE again, with the target's offer, at the next CSeq. */
export const retryReconnect: Step<TransferContext, TimerFired> = ({ outbox: _, ...context }) => {
  const offer = must(must(context.target, 'target leg').remoteSdp, 'target offer');
  const [far, reconnect] = reInvite(
    must(context.far, 'far leg'),
    context.offerlessTarget ? offer : withDirection(offer, 'sendrecv'),
  );
  return [{ ...context, far }, [sip(reconnect)]];
};

/** The replaced far party answered the join's re-INVITE 491: asked again later. */
export const joinGlare: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }, event) =>
  schedule(context, event.at, must(context.target, 'target leg').callId);

/** The back-off is over: the replaced far party re-INVITEd without SDP again. */
export const retryJoin: Step<TransferContext, TimerFired> = ({ outbox: _, ...context }) => {
  const [target, reinvite] = nextRequest(must(context.target, 'target leg'), 'INVITE');
  return [{ ...context, target }, [sip(reinvite)]];
};

/** The far party answered the hold 491: the hold offer never took effect, and is made again later. */
export const holdGlare: Step<TransferContext, TransferResponse> = ({ outbox: _, ...context }, event) => {
  const far = offerWithdrawn(context);
  return schedule({ ...context, far }, event.at, far.callId, 'hold');
};

/** The back-off is over: the hold re-INVITE again, the PBX's SDP held as the first time, next CSeq. */
export const retryHold: Step<TransferContext, TimerFired> = ({ outbox: _, ...context }) => {
  const customerSdp = must(context.customerSdp, 'customer SDP');
  const [far, hold] = reInvite(
    must(context.far, 'far leg'),
    withDirection(customerSdp, holdDirection(directionOf(customerSdp))),
  );
  return [{ ...context, far }, [sip(hold)]];
};

/** The hold is answered (held, or refused for good): its 491 count does not limit the reconnect's. */
export function settleHold(
  step: Step<TransferContext, TransferResponse>,
): Step<TransferContext, TransferResponse> {
  return (context, event) => {
    const [next, effects] = step(context, event);
    // Set, not left out: the machine merges a step's context into the one it had.
    return [{ ...next, glare: undefined }, effects];
  };
}
