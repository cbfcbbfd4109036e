/**
 * The engine: for each input, in its session's mailbox, load (fold the stream) -> classify -> decide
 * (the machines, pure) -> append with the expected revision -> act (send the SIP commands).
 * A conflict means another writer got there first: reload and decide again, a bounded number of times.
 *
 * An input that could not be handled is never passed off as handled: `handle` rejects, with a
 * StoreUnavailableError when the store failed (deliver it again later: the NATS bus naks it) or a
 * PoisonInputError when deciding it throws (no retry can help: the NATS bus drops it at once).
 */

import { CALL_MACHINE_VERSION } from '../../machines/call/call.machine.ts';
import type { ReferRejected, SessionEvent, TimerFired } from '../../machines/events.ts';
import { parseReplaces, replacesOf } from '../../machines/replaces.ts';
import { type Decision, decide, evolve, machineOf, type SessionState } from '../../machines/session.ts';
import { TRANSFER_MACHINE_VERSION } from '../../machines/transfer/transfer.machine.ts';
import type { PivotConfig } from '../config/index.ts';
import type { PeerLocator } from '../dns/peers.ts';
import type { Located } from '../dns/rfc3263.ts';
import { type Logger, silentLogger } from '../log.ts';
import { backoffMs } from '../shared/backoff.ts';
import type { SipCommand, SipInput } from '../shared/messages.ts';
import { createSerialQueues } from '../shared/serialQueues.ts';
import { inputKey, sessionOf, sessionOfCallId } from '../shared/sessionKeys.ts';
import { newSid, streamOf } from '../shared/sids.ts';
import { type EventMetadata, type EventStore, WrongExpectedVersionError } from '../store/port.ts';
import { answerable, busyResponse, EngineOverloadedError } from './busy.ts';
import { classify } from './classify.ts';
import { fromRecorded, toEventData } from './codec.ts';
import { createCpsLimiter } from './cpsLimiter.ts';
import { guardStore, PoisonInputError, StoreUnavailableError } from './errors.ts';
import { extraForkAnswer } from './extraAnswer.ts';
import { type Delivery, deliveriesOf, refusal } from './handOver.ts';
import { catchUp, decidedAt, decidedFrom, foldedUpTo, loadSession } from './load.ts';
import type { PeerHealth } from './peerHealth.ts';
import { withReapers } from './reapers.ts';
import { unsettledSessions } from './recovery.ts';
import { unstoredRefusal } from './refusals.ts';
import {
  createSessionCache,
  IDLE_AFTER_MS,
  type LoadedSession,
  RECENT_INPUTS,
  RECENT_REFUSALS,
  remember,
} from './sessionCache.ts';
import { referTargetName } from './targetNames.ts';
import { createTimerScheduler, isInput, realTimers, type TimerHost } from './timers.ts';
import { cpsLimitOf } from './trunkLimits.ts';
import { type TrunkDirectory, trunkDirectory } from './trunks.ts';

export interface EngineOptions {
  store: EventStore;
  config: PivotConfig;
  /**
   * Executes a SIP command (the adapter, in-process or over the bus). `adapterId` is the adapter the
   * causing input came through (undefined when a timer caused it): requests go out through it.
   */
  send: (command: SipCommand, adapterId: string | undefined) => void;
  clock?: () => Date;
  timers?: TimerHost;
  log?: Logger;
  /** Sessions kept loaded between inputs; 50,000 (idle ones are lightened, see sessionCache.ts). */
  cacheSize?: number;
  /** Attempts per input when the stream moved under us. */
  maxAttempts?: number;
  /**
   * Inputs one session may have queued (running or waiting), and all sessions together; past either a
   * new input is refused at once (a request answered 503 with Retry-After) instead of waiting. The
   * session bound applies to requests that start something (see `startsWork`). Defaults 64 and 10,000.
   */
  maxQueuedPerSession?: number;
  maxQueued?: number;
  /**
   * The trunks in force, read on every input so a trunk change applies to the next REFER without a
   * restart. Defaults to the trunks of `config`.
   */
  trunks?: () => TrunkDirectory;
  /**
   * Locates host names (RFC 3263): a REFER whose target is a name waits for its answer (cached) before
   * it is judged. Without it, names are not looked up and such targets are refused.
   */
  peers?: PeerLocator;
  /** Which gateways answer their health checks (peerHealth.ts): the others leave the rotation. */
  health?: PeerHealth;
  /** How far back `start` looks for sessions to re-drive (recovery.ts); 5 minutes. */
  redriveWindowMs?: number;
}

