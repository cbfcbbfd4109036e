/**
 * A session is everything one root call's stream holds: the root call, its transfers and their child
 * calls. This module is pure. `evolve` folds stored events back into machine snapshots; `decide` runs
 * one input through its machine and returns the events to store (the input, then every fact it caused,
 * including facts that other machines of the session react to) and the SIP effects to execute.
 */
import { initialTransition, type SnapshotFrom, transition } from 'xstate';
import type { SipCommand } from '../src/bus/messages.ts';
import { callMachine } from './call/call.machine.ts';
import { keepRemoteCseq, type LegDialog } from './dialog.ts';
import type { Effect } from './effects.ts';
import type { ChildCallStarted, SessionEvent, TransferCompleted } from './events.ts';
import { transferMachine } from './transfer/transfer.machine.ts';

export type CallSnapshot = SnapshotFrom<typeof callMachine>;
export type TransferSnapshot = SnapshotFrom<typeof transferMachine>;

export interface SessionState {
  rootCallSid: string;
  calls: Record<string, CallSnapshot>;
  transfers: Record<string, TransferSnapshot>;
  /** Call-IDs whose messages go to another session (DialogRedirected: an INVITE with Replaces). */
  redirects?: Record<string, string>;
}

export function emptySession(rootCallSid: string): SessionState {
  return { rootCallSid, calls: {}, transfers: {} };
}

const TRANSFER_INPUTS = new Set<string>([
  'ReferReceived',
  'TransfereeHeld',
  'HoldRefused',
  'TransfereeReconnected',
  'TransfereeResumed',
  'TargetRinging',
  'TargetAnswered',
  'TargetFailed',
  'NotifyAnswered',
  'TransferorHungUp',
  'TransfereeHungUp',
  'ReplacedCallHandedOver',
  'ReplacedCallRefused',
]);

const CALL_INPUTS = new Set<string>([
  'CallReceived',
  'ChildCallStarted',
  'CallProgress',
  'CallAnswered',
  'CallRejected',
  'CallCanceled',
  'HangupReceived',
  'ReInviteReceived',
  'ReInviteAnswered',
  'CallAcked',
  'InfoReceived',
  'InfoAnswered',
  'UpdateReceived',
  'UpdateAnswered',
  'ReferAccepted',
  'ReferRejected',
  'TransferCompleted',
  'TransferFailed',
  'HandOverRequested',
  'ReplacedCallJoined',
  'FarLegReturned',
  'ReplacingInviteReceived',
]);

/** Which machine of the session an event is an input of; facts nobody reacts to belong to none. */
export function machineOf(event: SessionEvent): { kind: 'call' | 'transfer'; sid: string } | undefined {
  if (event.type === 'TimerFired') {
    return event.transferSid
      ? { kind: 'transfer', sid: event.transferSid }
      : { kind: 'call', sid: event.callSid };
  }
  if (TRANSFER_INPUTS.has(event.type))
    return { kind: 'transfer', sid: (event as { transferSid: string }).transferSid };
  if (CALL_INPUTS.has(event.type)) return { kind: 'call', sid: event.callSid };
  return undefined;
}

interface Applied {
  session: SessionState;
  accepted: boolean;
  effects: Effect[];
}

function startTransfer(
  session: SessionState,
  event: SessionEvent & { type: 'ReferReceived' },
): TransferSnapshot {
  const call = session.calls[event.callSid];
  const context = call?.context;
  const [snapshot] = initialTransition(transferMachine, {
    transferSid: event.transferSid,
    callSid: event.callSid,
    routingKey: session.rootCallSid,
    childCallSid: event.childCallSid,
    trunkSid: context?.trunkSid ?? '',
    trunkName: context?.trunkName ?? '',
    direction: context?.direction ?? 'trunking-terminating',
    from: context?.from ?? '',
    to: context?.to ?? '',
    customer: context?.legs.customer,
    far: context?.legs.far,
    callEstablished: call?.value === 'inProgress',
    transferInProgress: call?.value === 'transferring',
    transfersAccepted: context?.transfersAccepted ?? 0,
  });
  return snapshot;
}

