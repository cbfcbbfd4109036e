/**
 * Durable timers. Machines schedule timers as TimerScheduled facts; this scheduler arms an in-memory
 * timeout for each one and, when it expires, feeds TimerFired back as an input. Because the facts are
 * stored, a restarted engine re-arms every pending timer from the store (`rearm`).
 */
import type { SessionEvent, TimerFired, TimerScheduled } from '../../machines/events.ts';
import type { AllSubscription, EventStore, RecordedEvent } from '../store/port.ts';
import { fromRecorded } from './codec.ts';

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

export function createTimerScheduler(options: {
  host: TimerHost;
  now: () => Date;
  fire: (sessionSid: string, input: TimerFired) => void;
}): TimerScheduler {
  const armed = new Map<string, { pending: PendingTimer; handle: unknown }>();
  let following: AllSubscription | undefined;

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

  return {
    observe,
    async rearm(store) {
      // One pass over $all: later facts cancel earlier ones, what is left is pending.
      const pending = new Map<string, PendingTimer>();
      let after = 0;
      for (;;) {
        const page = await store.readAll({ after, maxCount: 1000 });
        if (page.length === 0) break;
        for (const recorded of page) {
          after = recorded.position;
          const found = timerFacts(recorded);
          if (!found) continue;
          const { sessionSid, event } = found;
          if (event.type === 'TimerScheduled') pending.set(event.timerId, { sessionSid, timer: event });
          else if (event.type === 'TimerCanceled' || event.type === 'TimerFired')
            pending.delete(event.timerId);
        }
      }
      for (const { sessionSid, timer } of pending.values()) arm(sessionSid, timer);
      following = store.subscribeToAll({ after });
      const subscription = following;
      void (async () => {
        try {
          for await (const recorded of subscription) {
            const found = timerFacts(recorded);
            if (found) observe(found.sessionSid, [found.event]);
          }
        } catch {
          // The store closed under us: the engine is stopping.
        }
      })();
      return pending.size;
    },
    pending: () => [...armed.values()].map((entry) => entry.pending),
    async stop() {
      await following?.close();
      for (const entry of armed.values()) options.host.clear(entry.handle);
      armed.clear();
    },
  };
}