export type Outcome =
  | { kind: 'stored'; sessionSid: string; events: SessionEvent[]; commands: SipCommand[] }
  /** The message is on a far leg lent to a transfer of session `to` (attended transfer): decided there. */
  | { kind: 'forwarded'; sessionSid: string; to: string; why: string }
  | { kind: 'repeated'; sessionSid: string; why: string; commands: SipCommand[] }
  | {
      kind: 'replied' | 'ignored' | 'not-accepted';
      sessionSid: string;
      why: string;
      /** Set when a new call or transfer was refused for its trunk's `cpsLimit`. */
      cpsLimited?: { trunkSid: string; trunkName: string };
      /** Set when the request was refused because the engine's queues were full. */
      overloaded?: true;
    };

export interface Engine {
  /**
   * Handles one SIP input; resolves once it is stored and acted on (or found to need no machine).
   * Rejects when it could not be handled: StoreUnavailableError (the store failed, nothing was acted
   * on: deliver the input again), PoisonInputError (deciding it throws: retrying cannot help), or the
   * last WrongExpectedVersionError when other writers kept moving the stream.
   */
  handle(input: SipInput): Promise<Outcome>;
  /** Feeds a timer expiry (also used by the scheduler itself). Rejects like `handle`. */
  fireTimer(sessionSid: string, input: TimerFired): Promise<Outcome>;
  /**
   * Re-arms pending timers from the store, re-sends the decisions of recent timer firings that may
   * never have been sent (see timers.ts) and re-drives every session whose last input may not have
   * been acted on (recovery.ts); returns how many timers were re-armed.
   */
  start(): Promise<number>;
  /** Finishes queued inputs and stops the timers. */
  stop(): Promise<void>;
  pendingTimers(): ReturnType<ReturnType<typeof createTimerScheduler>['pending']>;
  /** The session cache's figures since start, for /metrics. */
  cacheStats(): SessionCacheStats;
}

export interface SessionCacheStats {
  /**
   * Inputs whose session was found loaded, and those whose existing stream had to be read whole (an
   * input for a session with no stream yet is neither).
   */
  hits: number;
  misses: number;
  /** Idle sessions whose states kept for repeats were let go, and ended sessions let go (`compact`). */
  lightened: number;
  dropped: number;
  size: number;
  capacity: number;
}

function versionOf(event: SessionEvent): string | undefined {
  const owner = machineOf(event);
  if (!owner) return undefined;
  return owner.kind === 'call' ? CALL_MACHINE_VERSION : TRANSFER_MACHINE_VERSION;
}

/**
 * An input to decide, a repeat of one stored at a revision, a repeat of a refusal answered without
 * storing (the commands it got), or an outcome reached without a machine.
 */
type Classified = { event: SessionEvent } | { repeat: number } | { resend: SipCommand[] } | Outcome;

/**
 * Whether a session's own queue bound applies to the input: requests that start something. A flood in
 * one dialog must not turn away what ends it (BYE, CANCEL), an ACK, or the answers to requests the
 * pivot sent (a transfer's target answering while the PBX floods REFERs): those are bounded by the
 * engine-wide bound alone.
 */
function startsWork(input: SipInput): boolean {
  return input.kind === 'request' && !['BYE', 'CANCEL', 'ACK'].includes(input.method);
}

/** Whether an input already took its token from its trunk's cpsLimit (see `overCpsLimit`). */
interface CpsCharge {
  charged: boolean;
}

/** Runs pure code (classify, decide): whatever it throws, it would throw again for the same input. */
function pure<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new PoisonInputError(error);
  }
}