/** Applies one event to the machine it belongs to. */
function apply(session: SessionState, event: SessionEvent): Applied {
  if (event.type === 'DialogRedirected') {
    if (session.redirects?.[event.callId] === event.toSessionSid)
      return { session, accepted: false, effects: [] };
    const redirects = { ...session.redirects, [event.callId]: event.toSessionSid };
    return { session: { ...session, redirects }, accepted: true, effects: [] };
  }
  const owner = machineOf(event);
  if (!owner) return { session, accepted: true, effects: [] };
  if (owner.kind === 'call') {
    const current = session.calls[owner.sid] ?? initialTransition(callMachine)[0];
    const [next] = transition(callMachine, current, event as never);
    if (next === current) return { session, accepted: false, effects: [] };
    return {
      session: { ...session, calls: { ...session.calls, [owner.sid]: next } },
      accepted: true,
      effects: next.context.outbox,
    };
  }
  const current =
    session.transfers[owner.sid] ??
    (event.type === 'ReferReceived' ? startTransfer(session, event) : undefined);
  if (!current) return { session, accepted: false, effects: [] };
  const [next] = transition(transferMachine, current, event as never);
  if (next === current) return { session, accepted: false, effects: [] };
  return {
    session: { ...session, transfers: { ...session.transfers, [owner.sid]: next } },
    accepted: true,
    effects: next.context.outbox,
  };
}

/**
 * The child call's first event, derived from the transfer that created it. `parentFar` is the parent
 * call's own copy of the far leg before it handed it off: it may have recorded a later request of the
 * far party (a refused REFER) than the transfer's copy, and the far dialog keeps the higher remote CSeq.
 */
function childCallStarted(
  session: SessionState,
  completed: TransferCompleted,
  parentFar: LegDialog | undefined,
): ChildCallStarted {
  const parent = session.calls[completed.callSid]?.context;
  return {
    type: 'ChildCallStarted',
    callSid: completed.childCallSid,
    at: completed.at,
    parentCallSid: completed.callSid,
    transferSid: completed.transferSid,
    trunkSid: parent?.trunkSid ?? '',
    trunkName: parent?.trunkName ?? '',
    direction: parent?.direction ?? 'trunking-terminating',
    from: completed.transfereeNumber,
    to: completed.targetNumber,
    farLeg: keepRemoteCseq(completed.farLeg, parentFar),
    targetLeg: completed.targetLeg,
    targetKind: completed.targetKind,
    ...(completed.joinedCallSid ? { joinedCallSid: completed.joinedCallSid } : {}),
  };
}

/** Folds a stored event into the session (replay and load). */
export function evolve(session: SessionState, event: SessionEvent): SessionState {
  return apply(session, event).session;
}

export interface Decision {
  accepted: boolean;
  /** The input first, then the facts in the order they were decided. */
  events: SessionEvent[];
  commands: SipCommand[];
  session: SessionState;
}

/** Runs an input through the session: nothing is stored when its machine does not accept it. */
export function decide(session: SessionState, input: SessionEvent): Decision {
  const first = apply(session, input);
  if (!first.accepted) return { accepted: false, events: [], commands: [], session };
  const events: SessionEvent[] = [input];
  const commands: SipCommand[] = [];
  let state = first.session;
  const pending: Effect[] = [...first.effects];
  while (pending.length > 0) {
    const effect = pending.shift()!;
    if (effect.kind === 'sip') {
      commands.push(effect.command);
      continue;
    }
    const factEvent = effect.event;
    const parentFar = state.calls[factEvent.callSid]?.context.legs.far;
    const applied = apply(state, factEvent);
    state = applied.session;
    events.push(factEvent);
    pending.push(...applied.effects);
    if (factEvent.type === 'TransferCompleted') {
      const child = childCallStarted(state, factEvent, parentFar);
      pending.push({ kind: 'fact', event: child as never });
    }
  }
  return { accepted: true, events, commands, session: state };
}
