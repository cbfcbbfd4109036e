/**
 * The call machine: one B2BUA call bridging two legs (customer and far, or far and target for a child
 * call). Pure: it is only ever advanced with xstate's `transition`, and what it decides is left in
 * `context.outbox` for the engine to execute.
 */
import { assign, setup } from 'xstate';
import type { Step } from '../effects.ts';
import type {
  CallAcked,
  CallAnswered,
  CallInput,
  CallProgress,
  HandOverRequested,
  HangupReceived,
  InfoAnswered,
  ReferRejected,
  ReInviteAnswered,
  TimerFired,
  UpdateReceived,
} from '../events.ts';
import {
  customerLeftWhileLent,
  farLegBack,
  joinedElsewhere,
  lendFarLeg,
  lentAgain,
  lentToIt,
  namesCustomerLeg,
  refuseHandOver,
} from './lending.ts';
import {
  ackArrived,
  ackTimedOut,
  answered,
  armAckTimeout,
  armChildLimit,
  armTimerC,
  callOver,
  deferAckTimeout,
  deferMaxCall,
  followedBy,
  isPlainAck,
  isReaper,
  leftRinging,
  maxCallReached,
  plainAckArrived,
  timerCExpired,
} from './reapers.ts';
import { legReplaced, replaceLeg } from './replacing.ts';
import {
  ackHasAnswer,
  ackWithoutAnswer,
  alreadyPracked,
  answerCall,
  answeredWithoutOffer,
  answerInfo,
  answerIsOffer,
  answerReInvite,
  answerUpdate,
  answerWithoutOffer,
  authenticateInvite,
  authenticateRelay,
  byeFallback,
  type CallContext,
  cancelCall,
  canceled,
  completeTransfer,
  confirmCall,
  delayedOffer,
  emptyCallContext,
  failOver,
  failTransfer,
  hangUp,
  hangUpUnconfirmed,
  isSessionTimer,
  lateAnswer,
  receiveCall,
  referRefused,
  refreshByUpdate,
  rejectCall,
  relayedInfo,
  relayInfo,
  relayProgress,
  relayReInvite,
  relayUpdate,
  sessionExpired,
  startChildCall,
  startTransfer,
  transferorLeft,
  updateHasOffer,
} from './steps.ts';

/**
 * Recorded with every call event (metadata `machineVersion`). `call@2`: a lending call defers its call
 * limit instead of dropping it, re-arms its session timer when its far leg comes back, and ends when the
 * far party hung up during the join; the states stored streams recorded are reached as before.
 */
export const CALL_MACHINE_VERSION = 'call@2';

function run<E extends CallInput>(step: Step<CallContext, E>) {
  return assign<CallContext, E, undefined, CallInput, never>(({ context, event }) => {
    const [next, outbox] = step(context, event);
    return { ...next, outbox };
  });
}

/**
 * A refused REFER changes nothing but the remote CSeq of the leg it came on (RFC 3261 §12.2.2), in
 * every state where the call has live legs.
 */
const refusedRefer = { ReferRejected: { guard: 'onOwnLeg', actions: run(referRefused) } } as const;

/**
 * The answer to a relayed INFO goes back to the asking leg in every state the call can be in while it
 * is out: a transfer or a re-INVITE may have started since, and neither touches that transaction.
 */
const infoAnswers = { InfoAnswered: { guard: 'relayedInfo', actions: run(answerInfo) } } as const;
/** INFOs are relayed while both legs are the call's: confirmed, with or without an offer in flight. */
const infoRelay = { InfoReceived: { actions: run(relayInfo) } } as const;
/** An UPDATE without SDP is a session refresh, answered here in every state with both legs. */
const updateRefresh = {
  UpdateReceived: { guard: 'bareUpdate', actions: run(refreshByUpdate) },
} as const;
/**
 * The session timer (RFC 4028) fires while the call bridges both legs: both are released. A transition,
 * not an `on` entry: the states that have it also have reaper timers, and both go in one TimerFired list.
 */
const sessionExpiry = {
  guard: 'isSessionTimer',
  target: 'ended',
  actions: run(followedBy(sessionExpired, callOver)),
} as const;
const maxCallEnds = { guard: 'isMaxCall', target: 'ended', actions: run(maxCallReached) } as const;
const maxCallWaits = { guard: 'isMaxCall', actions: run(deferMaxCall) } as const;
const ackTimeoutEnds = { guard: 'isAckTimeout', target: 'ended', actions: run(ackTimedOut) } as const;
const ackTimeoutWaits = { guard: 'isAckTimeout', actions: run(deferAckTimeout) } as const;
/**
 * The ACK of the 2xx to the caller's INVITE stops the ACK timeout in every state with live legs: the
 * caller may have sent a REFER or a re-INVITE before its ACK arrived.
 */
const plainAck = { guard: 'plainAck', actions: run(plainAckArrived) } as const;
const plainAcks = { CallAcked: plainAck } as const;

