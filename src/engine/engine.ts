/**
 * The engine: for each input, in its session's mailbox, load (fold the stream) -> classify -> decide
 * (the machines, pure) -> append with the expected revision -> act (send the SIP commands).
 * A conflict means another writer got there first: reload and decide again, a bounded number of times.
 */

import { CALL_MACHINE_VERSION } from '../../machines/call/call.machine.ts';
import type { SessionEvent, TimerFired } from '../../machines/events.ts';
import { routingKeyOf } from '../../machines/ids.ts';
import { decide, evolve, machineOf, type SessionState } from '../../machines/session.ts';
import { TRANSFER_MACHINE_VERSION } from '../../machines/transfer/transfer.machine.ts';
import type { SipCommand, SipInput } from '../bus/messages.ts';
import type { PivotConfig } from '../config/index.ts';
import { type Logger, silentLogger } from '../log.ts';
import { type EventMetadata, type EventStore, WrongExpectedVersionError } from '../store/port.ts';
import { classify } from './classify.ts';
import { toEventData } from './codec.ts';
import { catchUp, decidedAt, loadSession } from './load.ts';
import { createMailboxes } from './mailbox.ts';
import { createSessionCache, type LoadedSession } from './sessionCache.ts';
import { callSidForCallId, newSid, streamOf } from './sids.ts';
import { createTimerScheduler, realTimers, type TimerHost } from './timers.ts';
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
  /** Sessions kept loaded between inputs. */
  cacheSize?: number;
  /** Attempts per input when the stream moved under us. */
  maxAttempts?: number;
  /**
   * The trunks in force, read on every input so a trunk change applies to the next REFER without a
   * restart. Defaults to the trunks of `config`.
   */
  trunks?: () => TrunkDirectory;
}

export type Outcome =
  | { kind: 'stored'; sessionSid: string; events: SessionEvent[]; commands: SipCommand[] }
  | { kind: 'repeated'; sessionSid: string; why: string; commands: SipCommand[] }
  | { kind: 'replied' | 'ignored' | 'not-accepted'; sessionSid: string; why: string };

export interface Engine {
  /** Handles one SIP input; resolves once it is stored and acted on. Never rejects. */
  handle(input: SipInput): Promise<Outcome>;
  /** Feeds a timer expiry (also used by the scheduler itself). */
  fireTimer(sessionSid: string, input: TimerFired): Promise<Outcome>;
  /** Re-arms pending timers from the store; returns how many. */
  start(): Promise<number>;
  /** Finishes queued inputs and stops the timers. */
  stop(): Promise<void>;
  pendingTimers(): ReturnType<ReturnType<typeof createTimerScheduler>['pending']>;
}

/** The session a SIP message belongs to: the routing key in our Call-IDs, else the peer's Call-ID. */
export function sessionOf(input: SipInput): string {
  return routingKeyOf(input.callId) ?? callSidForCallId(input.callId);
}

function versionOf(event: SessionEvent): string | undefined {
  const owner = machineOf(event);
  if (!owner) return undefined;
  return owner.kind === 'call' ? CALL_MACHINE_VERSION : TRANSFER_MACHINE_VERSION;
}

/** An input to decide, a repeat of one stored at a revision, or an outcome reached without a machine. */
type Classified = { event: SessionEvent } | { repeat: number } | Outcome;

/**
 * What makes a SIP input unique: a request's server transaction, or a response's client transaction
 * and status (a 180 and a 200 to the same INVITE are different inputs; a repeated 200 is the same).
 */
export function inputKey(input: SipInput): string {
  return input.kind === 'request' ? input.transactionKey : `${input.transactionKey}:${input.status}`;
}

/** Metadata per stored event: cause and effect, the machine version, and the state it led to. */
function metadataFor(
  before: SessionState,
  events: SessionEvent[],
  input: SipInput | undefined,
): EventMetadata[] {
  const correlationId = input ? `${input.callId};${input.transactionKey}` : `${events[0]?.callSid};timer`;
  let session = before;
  return events.map((event, index) => {
    session = evolve(session, event);
    const owner = machineOf(event);
    const snapshot = owner
      ? (owner.kind === 'call' ? session.calls : session.transfers)[owner.sid]
      : undefined;
    const metadata: EventMetadata = { correlationId };
    if (index > 0) metadata.causationId = 'input';
    const machineVersion = versionOf(event);
    if (machineVersion) metadata.machineVersion = machineVersion;
    if (snapshot) metadata.stateAfter = snapshot.value;
    if (index === 0 && input) metadata.inputKey = inputKey(input);
    return metadata;
  });
}