/** Metadata per stored event: cause and effect, the machine version, and the state it led to. */
function metadataFor(decision: Decision, input: SipInput | undefined): EventMetadata[] {
  const { events, snapshots } = decision;
  const correlationId = input ? `${input.callId};${input.transactionKey}` : `${events[0]?.callSid};timer`;
  return events.map((event, index) => {
    const snapshot = snapshots[index];
    const metadata: EventMetadata = { correlationId };
    if (index > 0) metadata.causationId = 'input';
    const machineVersion = versionOf(event);
    if (machineVersion) metadata.machineVersion = machineVersion;
    if (snapshot) metadata.stateAfter = snapshot.value;
    if (index === 0 && input) metadata.inputKey = inputKey(input);
    return metadata;
  });
}

function inputLabel(sip: SipInput | undefined): string {
  if (!sip) return 'timer';
  return sip.kind === 'request'
    ? `${sip.method} ${sip.transactionKey}`
    : `${sip.status} ${sip.cseq.method} ${sip.transactionKey}`;
}

function causeOf(error: unknown): string | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error ? (cause.stack ?? String(cause)) : undefined;
}

export function createEngine(options: EngineOptions): Engine {
  const { config } = options;
  // Every store failure arrives as a StoreUnavailableError, so it is told apart from a poison input.
  const store = guardStore(options.store);
  const log = options.log ?? silentLogger;
  const clock = options.clock ?? (() => new Date());
  const fromConfig = trunkDirectory(config, options.peers, options.health);
  const currentTrunks = options.trunks ?? (() => fromConfig);
  const cacheCapacity = options.cacheSize ?? 50_000;
  const cache = createSessionCache(cacheCapacity);
  const cacheCounts = { hits: 0, misses: 0, lightened: 0, dropped: 0 };
  // Not on `timers`: it decides nothing, and a test's manual timer host need not drive it.
  const compacting = setInterval(() => {
    const done = cache.compact(clock().getTime());
    cacheCounts.lightened += done.lightened;
    cacheCounts.dropped += done.dropped;
  }, IDLE_AFTER_MS / 4);
  compacting.unref();
  /** One mailbox a session: its inputs are handled one at a time, in arrival order. */
  const mailboxes = createSerialQueues();
  const maxAttempts = options.maxAttempts ?? 5;
  const maxQueuedPerSession = options.maxQueuedPerSession ?? 64;
  const maxQueued = options.maxQueued ?? 10_000;
  const cps = createCpsLimiter();
  let stopped = false;

  /** While an input is being planned (`plan`), what it would send, held until the plan is the final one. */
  let held: (() => void)[] | undefined;

  /** Sends a command; a failing sender must not turn a stored decision into a failed input. */
  function send(command: SipCommand, adapterId: string | undefined): void {
    if (held) {
      held.push(() => send(command, adapterId));
      return;
    }
    try {
      options.send(command, adapterId);
    } catch (error) {
      log('error', 'sending a command failed', { kind: command.kind, error: String(error) });
    }
  }

  const timerHost = options.timers ?? realTimers;
  const scheduler = createTimerScheduler({
    host: timerHost,
    now: clock,
    log,
    fire: (sessionSid, input) => fireDue(sessionSid, input, 1),
    resend: (sessionSid, revision) => {
      if (!stopped) void redrive(sessionSid, revision, 1, 'timer decision');
    },
  });

  /** Retry delay after a timer's firing or recovery failed on the store: 1 s doubling to 30 s. */
  const timerRetryMs = (tries: number) => backoffMs(tries - 1, { first: 1_000, max: 30_000 });
  /** Retries waiting, cleared on stop. */
  const retries = new Set<unknown>();
  function later(run: () => void, delayMs: number): void {
    const handle = timerHost.set(() => {
      retries.delete(handle);
      if (!stopped) run();
    }, delayMs);
    retries.add(handle);
  }

  /** A due timer: fired, and fired again later if the store failed (its TimerFired was not stored). */
  function fireDue(sessionSid: string, input: TimerFired, tries: number): void {
    if (stopped) return;
    fireTimer(sessionSid, input).catch((error) => {
      if (error instanceof PoisonInputError || stopped) return; // logged by run
      const delayMs = timerRetryMs(tries);
      log('warn', 'timer not fired, trying again', { sessionSid, timerId: input.timerId, delayMs, tries });
      later(() => fireDue(sessionSid, input, tries + 1), delayMs);
    });
  }

  /**
   * Re-sends what was decided for the input stored at `revision`, unless a later input of the session
   * was stored since: then the engine that stored it was alive to act on it. Used for a TimerFired
   * (after a restart or a takeover, see timers.ts) and for any last input at start-up (recovery.ts).
   */
  function redrive(sessionSid: string, revision: number, tries: number, what: string): Promise<void> {
    return mailboxes
      .post(sessionSid, async () => {
        const since = await store.readStream(streamOf(sessionSid), { fromRevision: revision + 1 });
        if (since.some(isInput)) return;
        const commands = await decidedAt(store, sessionSid, revision);
        for (const command of commands) send(command, undefined);
        // Inputs owed to another session (attended transfer) may not have reached it either.
        deliverAll(deliveriesOf(since.map(fromRecorded)));
        log('info', `${what} re-sent (its sending may have been lost)`, {
          sessionSid,
          revision,
          commands: commands.length,
        });
      })
      .catch((error) => {
        if (stopped) return;
        if (!(error instanceof StoreUnavailableError)) {
          log('error', `${what} could not be re-sent`, { sessionSid, revision, error: String(error) });
          return;
        }
        const delayMs = timerRetryMs(tries);
        log('warn', `${what} not re-sent, trying again`, { sessionSid, revision, delayMs });
        later(() => void redrive(sessionSid, revision, tries + 1, what), delayMs);
      });
  }

  /** After a restart: re-drives every session whose last input may never have been acted on. */
  async function recover(): Promise<void> {
    const unsettled = await unsettledSessions(store, {
      now: Date.now(),
      ...(options.redriveWindowMs !== undefined ? { windowMs: options.redriveWindowMs } : {}),
    });
    if (unsettled.length > 0)
      log('info', 're-driving sessions after a restart', { sessions: unsettled.length });
    await Promise.all(
      unsettled.map(({ sessionSid, revision }) => redrive(sessionSid, revision, 1, 'last decision')),
    );
  }

  /** The cached session with what the stream gained since, remembered as shared when it gained any. */
  async function caughtUp(sessionSid: string, cached: LoadedSession): Promise<LoadedSession> {
    const stored = await catchUp(store, sessionSid, cached);
    if (stored === cached) return cached;
    const shared = { ...stored, shared: true };
    cache.set(sessionSid, shared);
    return shared;
  }

  /** What an input comes to on a loaded session, before anything is sent or stored. */
  function plan(current: LoadedSession, toInput: (current: LoadedSession) => Classified) {
    // Classifying may answer the request itself (a 481, a 491): on a cached copy that turns out stale,
    // that answer must not go out, so it is held until the plan is known to be final (`sendHeld`).
    const answers: (() => void)[] = [];
    held = answers;
    let classified: Classified;
    try {
      classified = pure(() => toInput(current));
    } finally {
      held = undefined;
    }
    const decision =
      'event' in classified ? pure(() => decide(current.session, classified.event)) : undefined;
    return { current, classified, decision, answers };
  }

  function sendHeld({ answers }: ReturnType<typeof plan>): void {
    for (const answer of answers) answer();
  }

  /** Whether the plan ends in an append (and so in a revision check), unless a trunk's cpsLimit refuses it. */
  function appends({ current, decision }: ReturnType<typeof plan>): boolean {
    return decision?.accepted === true && !pure(() => unstoredRefusal(current.session, decision.events));
  }

  /** One attempt: decide against the state we have and append; a conflict is thrown to the caller. */
  async function attempt(
    sessionSid: string,
    toInput: (current: LoadedSession) => Classified,
    sip: SipInput | undefined,
    charge: CpsCharge,
  ): Promise<Outcome> {
    // A cached session is decided on without reading the store: an append names the revision it was
    // decided on, so a stream another writer moved meanwhile fails it as a conflict (then caught up and
    // decided again). Only an outcome that stores nothing escapes that check: before one, the store is
    // read. A session another writer is seen to share (two engines taking turns on a partition) is read
    // first every time, which costs less than a failed append.
    const cached = cache.get(sessionSid);
    let planned: ReturnType<typeof plan>;
    if (cached) cacheCounts.hits++;
    if (!cached) {
      const read = await loadSession(store, sessionSid);
      // A session with no stream yet (a new call) could not have been cached: not a miss.
      if (read.revision >= 0) cacheCounts.misses++;
      planned = plan(read, toInput);
    } else if (cached.shared) planned = plan(await caughtUp(sessionSid, cached), toInput);
    else {
      planned = plan(cached, toInput);
      if (!appends(planned)) {
        const stored = await caughtUp(sessionSid, cached);
        if (stored !== cached) planned = plan(stored, toInput);
      }
    }
    sendHeld(planned);
    const { current, classified, decision } = planned;
    if ('resend' in classified) {
      for (const command of classified.resend) send(command, sip?.adapterId);
      return { kind: 'replied', sessionSid, why: 'repeated refusal: answered again' };
    }
    if ('repeat' in classified) {
      // An input older than the recent ones is folded up to once, then remembered like a recent one.
      const before = current.before.get(classified.repeat);
      let commands: SipCommand[];
      if (before) commands = await decidedFrom(store, sessionSid, classified.repeat, before);
      else {
        const folded = await foldedUpTo(store, sessionSid, classified.repeat);
        remember(current.before, classified.repeat, folded.before, RECENT_INPUTS);
        commands = folded.input ? decide(folded.before, folded.input).commands : [];
      }
      for (const command of commands) send(command, sip?.adapterId);
      log('info', 'repeated input: re-sent its decisions', { sessionSid, revision: classified.repeat });
      return { kind: 'repeated', sessionSid, why: `stored at revision ${classified.repeat}`, commands };
    }
    if (!('event' in classified) || !decision) {
      const outcome = classified as Outcome;
      return outcome.kind === 'ignored' ? (answerExtraFork(current, sip) ?? outcome) : outcome;
    }
    const event = classified.event;
    if (!decision.accepted) {
      const extra = answerExtraFork(current, sip);
      if (extra) return extra;
      log('info', 'input not accepted in this state', { sessionSid, type: event.type });
      return { kind: 'not-accepted', sessionSid, why: `${event.type} not accepted` };
    }
    const refusal = pure(() => unstoredRefusal(current.session, decision.events));
    if (refusal)
      return refuseUnstored(
        current,
        refusal,
        decision.commands,
        sip,
        `REFER refused ${refusal.status}: ${refusal.reason}`,
      );
    const limited = overCpsLimit(current, decision.events, charge);
    if (limited && current === cached) {
      // A refusal stores nothing, so it must not rest on a copy another writer may have moved on from.
      if ((await caughtUp(sessionSid, cached)) !== cached) return attempt(sessionSid, toInput, sip, charge);
    }
    if (limited) {
      log('warn', "over the trunk's cpsLimit: refused with 503", {
        sessionSid,
        trunk: limited.trunkName,
        type: event.type,
      });
      const why = `trunk ${limited.trunkName} is over its cpsLimit`;
      const answer = sip && answerable(sip) ? [busyResponse(sip, why, 1)] : [];
      // A refused REFER is still the dialog's latest request from the PBX (its remote CSeq).
      const refer = event.type === 'ReferReceived' ? event : undefined;
      const refused = refer
        ? ({
            type: 'ReferRejected',
            callSid: refer.callSid,
            transferSid: refer.transferSid,
            at: refer.at,
            status: 503,
            reason: why,
            leg: refer.leg,
            cseq: refer.cseq,
          } as const)
        : undefined;
      const outcome = refuseUnstored(current, refused, answer, sip, why);
      return { ...outcome, cpsLimited: { trunkSid: limited.trunkSid, trunkName: limited.trunkName } };
    }
    const data = pure(() => {
      const metadata = metadataFor(decision, sip);
      const encoded = decision.events.map((fact, index) => toEventData(fact, metadata[index]!));
      // Facts name the input that caused them.
      for (const fact of encoded.slice(1)) fact.metadata.causationId = encoded[0]!.id;
      return encoded;
    });
    const expectedRevision = current.revision < 0 ? 'no-stream' : current.revision;
    try {
      const result = await store.appendToStream(streamOf(sessionSid), data, { expectedRevision });
      if (sip) {
        current.seen.set(inputKey(sip), current.revision + 1);
        remember(current.before, current.revision + 1, current.session, RECENT_INPUTS);
      }
      cache.set(sessionSid, {
        ...current,
        session: decision.session,
        revision: result.nextExpectedRevision,
        usedAt: clock().getTime(),
      });
    } catch (error) {
      // A conflict leaves the cached fold a true prefix of the stream: the retry reads only what the
      // other writer added. Any other failure may mean anything: load afresh.
      if (error instanceof WrongExpectedVersionError && cache.get(sessionSid) === current) {
        cache.set(sessionSid, { ...current, shared: true });
      } else cache.delete(sessionSid);
      throw error;
    }
    // Persist, then act.
    scheduler.observe(sessionSid, decision.events);
    for (const command of decision.commands) send(command, sip?.adapterId);
    deliverAll(deliveriesOf(decision.events));
    return { kind: 'stored', sessionSid, events: decision.events, commands: decision.commands };
  }

  /**
   * Answers a request with `commands` and stores nothing (refusals.ts, cpsLimit). A refused REFER's
   * ReferRejected is folded into the session kept in memory only, so the dialog's remote CSeq still
   * rises (RFC 3261 §12.2.2); the answer is remembered for a copy of the request delivered again.
   */
  function refuseUnstored(
    current: LoadedSession,
    refusal: ReferRejected | undefined,
    commands: SipCommand[],
    sip: SipInput | undefined,
    why: string,
  ): Outcome & { kind: 'replied' } {
    const sessionSid = current.session.rootCallSid;
    // A refused new call leaves no session behind: a flood of them must not push live calls out of the cache.
    if (current.revision >= 0) {
      if (sip) remember(current.refused, inputKey(sip), commands, RECENT_REFUSALS);
      const session = refusal ? pure(() => evolve(current.session, refusal)) : current.session;
      cache.set(sessionSid, { ...current, session, usedAt: clock().getTime() });
    }
    for (const command of commands) send(command, sip?.adapterId);
    log('info', 'refused without storing', { sessionSid, why });
    return { kind: 'replied', sessionSid, why };
  }

  /**
   * The trunk whose `cpsLimit` this decision would exceed: a new call, or an accepted transfer. An input
   * decided again after a conflict is charged once.
   */
  function overCpsLimit(
    current: LoadedSession,
    events: SessionEvent[],
    charge: CpsCharge,
  ): { trunkSid: string; trunkName: string } | undefined {
    const first = events[0];
    let trunk: { trunkSid: string; trunkName: string } | undefined;
    if (first?.type === 'CallReceived') trunk = first;
    else if (first?.type === 'ReferReceived' && events.some((e) => e.type === 'ReferAccepted')) {
      const call = current.session.calls[first.callSid]?.context;
      if (call) trunk = { trunkSid: call.trunkSid, trunkName: call.trunkName };
    }
    if (!trunk || charge.charged) return undefined;
    const limit = cpsLimitOf(currentTrunks(), trunk.trunkName);
    if (!cps.take(trunk.trunkSid, limit, clock().getTime())) return trunk;
    charge.charged = true;
    return undefined;
  }

  /** A 2xx from a second fork of an answered INVITE no machine took: ACK and BYE it (extraAnswer.ts). */
  function answerExtraFork(current: LoadedSession, sip: SipInput | undefined): Outcome | undefined {
    if (!sip) return undefined;
    const commands = pure(() => extraForkAnswer(current.session, sip));
    if (!commands) return undefined;
    const sessionSid = current.session.rootCallSid;
    log('info', '2xx from another fork of an answered INVITE: ACK and BYE it', {
      sessionSid,
      transactionKey: sip.transactionKey,
      toTag: sip.to.params.tag,
    });
    for (const command of commands) send(command, sip.adapterId);
    return { kind: 'replied', sessionSid, why: 'extra 2xx from another fork: ACKed and BYEd' };
  }

  async function run(
    sessionSid: string,
    toInput: (current: LoadedSession) => Classified,
    sip: SipInput | undefined,
    prepare?: () => Promise<void>,
  ): Promise<Outcome> {
    return mailboxes.post(sessionSid, async () => {
      // In the mailbox, so the session's inputs keep their order while a lookup is awaited.
      await prepare?.();
      const charge: CpsCharge = { charged: false };
      for (let tries = 1; ; tries++) {
        try {
          return await attempt(sessionSid, toInput, sip, charge);
        } catch (error) {
          if (error instanceof WrongExpectedVersionError && tries < maxAttempts) {
            log('warn', 'stream moved, reloading', { sessionSid, tries });
            continue;
          }
          const fields = { sessionSid, input: inputLabel(sip), error: String(error), cause: causeOf(error) };
          if (error instanceof PoisonInputError) {
            log('error', 'input failed: deciding it throws, it cannot be handled', fields);
          } else {
            log('error', 'input failed: not handled, to be delivered again', { ...fields, tries });
          }
          throw error;
        }
      }
    });
  }

  /**
   * Inputs owed to other sessions (handOver.ts), each posted to its session's mailbox, never awaited
   * from inside another mailbox (two sessions asking each other would wait for each other). A store
   * failure tries again later; a hand-over the other session has no call for is refused to the asker.
   */
  function deliverAll(deliveries: Delivery[], tries = 1): void {
    for (const delivery of deliveries) {
      if (stopped) return;
      run(delivery.sessionSid, () => ({ event: delivery.input }), undefined)
        .then((outcome) => {
          const asked = delivery.input;
          if (outcome.kind !== 'not-accepted' || asked.type !== 'HandOverRequested') return;
          const refused = refusal(
            asked.fromCallSid,
            asked.transferSid,
            asked.at,
            481,
            'the replaced call has ended',
          );
          deliverAll([{ sessionSid: asked.fromSessionSid, input: refused }]);
        })
        .catch((error) => {
          if (error instanceof PoisonInputError || stopped) return;
          const delayMs = timerRetryMs(tries);
          log('warn', 'input for another session not delivered, trying again', {
            sessionSid: delivery.sessionSid,
            type: delivery.input.type,
            delayMs,
          });
          later(() => deliverAll([delivery], tries + 1), delayMs);
        });
    }
  }

  /**
   * Reads the session a REFER's Replaces dialog maps to (attended transfer), for classify to judge. The
   * read runs in that session's mailbox, through its cached fold: an input it is deciding meanwhile (its
   * PBX's BYE, a re-INVITE) is stored first and seen, and the cached entry, whose maps are updated in
   * place, is never caught up by two tasks at once. Called outside any mailbox (never awaiting one
   * mailbox from inside another).
   */
  async function replacedSessionFor(input: SipInput): Promise<SessionState | undefined> {
    if (input.kind !== 'request' || input.method !== 'REFER') return undefined;
    const replaces = replacesOf(input.headers['refer-to'] ?? []);
    if (replaces.kind !== 'replaces') return undefined;
    const callId = replaces.dialog.callId;
    const sid = sessionOfCallId(callId);
    return mailboxes.post(sid, async () => {
      // Caught up with the store: A's decision rests on B's state, and no append of B's checks it.
      const cached = cache.get(sid);
      if (cached) return (await caughtUp(sid, cached)).session;
      const current = await loadSession(store, sid);
      // A Replaces naming no stored session must not push live calls out of the cache.
      if (current.revision >= 0) cache.set(sid, current);
      return current.session;
    });
  }

  /**
   * An INVITE with Replaces belongs to the session of the dialog it names; its own Call-ID's session
   * first stores where the new dialog's messages go (DialogRedirected), then the INVITE goes there.
   */
  async function replacingInvite(input: SipInput): Promise<Outcome | undefined> {
    if (input.kind !== 'request' || input.method !== 'INVITE' || input.to.params.tag) return undefined;
    const value = input.headers.replaces?.[0];
    const dialog = value === undefined ? undefined : parseReplaces(value);
    if (!dialog) return undefined;
    const own = sessionOf(input);
    const target = sessionOfCallId(dialog.callId);
    if (target === own) return undefined;
    const redirect = {
      type: 'DialogRedirected' as const,
      callSid: own,
      at: clock().toISOString(),
      callId: input.callId,
      toSessionSid: target,
    };
    await run(own, () => ({ event: redirect }), undefined);
    return handle(input, target);
  }

  async function handle(input: SipInput, forwardedTo?: string): Promise<Outcome> {
    if (!forwardedTo) {
      const replaced = await replacingInvite(input);
      if (replaced) return replaced;
    }
    const sessionSid = forwardedTo ?? sessionOf(input);
    const sessionFull = startsWork(input) && mailboxes.queued(sessionSid) >= maxQueuedPerSession;
    if (sessionFull || mailboxes.total >= maxQueued) {
      return refuseOverloaded(sessionSid, input);
    }
    const replacedSession = await replacedSessionFor(input);
    const targetName = options.peers ? referTargetName(input, currentTrunks().domains) : undefined;
    let located: Located | undefined;
    const lookUp =
      targetName && options.peers
        ? async () => {
            located = await options.peers!.resolve(targetName);
          }
        : undefined;
    const outcome = await run(
      sessionSid,
      (current) => {
        const key = inputKey(input);
        const stored = current.seen.get(key);
        if (stored !== undefined) return { repeat: stored };
        const refused = current.refused.get(key);
        if (refused) return { resend: refused };
        const result = classify(current.session, input, {
          config,
          trunks: currentTrunks(),
          now: clock().toISOString(),
          newSid: (prefix) => newSid(prefix),
          ...(replacedSession ? { replacedSession } : {}),
          located: (uri) => (uri === targetName ? located : undefined),
        });
        if (result.kind === 'input') return { event: withReapers(result.event, config, currentTrunks()) };
        if (result.kind === 'forward') {
          // Forwarded once: the session it goes to decides it (or drops it) on its own state.
          if (forwardedTo) return { kind: 'ignored', sessionSid, why: `forwarded again: ${result.why}` };
          return { kind: 'forwarded', sessionSid, to: result.sessionSid, why: result.why };
        }
        if (result.kind === 'reply') {
          log('info', 'answered without a machine', {
            sessionSid,
            status: result.command.status,
            why: result.why,
          });
          send(result.command, input.adapterId);
          return { kind: 'replied', sessionSid, why: result.why };
        }
        if (result.kind === 'resend') {
          // Not stored: nothing after a BYE depends on its CSeq, and a lost one is hung up by the peer.
          log('info', 'request sent again without a machine', { sessionSid, why: result.why });
          send(result.command, input.adapterId);
          return { kind: 'replied', sessionSid, why: result.why };
        }
        log('debug', 'ignored', { sessionSid, why: result.why });
        return { kind: 'ignored', sessionSid, why: result.why };
      },
      input,
      lookUp,
    );
    if (outcome.kind !== 'forwarded' || forwardedTo) return outcome;
    log('debug', 'forwarded', { sessionSid, to: outcome.to, why: outcome.why });
    return handle(input, outcome.to);
  }

  /**
   * The queues are full: a request is answered 503 with Retry-After at once, without loading its
   * session; anything else (a response, an ACK) is rejected unhandled, for a durable bus to deliver
   * again later (the peer retransmits a 2xx until its ACK, RFC 3261 §13.3.1.4).
   */
  async function refuseOverloaded(sessionSid: string, input: SipInput): Promise<Outcome> {
    const fields = {
      sessionSid,
      input: inputLabel(input),
      queued: mailboxes.queued(sessionSid),
      total: mailboxes.total,
    };
    if (!answerable(input)) {
      log('warn', 'engine queues full: input refused', fields);
      throw new EngineOverloadedError(
        `engine queues full (${fields.queued} queued for the session, ${fields.total} in all)`,
      );
    }
    log('warn', 'engine queues full: request answered 503', fields);
    send(busyResponse(input, 'the engine is overloaded', 1), input.adapterId);
    return { kind: 'replied', sessionSid, why: 'engine queues full: answered 503', overloaded: true };
  }

  function fireTimer(sessionSid: string, input: TimerFired): Promise<Outcome> {
    return run(sessionSid, () => ({ event: input }), undefined);
  }

  return {
    handle,
    fireTimer,
    async start() {
      const armed = await scheduler.rearm(options.store);
      await recover();
      return armed;
    },
    async stop() {
      stopped = true;
      clearInterval(compacting);
      for (const handle of retries) timerHost.clear(handle);
      retries.clear();
      await mailboxes.drain();
      await scheduler.stop();
    },
    pendingTimers: () => scheduler.pending(),
    cacheStats: () => ({ ...cacheCounts, size: cache.size, capacity: cacheCapacity }),
  };
}
