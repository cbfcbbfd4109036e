/**
 * The transfer machine: one blind transfer from REFER to its final NOTIFY (docs/architecture.md "Transfer flow").
 * Pure: advanced only with xstate's `transition`; its decisions are left in `context.outbox`.
 *
 *   idle --REFER ok--> holding --held--> inviting --answered--> reconnecting --reconnected--> completed
 *     \--refused--> rejected            inviting --failed / no answer--> resuming --resumed--> failed
 *                    holding --held, target name unresolved--> resuming
 *                                        reconnecting --reconnect refused--> resuming --resumed--> failed
 *
 * An attended transfer whose Replaces dialog is another pivot call (join.ts) goes idle --REFER ok-->
 * joining --far leg handed over--> inviting (the replaced far party re-INVITEd) --> reconnecting -->
 * completed; the `isJoin` transitions come first in those states.
 *
 * `failed` is not a final state: the transfer has handed the customer and far legs back to the call, but
 * keeps the target leg, so a 2xx the target sends after the failure still reaches it and is ACKed and
 * hung up (RFC 3261 §13.2.2.4).
 */
import { assign, setup } from 'xstate';
import type { Step } from '../effects.ts';
import type { ReferReceived, TimerFired, TransferInput, TransferResponse } from '../events.ts';
import { initialTransferContext, type TransferContext, type TransferStart } from './context.ts';
import {
  holdGlare,
  isGlareTimer,
  joinGlare,
  reconnectGlare,
  retriesGlare,
  retriesHoldGlare,
  retryHold,
  retryJoin,
  retryReconnect,
  settleHold,
} from './glare.ts';
import {
  acceptJoin,
  giveBackUnused,
  handedOver,
  handOverRefused,
  joinAnswered,
  joinAnsweredUnusable,
  joinAnsweredWithoutOffer,
  joined,
  joinNoAnswer,
  joinReconnectRefused,
  joinRefused,
  joinTargetGoneAnswered,
  joinTargetHungUp,
  joinTransfereeHungUp,
  markTargetGone,
  markTransfereeGone,
} from './join.ts';
import { asksJoin } from './join-rules.ts';
import {
  acceptRefer,
  answeredWithoutOffer,
  authenticateFar,
  authenticateTarget,
  dialogGone,
  failOverTarget,
  judgeRefer,
  lateAnswer,
  noAnswer,
  reconnectRefused,
  rejectRefer,
  subscriptionEnded,
  targetAnswered,
  targetFailed,
  targetFailsOver,
  targetRinging,
  targetUnreachable,
  targetWithoutOffer,
  transfereeHeld,
  transfereeHungUp,
  transfereeReconnected,
  transfereeResumed,
  transferorHungUp,
} from './steps.ts';

/**
 * Recorded with every transfer event (metadata `machineVersion`). A change of what the machine decides
 * for stored inputs bumps it, and the events it decides differently for carry a new optional field, so
 * streams stored before fold as they ran. `transfer@2`: a hold answered 491 is retried
 * (`policy.holdGlare`); a join waits for the replaced far party's answer no longer than `no-answer` and
 * takes its BYE (TargetHungUp); states stored before are reached as they were.
 */
export const TRANSFER_MACHINE_VERSION = 'transfer@2';

/** A join whose replaced far party hung up while its leg was lent (TargetHungUp). */
function targetLeftJoin(context: TransferContext): boolean {
  return context.join !== undefined && context.targetGone === true;
}

function run<E extends TransferInput>(step: Step<TransferContext, E>) {
  return assign<TransferContext, E, undefined, TransferInput, never>(({ context, event }) => {
    const [next, outbox] = step(context, event);
    return { ...next, outbox };
  });
}

/** Inputs every live phase handles the same way. */
const common = {
  NotifyAnswered: { guard: 'subscriptionGone', actions: run(subscriptionEnded) },
  TransferorHungUp: { actions: run(transferorHungUp) },
} as const;