export const callMachine = setup({
  types: {
    context: {} as CallContext,
    events: {} as CallInput,
  },
  guards: {
    fromCustomer: ({ event }) => (event as HangupReceived).leg === 'customer',
    // A refusal recorded with the leg it came on (older events lack it) and a leg this call holds.
    onOwnLeg: ({ context, event }) => {
      const { leg } = event as ReferRejected;
      return leg !== undefined && context.legs[leg] !== undefined;
    },
    lendable: ({ context, event }) => namesCustomerLeg(context, event as HandOverRequested),
    lentToIt: ({ context, event }) => lentToIt(context, event as HandOverRequested),
    isByeFallback: ({ context, event }) => (event as TimerFired).timerId === context.byeFallbackTimerId,
    isTimerC: isReaper('timerC'),
    isAckTimeout: isReaper('ackTimeout'),
    isMaxCall: isReaper('maxCall'),
    delayedOffer: ({ context }) => delayedOffer(context),
    answeredWithoutOffer: ({ context, event }) => answeredWithoutOffer(context, event as CallAnswered),
    ackHasAnswer: ({ event }) => ackHasAnswer(event as CallAcked),
    plainAck: ({ context, event }) => isPlainAck(context, event as CallAcked),
    answerIsOffer: ({ context, event }) => answerIsOffer(context, event as ReInviteAnswered),
    relayedInfo: ({ context, event }) => relayedInfo(context, event as InfoAnswered) !== undefined,
    isSessionTimer: ({ context, event }) => isSessionTimer(context, event as TimerFired),
    newProvisional: ({ context, event }) => !alreadyPracked(context, event as CallProgress),
    updateHasOffer: ({ event }) => updateHasOffer(event as UpdateReceived),
    bareUpdate: ({ event }) => !updateHasOffer(event as UpdateReceived),
  },
}).createMachine({
  id: 'call',
  context: emptyCallContext,
  initial: 'idle',
  // An attended transfer of another session asking for the far leg is always answered, so it never waits.
  on: { HandOverRequested: { actions: run(refuseHandOver) } },
  states: {
    idle: {
      on: {
        CallReceived: { target: 'ringing', actions: run(followedBy(receiveCall, armTimerC)) },
        ChildCallStarted: { target: 'inProgress', actions: run(followedBy(startChildCall, armChildLimit)) },
      },
    },
    ringing: {
      on: {
        ...refusedRefer,
        CallProgress: { guard: 'newProvisional', actions: run(relayProgress) },
        CallAnswered: [
          {
            guard: 'answeredWithoutOffer',
            target: 'ended',
            actions: run(followedBy(answerWithoutOffer, callOver)),
          },
          { guard: 'delayedOffer', target: 'confirming', actions: run(followedBy(answerCall, answered)) },
          { target: 'inProgress', actions: run(followedBy(answerCall, answered)) },
        ],
        CallRejected: [
          {
            guard: ({ context, event }) => event.authorization !== undefined && !context.inviteAuthorized,
            actions: run(authenticateInvite),
          },
          {
            guard: ({ context, event }) => event.retryable === true && (context.alternates?.length ?? 0) > 0,
            actions: run(failOver),
          },
          { target: 'ended', actions: run(followedBy(rejectCall, leftRinging)) },
        ],
        CallCanceled: { target: 'canceling', actions: run(followedBy(cancelCall, leftRinging)) },
        TimerFired: { guard: 'isTimerC', target: 'canceling', actions: run(timerCExpired) },
      },
    },
    canceling: {
      // Already canceled and logged (CallEnded); waiting for the callee's answer to the CANCELed INVITE.
      on: {
        ...refusedRefer,
        CallAnswered: { target: 'ended', actions: run(lateAnswer) },
        CallRejected: { target: 'ended', actions: run(canceled) },
      },
    },
    inProgress: {
      on: {
        ...refusedRefer,
        ...infoRelay,
        ...infoAnswers,
        ReInviteReceived: { target: 'relaying', actions: run(relayReInvite) },
        UpdateReceived: [
          { guard: 'updateHasOffer', target: 'updating', actions: run(relayUpdate) },
          { actions: run(refreshByUpdate) },
        ],
        ...plainAcks,
        HangupReceived: { target: 'ended', actions: run(followedBy(hangUp, callOver)) },
        ReferAccepted: { target: 'transferring', actions: run(startTransfer) },
        TimerFired: [sessionExpiry, ackTimeoutEnds, maxCallEnds],
        HandOverRequested: [
          { guard: 'lendable', target: 'lending', actions: run(lendFarLeg) },
          { actions: run(refuseHandOver) },
        ],
        ReplacingInviteReceived: { target: 'replacing', actions: run(replaceLeg) },
      },
    },
    replacing: {
      // A new dialog (INVITE with Replaces) stands in for a leg; the other leg is answering its offer.
      on: {
        ...refusedRefer,
        ...infoAnswers,
        ReInviteAnswered: { target: 'inProgress', actions: run(legReplaced) },
        HangupReceived: { target: 'ended', actions: run(followedBy(hangUp, callOver)) },
        ...plainAcks,
        TimerFired: [sessionExpiry, ackTimeoutWaits, maxCallWaits],
      },
    },
    lending: {
      // The far leg is lent to an attended transfer of another session, which tells how it ended.
      on: {
        ...refusedRefer,
        ...plainAcks,
        // The transfer holding the far leg ends the join in bounded time; the limits look again after it.
        TimerFired: [ackTimeoutWaits, maxCallWaits],
        HandOverRequested: [{ guard: 'lentToIt', actions: run(lentAgain) }, { actions: run(refuseHandOver) }],
        HangupReceived: { guard: 'fromCustomer', actions: run(customerLeftWhileLent) },
        ReplacedCallJoined: { guard: 'lentToIt', target: 'ended', actions: run(joinedElsewhere) },
        FarLegReturned: [
          {
            guard: ({ context, event }) =>
              lentToIt(context, event) && (context.customerGone === true || event.farPartyGone === true),
            target: 'ended',
            actions: run(farLegBack),
          },
          { guard: 'lentToIt', target: 'inProgress', actions: run(farLegBack) },
        ],
      },
    },
    confirming: {
      // A 2xx relayed an offer (delayed offer, or an offer-less re-INVITE): the asking leg's ACK brings
      // the answer the offering leg's ACK needs (RFC 3261 §13.2.1, §14).
      on: {
        ...refusedRefer,
        ...infoRelay,
        ...infoAnswers,
        ...updateRefresh,
        CallAcked: [
          plainAck,
          { guard: 'ackHasAnswer', target: 'inProgress', actions: run(followedBy(confirmCall, ackArrived)) },
          { target: 'ended', actions: run(followedBy(ackWithoutAnswer, callOver)) },
        ],
        HangupReceived: { target: 'ended', actions: run(followedBy(hangUpUnconfirmed, callOver)) },
        TimerFired: [
          sessionExpiry,
          { guard: 'isAckTimeout', target: 'ended', actions: run(ackTimedOut) },
          maxCallEnds,
        ],
      },
    },
    relaying: {
      // A re-INVITE is out on the other leg; its answer goes back to the leg that asked.
      on: {
        ...refusedRefer,
        ...infoRelay,
        ...infoAnswers,
        ...updateRefresh,
        ReInviteAnswered: [
          // The other leg's peer challenged the relayed re-INVITE: sent once more with credentials.
          { guard: ({ event }) => event.authorization !== undefined, actions: run(authenticateRelay) },
          {
            guard: 'answerIsOffer',
            target: 'confirming',
            actions: run(followedBy(answerReInvite, armAckTimeout)),
          },
          { target: 'inProgress', actions: run(answerReInvite) },
        ],
        HangupReceived: { target: 'ended', actions: run(followedBy(hangUp, callOver)) },
        ...plainAcks,
        TimerFired: [sessionExpiry, ackTimeoutWaits, maxCallWaits],
      },
    },
    updating: {
      // An UPDATE offer is out on the other leg (RFC 3311); its answer goes back to the leg that asked.
      on: {
        ...refusedRefer,
        ...infoRelay,
        ...infoAnswers,
        ...updateRefresh,
        UpdateAnswered: { target: 'inProgress', actions: run(answerUpdate) },
        HangupReceived: { target: 'ended', actions: run(followedBy(hangUp, callOver)) },
        ...plainAcks,
        TimerFired: [sessionExpiry, ackTimeoutWaits, maxCallWaits],
      },
    },
    transferring: {
      // While a transfer runs, the transfer machine owns the legs; it hands them back when it ends.
      on: {
        ...refusedRefer,
        ...infoAnswers,
        TransferFailed: [
          {
            guard: ({ event }) => event.transferorGone || event.transfereeGone,
            target: 'ended',
            actions: run(followedBy(failTransfer, callOver)),
          },
          { target: 'inProgress', actions: run(failTransfer) },
        ],
        TransferCompleted: [
          {
            guard: ({ event }) => event.transferorGone,
            target: 'ended',
            actions: run(followedBy(completeTransfer, callOver)),
          },
          { target: 'handedOff', actions: run(followedBy(completeTransfer, callOver)) },
        ],
        ...plainAcks,
        TimerFired: [ackTimeoutWaits, maxCallWaits],
      },
    },
    handedOff: {
      on: {
        ...refusedRefer,
        ...infoAnswers,
        HangupReceived: { guard: 'fromCustomer', target: 'ended', actions: run(transferorLeft) },
        TimerFired: { guard: 'isByeFallback', target: 'ended', actions: run(byeFallback) },
      },
    },
    ended: { type: 'final' },
  },
});
