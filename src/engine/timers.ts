/**
 * Durable timers. Machines schedule timers as TimerScheduled facts; this scheduler arms an in-memory
 * timeout for each one and, when it expires, feeds TimerFired back as an input. Because the facts are
 * stored, a restarted engine re-arms every pending timer from the store (`rearm`).
 *
 * A timer's decision has no peer to retransmit it: if the engine that stored a TimerFired dies before
 * sending its commands (the CANCEL of a no-answer timeout, a fallback BYE), nothing would ever send
 * them. So the scheduler asks the engine to re-send (`resend`) the decision of every recent TimerFired
 * that is still its session's last input: at `rearm` for what is in the store, and, while following,
 * for a firing by another engine that is still the session's last input a grace period later.
 * Commands have deterministic identifiers, so a repeat is a retransmission the adapter absorbs.
 */
import type { SessionEvent, TimerFired, TimerScheduled } from '../../machines/events.ts';
import { type Logger, silentLogger } from '../log.ts';
import type { EventStore, RecordedEvent } from '../store/port.ts';
import { fromRecorded } from './codec.ts';
import { type AllFollower, followAll } from './followAll.ts';

/** 64*T1: after this long SIP has given up on the transactions a timer's commands started anyway. */
export const RECOVERY_WINDOW_MS = 32_000;