export const transferMachine = setup({
  types: {
    context: {} as TransferContext,
    events: {} as TransferInput,
    input: {} as TransferStart,
  },
  guards: {
    // The far party's carrier challenged our re-INVITE: sent once more with credentials (classify.ts
    // attaches them only to the first challenge of each re-INVITE).
    farChallenged: ({ event }) => (event as { authorization?: unknown }).authorization !== undefined,
    referAcceptable: ({ context, event }) => judgeRefer(context, event as ReferReceived).ok,
    // The target's name has no address: the transfer fails instead of INVITing it.
    targetUnreachable: ({ context }) => context.targetUnreachable !== undefined,
    // ...and with the PBX gone there is nobody to resume the far party for.
    nobodyToInvite: ({ context }) => context.targetUnreachable !== undefined && context.transferorGone,
    // RFC 6665 §4.1.2.2: a 481 to a NOTIFY ends the subscription (the transfer itself goes on).
    subscriptionGone: ({ event }) => event.type === 'NotifyAnswered' && event.status === 481,
    isNoAnswerTimer: ({ context, event }) => (event as TimerFired).timerId === context.noAnswerTimerId,
    isSuccess: ({ event }) => 'status' in event && event.status >= 200 && event.status < 300,
    // A 2xx from a target the transfer had not heard answer yet (a repeated one was already handled).
    isLateAnswer: ({ context }) => !context.targetAnswered,
    // RFC 3261 §13.2.1: a 2xx to an INVITE without SDP must carry the offer.
    answeredWithoutOffer: ({ context, event }) => answeredWithoutOffer(context, event as TransferResponse),
    // Nobody to resume after a refused reconnect: the PBX left, or the transferee's dialog is gone.
    isJoin: ({ context }) => context.join !== undefined,
    joinAcceptable: ({ context, event }) => {
      const refer = event as ReferReceived;
      return asksJoin(refer) && judgeRefer(context, refer).ok;
    },
    nobodyToResume: ({ context, event }) =>
      context.transferorGone || ('status' in event && dialogGone(event.status)),
  },
}).createMachine({
  id: 'transfer',
  context: ({ input }) => initialTransferContext(input),
  initial: 'idle',
  states: {
    idle: {
      on: {
        ReferReceived: [
          { guard: 'joinAcceptable', target: 'joining', actions: run(acceptJoin) },
          { guard: 'referAcceptable', target: 'holding', actions: run(acceptRefer) },
          { target: 'rejected', actions: run(rejectRefer) },
        ],
      },
    },
    joining: {
      // Waiting for the replaced call's session to lend its far leg (or refuse).
      on: {
        ...common,
        ReplacedCallHandedOver: { target: 'inviting', actions: run(handedOver) },
        ReplacedCallRefused: { target: 'failed', actions: run(handOverRefused) },
        TransfereeHungUp: { target: 'failed', actions: run(transfereeHungUp('holding')) },
      },
    },
    holding: {
      on: {
        ...common,
        TransfereeHeld: [
          { guard: 'farChallenged', actions: run(authenticateFar) },
          { guard: 'nobodyToInvite', target: 'failed', actions: run(targetUnreachable) },
          { guard: 'targetUnreachable', target: 'resuming', actions: run(targetUnreachable) },
          { target: 'inviting', actions: run(settleHold(transfereeHeld)) },
        ],
        HoldRefused: [
          // RFC 3261 §14.1: a 491 is tried again after a back-off, as the reconnect's is.
          { guard: ({ context, event }) => retriesHoldGlare(context, event), actions: run(holdGlare) },
          { guard: 'farChallenged', actions: run(authenticateFar) },
          { guard: 'nobodyToInvite', target: 'failed', actions: run(targetUnreachable) },
          { guard: 'targetUnreachable', target: 'resuming', actions: run(targetUnreachable) },
          { target: 'inviting', actions: run(settleHold(transfereeHeld)) },
        ],
        TimerFired: {
          guard: ({ context, event }) => isGlareTimer(context, event),
          actions: run(retryHold),
        },
        TransfereeHungUp: { target: 'failed', actions: run(transfereeHungUp('holding')) },
      },
    },
    inviting: {
      on: {
        ...common,
        TargetRinging: { actions: run(targetRinging) },
        TargetAnswered: [
          {
            guard: ({ context, event }) =>
              context.join !== undefined && (context.transfereeGone || joinAnsweredWithoutOffer(event)),
            target: 'failed',
            actions: run(joinAnsweredUnusable),
          },
          { guard: 'isJoin', target: 'reconnecting', actions: run(joinAnswered) },
          {
            guard: ({ context, event }) => context.transferorGone && answeredWithoutOffer(context, event),
            target: 'failed',
            actions: run(targetWithoutOffer),
          },
          { guard: 'answeredWithoutOffer', target: 'resuming', actions: run(targetWithoutOffer) },
          { target: 'reconnecting', actions: run(targetAnswered) },
        ],
        TargetFailed: [
          {
            guard: ({ context, event }) => context.join !== undefined && retriesGlare(context, event),
            actions: run(joinGlare),
          },
          { guard: 'isJoin', target: 'failed', actions: run(joinRefused) },
          {
            guard: ({ context, event }) => event.authorization !== undefined && !context.targetAuthorized,
            actions: run(authenticateTarget),
          },
          { guard: ({ context, event }) => targetFailsOver(context, event), actions: run(failOverTarget) },
          { guard: ({ context }) => context.transferorGone, target: 'failed', actions: run(targetFailed) },
          { target: 'resuming', actions: run(targetFailed) },
        ],
        TimerFired: [
          { guard: ({ context, event }) => isGlareTimer(context, event), actions: run(retryJoin) },
          {
            guard: ({ context, event }) =>
              context.join !== undefined && event.timerId === context.noAnswerTimerId,
            target: 'failed',
            actions: run(joinNoAnswer),
          },
          {
            guard: ({ context, event }) =>
              event.timerId === context.noAnswerTimerId && context.transferorGone,
            target: 'failed',
            actions: run(noAnswer),
          },
          { guard: 'isNoAnswerTimer', target: 'resuming', actions: run(noAnswer) },
        ],
        TransfereeHungUp: [
          // The replaced far party's answer is still to come: it is restored then (joinRefused).
          { guard: 'isJoin', actions: run(markTransfereeGone) },
          { target: 'failed', actions: run(transfereeHungUp('inviting')) },
        ],
        // The replaced far party hung up before answering the join's re-INVITE.
        TargetHungUp: { guard: 'isJoin', target: 'failed', actions: run(joinTargetHungUp) },
      },
    },
    reconnecting: {
      on: {
        ...common,
        TransfereeReconnected: [
          { guard: 'farChallenged', actions: run(authenticateFar) },
          // The replaced far party hung up meanwhile: nobody to join our far party to.
          {
            guard: ({ context, event }) =>
              targetLeftJoin(context) && event.status < 300 && context.transferorGone,
            target: 'failed',
            actions: run(joinTargetGoneAnswered),
          },
          {
            guard: ({ context, event }) => targetLeftJoin(context) && event.status < 300,
            target: 'resuming',
            actions: run(joinTargetGoneAnswered),
          },
          {
            guard: ({ context }) => targetLeftJoin(context),
            target: 'failed',
            actions: run(joinReconnectRefused),
          },
          // RFC 3261 §14.1: a 491 is tried again after a back-off, not taken as a refusal.
          { guard: ({ context, event }) => retriesGlare(context, event), actions: run(reconnectGlare) },
          {
            guard: ({ context, event }) => context.join !== undefined && event.status < 300,
            target: 'completed',
            actions: run(joined),
          },
          { guard: 'isJoin', target: 'failed', actions: run(joinReconnectRefused) },
          { guard: 'isSuccess', target: 'completed', actions: run(transfereeReconnected) },
          { guard: 'nobodyToResume', target: 'failed', actions: run(reconnectRefused) },
          { target: 'resuming', actions: run(reconnectRefused) },
        ],
        TransfereeHungUp: [
          { guard: 'isJoin', target: 'failed', actions: run(joinTransfereeHungUp) },
          { target: 'failed', actions: run(transfereeHungUp('reconnecting')) },
        ],
        // The replaced far party hung up after answering: decided when our far party answers its offer.
        TargetHungUp: { guard: 'isJoin', actions: run(markTargetGone) },
        TimerFired: {
          guard: ({ context, event }) => isGlareTimer(context, event),
          actions: run(retryReconnect),
        },
      },
    },
    resuming: {
      on: {
        ...common,
        TransfereeResumed: [
          { guard: 'farChallenged', actions: run(authenticateFar) },
          { target: 'failed', actions: run(transfereeResumed) },
        ],
        TargetAnswered: { guard: 'isLateAnswer', actions: run(lateAnswer) },
        TransfereeHungUp: { target: 'failed', actions: run(transfereeHungUp('resuming')) },
      },
    },
    completed: { type: 'final' },
    failed: {
      // The call owns the customer and far legs again (TransferFailed carried them): forget them, so
      // answers on those legs are the call's, and only the target leg's answers come here.
      entry: assign({ customer: undefined, far: undefined }),
      on: {
        TargetAnswered: {
          guard: ({ context }) => !context.join && !context.targetAnswered,
          actions: run(lateAnswer),
        },
        // A far leg lent after the join failed (its far party left first): given straight back.
        ReplacedCallHandedOver: {
          guard: ({ context }) => context.join !== undefined && !context.join.handedOver,
          actions: run(giveBackUnused),
        },
      },
    },
    rejected: { type: 'final' },
  },
});
