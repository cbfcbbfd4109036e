/**
 * A session is everything one root call's stream holds: the root call, its transfers and their child
 * calls. This module is pure. `evolve` folds stored events back into machine snapshots; `decide` runs
 * one input through its machine and returns the events to store (the input, then every fact it caused,
 * including facts that other machines of the session react to) and the SIP effects to execute.
 */
import { type AnyActorScope, type AnyStateMachine, createActor, type SnapshotFrom } from 'xstate';
import type { SipCommand } from '../src/shared/messages.ts';
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

/**
 * xstate's `transition()` and `initialTransition()` build a fresh actor for every call (which computes
 * the machine's initial state again) only to get an inert scope to run in. These machines spawn
 * nothing, schedule nothing and run no actions (what they decide is data in the context's outbox), so
 * one inert scope per machine serves every event: the same snapshots, without an actor per event.
 */
function inertScope(machine: AnyStateMachine): AnyActorScope {
  const self = createActor(machine);
  return {
    self,
    defer: () => {},
    id: '',
    logger: () => {},
    sessionId: '',
    stopChild: () => {},
    system: self.system,
    emit: () => {},
    actionExecutor: () => {},
  } as AnyActorScope;
}

const callScope = inertScope(callMachine);
const transferScope = inertScope(transferMachine);
/** Every call starts from the same snapshot, and snapshots are never changed in place. */
const newCall: CallSnapshot = callMachine.getInitialSnapshot(callScope);

const callTransition = (current: CallSnapshot, event: SessionEvent): CallSnapshot =>
  callMachine.transition(current, event as never, callScope);
const transferTransition = (current: TransferSnapshot, event: SessionEvent): TransferSnapshot =>
  transferMachine.transition(current, event as never, transferScope);

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
  'TargetHungUp',
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
  return transferMachine.getInitialSnapshot(transferScope, {
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
}

/**
 * The session with one machine's snapshot replaced. When `owned`, the session's records belong to the
 * fold in progress alone (nobody else holds them yet), so they are updated in place: a long stream
 * costs one copy per fold instead of one copy of every record per event.
 */
function withSnapshot(
  session: SessionState,
  kind: 'call' | 'transfer',
  sid: string,
  snapshot: CallSnapshot | TransferSnapshot,
  owned: boolean,
): SessionState {
  const next = owned
    ? session
    : { ...session, calls: { ...session.calls }, transfers: { ...session.transfers } };
  if (kind === 'call') next.calls[sid] = snapshot as CallSnapshot;
  else next.transfers[sid] = snapshot as TransferSnapshot;
  return next;
}

/** Applies one event to the machine it belongs to. */
function apply(session: SessionState, event: SessionEvent, owned: boolean): Applied {
  if (event.type === 'DialogRedirected') {
    if (session.redirects?.[event.callId] === event.toSessionSid)
      return { session, accepted: false, effects: [] };
    const redirects = { ...session.redirects, [event.callId]: event.toSessionSid };
    return { session: { ...session, redirects }, accepted: true, effects: [] };
  }
  const owner = machineOf(event);
  if (!owner) return { session, accepted: true, effects: [] };
  if (owner.kind === 'call') {
    const current = session.calls[owner.sid] ?? newCall;
    if (!current.can(event as never)) return { session, accepted: false, effects: [] };
    const next = callTransition(current, event);
    return {
      session: withSnapshot(session, 'call', owner.sid, next, owned),
      accepted: true,
      effects: next.context.outbox,
    };
  }
  const current =
    session.transfers[owner.sid] ??
    (event.type === 'ReferReceived' ? startTransfer(session, event) : undefined);
  if (!current) return { session, accepted: false, effects: [] };
  if (!current.can(event as never)) return { session, accepted: false, effects: [] };
  const next = transferTransition(current, event);
  return {
    session: withSnapshot(session, 'transfer', owner.sid, next, owned),
    accepted: true,
    effects: next.context.outbox,
  };
}

/**
 * A fold over a session that copies its records only once: the first change copies them, later
 * changes update the copy. Reading `state` hands the session out, so the change after it copies again
 * and the state handed out never changes.
 */
export interface SessionFold {
  add(event: SessionEvent): void;
  /** The session handed out: it never changes afterwards. */
  readonly state: SessionState;
  /** The session as folded so far, to look at before the next `add` (it may change with it). */
  readonly current: SessionState;
}

export function foldFrom(start: SessionState): SessionFold {
  let session = start;
  let owned = false;
  return {
    add(event) {
      const applied = apply(session, event, owned);
      if (applied.session !== session) {
        session = applied.session;
        owned = true;
      }
    },
    get state() {
      owned = false;
      return session;
    },
    get current() {
      return session;
    },
  };
}

/** Folds stored events into the session; `session` itself is left as it was. */
export function evolveAll(session: SessionState, events: Iterable<SessionEvent>): SessionState {
  const fold = foldFrom(session);
  for (const event of events) fold.add(event);
  return fold.state;
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
  const maxCallSeconds = parent?.reapers?.limits.maxCallSeconds;
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
    ...(maxCallSeconds !== undefined ? { maxCallSeconds } : {}),
  };
}

/** Folds a stored event into the session (replay and load). */
export function evolve(session: SessionState, event: SessionEvent): SessionState {
  return apply(session, event, false).session;
}

export interface Decision {
  accepted: boolean;
  /** The input first, then the facts in the order they were decided. */
  events: SessionEvent[];
  commands: SipCommand[];
  session: SessionState;
  /** For each of `events`, the snapshot of the machine it belongs to once it was applied. */
  snapshots: Array<CallSnapshot | TransferSnapshot | undefined>;
}

/** The snapshot of the machine `owner` names (see machineOf), if the session has it. */
export function snapshotOf(
  session: SessionState,
  owner: ReturnType<typeof machineOf>,
): CallSnapshot | TransferSnapshot | undefined {
  if (!owner) return undefined;
  return owner.kind === 'call' ? session.calls[owner.sid] : session.transfers[owner.sid];
}

/** Runs an input through the session: nothing is stored when its machine does not accept it. */
export function decide(session: SessionState, input: SessionEvent): Decision {
  const first = apply(session, input, false);
  if (!first.accepted) return { accepted: false, events: [], commands: [], session, snapshots: [] };
  const events: SessionEvent[] = [input];
  const snapshots = [snapshotOf(first.session, machineOf(input))];
  const commands: SipCommand[] = [];
  // The first apply copied the records (or changed nothing): what follows may update them in place.
  let state = first.session;
  let owned = state !== session;
  const pending: Effect[] = first.effects.slice();
  for (let next = 0; next < pending.length; next++) {
    const effect = pending[next]!;
    if (effect.kind === 'sip') {
      commands.push(effect.command);
      continue;
    }
    const factEvent = effect.event;
    const parentFar = state.calls[factEvent.callSid]?.context.legs.far;
    const applied = apply(state, factEvent, owned);
    if (applied.session !== state) owned = true;
    state = applied.session;
    events.push(factEvent);
    snapshots.push(snapshotOf(state, machineOf(factEvent)));
    for (const more of applied.effects) pending.push(more);
    if (factEvent.type === 'TransferCompleted') {
      const child = childCallStarted(state, factEvent, parentFar);
      pending.push({ kind: 'fact', event: child as never });
    }
  }
  return { accepted: true, events, commands, session: state, snapshots };
}