export interface TimerHost {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: TimerHost = {
  set: (callback, delayMs) => setTimeout(callback, Math.max(0, Math.min(delayMs, 2 ** 31 - 1))),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface PendingTimer {
  sessionSid: string;
  timer: TimerScheduled;
}

export interface TimerScheduler {
  /** Updates the armed timers from events just stored for a session. */
  observe(sessionSid: string, events: SessionEvent[]): void;
  /**
   * Arms every timer still pending in the store (after a restart), then keeps following `$all` so
   * timers other engines schedule or cancel are known here too: if the engine that scheduled a timer
   * dies, another one fires it. (Several engines firing the same timer is harmless: the first
   * TimerFired is stored, the machines do not accept the later ones.)
   */
  rearm(store: EventStore): Promise<number>;
  pending(): PendingTimer[];
  stop(): Promise<void>;
}

export interface TimerSchedulerOptions {
  host: TimerHost;
  now: () => Date;
  fire: (sessionSid: string, input: TimerFired) => void;
  /**
   * Re-sends the commands decided for the TimerFired stored at `revision` of the session, unless a later
   * input of the session was stored since (then its commands evidently went out).
   */
  resend?: (sessionSid: string, revision: number) => void;
  log?: Logger;
  /** How long a firing by another engine may stay its session's last input before we re-send. 5 s. */
  recoverAfterMs?: number;
  /** Back-off bounds when following `$all` fails. 100 ms doubling to 5 s. */
  followRetryMs?: { first: number; max: number };
}

/** An input event (not a fact it caused): the engine gives facts a causation id, never the input. */
export function isInput(recorded: RecordedEvent): boolean {
  return recorded.metadata.causationId === undefined;
}

function timerFacts(recorded: RecordedEvent): { sessionSid: string; event: SessionEvent } | undefined {
  if (!recorded.streamName.startsWith('call-')) return undefined;
  if (
    recorded.type !== 'TimerScheduled' &&
    recorded.type !== 'TimerCanceled' &&
    recorded.type !== 'TimerFired'
  ) {
    return undefined;
  }
  return { sessionSid: recorded.streamName.slice('call-'.length), event: fromRecorded(recorded) };
}

export function createTimerScheduler(options: TimerSchedulerOptions): TimerScheduler {
  const log = options.log ?? silentLogger;
  const recoverAfterMs = options.recoverAfterMs ?? 5_000;
  const followRetry = options.followRetryMs ?? { first: 100, max: 5_000 };
  const armed = new Map<string, { pending: PendingTimer; handle: unknown }>();
  /** Checks scheduled for firings by other engines. */
  const recoveries = new Set<unknown>();
  let follower: AllFollower | undefined;
  let stopped = false;

  function arm(sessionSid: string, timer: TimerScheduled): void {
    disarm(timer.timerId);
    const delay = Date.parse(timer.dueAt) - options.now().getTime();
    const handle = options.host.set(() => {
      armed.delete(timer.timerId);
      options.fire(sessionSid, {
        type: 'TimerFired',
        callSid: timer.callSid,
        // setTimeout runs on the monotonic clock and may wake a millisecond before the wall clock's
        // due time; a timer is never recorded as firing before it was due.
        at: new Date(Math.max(options.now().getTime(), Date.parse(timer.dueAt))).toISOString(),
        timerId: timer.timerId,
        name: timer.name,
        ...(timer.transferSid ? { transferSid: timer.transferSid } : {}),
      });
    }, delay);
    armed.set(timer.timerId, { pending: { sessionSid, timer }, handle });
  }

  function disarm(timerId: string): void {
    const entry = armed.get(timerId);
    if (!entry) return;
    options.host.clear(entry.handle);
    armed.delete(timerId);
  }

  function observe(sessionSid: string, events: SessionEvent[]): void {
    for (const event of events) {
      if (event.type === 'TimerScheduled') arm(sessionSid, event);
      else if (event.type === 'TimerCanceled' || event.type === 'TimerFired') disarm(event.timerId);
    }
  }

  /** Is `at` (an engine clock time) recent enough for its commands to still matter? */
  const isRecent = (at: string) => options.now().getTime() - Date.parse(at) <= RECOVERY_WINDOW_MS;

  /** Another engine stored this TimerFired: if it died before acting, act for it (see the header). */
  function watchForeignFiring(sessionSid: string, recorded: RecordedEvent): void {
    const resend = options.resend;
    if (!resend) return;
    const handle = options.host.set(() => {
      recoveries.delete(handle);
      if (!stopped) resend(sessionSid, recorded.revision);
    }, recoverAfterMs);
    recoveries.add(handle);
  }

  /** Keeps `pending` current with the facts other engines store, from `after` on. */
  function follow(store: EventStore, after: number): AllFollower {
    return followAll({
      store,
      after,
      name: 'timer follower',
      log,
      firstRetryMs: followRetry.first,
      maxRetryMs: followRetry.max,
      onEvent: (recorded) => {
        const found = timerFacts(recorded);
        if (!found || stopped) return;
        // Still armed here, so not fired by us: another engine fired it.
        if (found.event.type === 'TimerFired' && armed.has(found.event.timerId) && isRecent(found.event.at)) {
          watchForeignFiring(found.sessionSid, recorded);
        }
        observe(found.sessionSid, [found.event]);
      },
    });
  }

  return {
    observe,
    async rearm(store) {
      // One pass over $all: later facts cancel earlier ones, what is left is pending.
      const pending = new Map<string, PendingTimer>();
      // Sessions whose last input is a recent TimerFired: its decision may never have been sent.
      const lastFired = new Map<string, number>();
      let after = 0;
      for (;;) {
        const page = await store.readAll({ after, maxCount: 1000 });
        if (page.length === 0) break;
        for (const recorded of page) {
          after = recorded.position;
          const found = timerFacts(recorded);
          if (recorded.streamName.startsWith('call-') && isInput(recorded)) {
            const sessionSid = recorded.streamName.slice('call-'.length);
            const fired = found?.event.type === 'TimerFired' && isRecent(found.event.at);
            if (fired) lastFired.set(sessionSid, recorded.revision);
            else lastFired.delete(sessionSid);
          }
          if (!found) continue;
          const { sessionSid, event } = found;
          if (event.type === 'TimerScheduled') pending.set(event.timerId, { sessionSid, timer: event });
          else if (event.type === 'TimerCanceled' || event.type === 'TimerFired')
            pending.delete(event.timerId);
        }
      }
      for (const { sessionSid, timer } of pending.values()) arm(sessionSid, timer);
      if (options.resend) {
        for (const [sessionSid, revision] of lastFired) options.resend(sessionSid, revision);
      }
      await follower?.stop();
      follower = follow(store, after);
      return pending.size;
    },
    pending: () => [...armed.values()].map((entry) => entry.pending),
    async stop() {
      stopped = true;
      await follower?.stop();
      for (const entry of armed.values()) options.host.clear(entry.handle);
      armed.clear();
      for (const handle of recoveries) options.host.clear(handle);
      recoveries.clear();
    },
  };
}