export function createEngine(options: EngineOptions): Engine {
  const { store, config } = options;
  const log = options.log ?? silentLogger;
  const clock = options.clock ?? (() => new Date());
  const fromConfig = trunkDirectory(config);
  const currentTrunks = options.trunks ?? (() => fromConfig);
  const cache = createSessionCache(options.cacheSize ?? 10_000);
  const mailboxes = createMailboxes();
  const maxAttempts = options.maxAttempts ?? 5;
  let stopped = false;

  const scheduler = createTimerScheduler({
    host: options.timers ?? realTimers,
    now: clock,
    fire: (sessionSid, input) => {
      if (!stopped) void fireTimer(sessionSid, input);
    },
  });

  async function loaded(sessionSid: string): Promise<LoadedSession> {
    const cached = cache.get(sessionSid);
    return cached ? catchUp(store, sessionSid, cached) : loadSession(store, sessionSid);
  }

  /** One attempt: decide against the state we have and append; a conflict is thrown to the caller. */
  async function attempt(
    sessionSid: string,
    toInput: (current: LoadedSession) => Classified,
    sip: SipInput | undefined,
  ): Promise<Outcome> {
    const current = await loaded(sessionSid);
    const classified = toInput(current);
    if ('repeat' in classified) {
      const commands = await decidedAt(store, sessionSid, classified.repeat);
      for (const command of commands) options.send(command, sip?.adapterId);
      log('info', 'repeated input: re-sent its decisions', { sessionSid, revision: classified.repeat });
      return { kind: 'repeated', sessionSid, why: `stored at revision ${classified.repeat}`, commands };
    }
    if (!('event' in classified)) return classified;
    const decision = decide(current.session, classified.event);
    if (!decision.accepted) {
      log('info', 'input not accepted in this state', { sessionSid, type: classified.event.type });
      return { kind: 'not-accepted', sessionSid, why: `${classified.event.type} not accepted` };
    }
    const metadata = metadataFor(current.session, decision.events, sip);
    const data = decision.events.map((event, index) => toEventData(event, metadata[index]!));
    // Facts name the input that caused them.
    for (const event of data.slice(1)) event.metadata.causationId = data[0]!.id;
    const expectedRevision = current.revision < 0 ? 'no-stream' : current.revision;
    try {
      const result = await store.appendToStream(streamOf(sessionSid), data, { expectedRevision });
      const seen = new Map(current.seen);
      if (sip) seen.set(inputKey(sip), current.revision + 1);
      cache.set(sessionSid, { session: decision.session, revision: result.nextExpectedRevision, seen });
    } catch (error) {
      cache.delete(sessionSid);
      throw error;
    }
    // Persist, then act.
    scheduler.observe(sessionSid, decision.events);
    for (const command of decision.commands) options.send(command, sip?.adapterId);
    return { kind: 'stored', sessionSid, events: decision.events, commands: decision.commands };
  }

  async function run(
    sessionSid: string,
    toInput: (current: LoadedSession) => Classified,
    sip: SipInput | undefined,
  ): Promise<Outcome> {
    return mailboxes.post(sessionSid, async () => {
      for (let tries = 1; ; tries++) {
        try {
          return await attempt(sessionSid, toInput, sip);
        } catch (error) {
          if (error instanceof WrongExpectedVersionError && tries < maxAttempts) {
            log('warn', 'stream moved, reloading', { sessionSid, tries });
            continue;
          }
          log('error', 'input failed', { sessionSid, error: String(error) });
          return { kind: 'ignored', sessionSid, why: String(error) };
        }
      }
    });
  }

  function handle(input: SipInput): Promise<Outcome> {
    const sessionSid = sessionOf(input);
    return run(
      sessionSid,
      (current) => {
        const stored = current.seen.get(inputKey(input));
        if (stored !== undefined) return { repeat: stored };
        const result = classify(current.session, input, {
          config,
          trunks: currentTrunks(),
          now: clock().toISOString(),
          newSid: (prefix) => newSid(prefix),
        });
        if (result.kind === 'input') return { event: result.event };
        if (result.kind === 'reply') {
          log('info', 'answered without a machine', {
            sessionSid,
            status: result.command.status,
            why: result.why,
          });
          options.send(result.command, input.adapterId);
          return { kind: 'replied', sessionSid, why: result.why };
        }
        log('debug', 'ignored', { sessionSid, why: result.why });
        return { kind: 'ignored', sessionSid, why: result.why };
      },
      input,
    );
  }

  function fireTimer(sessionSid: string, input: TimerFired): Promise<Outcome> {
    return run(sessionSid, () => ({ event: input }), undefined);
  }

  return {
    handle,
    fireTimer,
    start: () => scheduler.rearm(store),
    async stop() {
      stopped = true;
      await mailboxes.drain();
      await scheduler.stop();
    },
    pendingTimers: () => scheduler.pending(),
  };
}
