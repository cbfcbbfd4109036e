/** What engine tests drive an engine with: timers fired by the test, and the commands it sent. */
import type { TimerHost } from '../../src/engine/timers.ts';
import type { SendRequestCommand, SipCommand } from '../../src/shared/messages.ts';

/** Timers fired by the test, not by the wall clock. */
export function manualTimers() {
  const due: { callback: () => void; delayMs: number }[] = [];
  const host: TimerHost = {
    set: (callback, delayMs) => {
      const entry = { callback, delayMs };
      due.push(entry);
      return entry;
    },
    clear: (handle) => {
      const index = due.indexOf(handle as (typeof due)[number]);
      if (index >= 0) due.splice(index, 1);
    },
  };
  return { host, due };
}

export type ManualTimers = ReturnType<typeof manualTimers>;

/** The last request of `method` the engine sent; throws when there is none. */
export function lastRequest(sent: SipCommand[], method: string): SendRequestCommand {
  const found = sent
    .filter((c): c is SendRequestCommand => c.kind === 'request' && c.method === method)
    .at(-1);
  if (!found) throw new Error(`no ${method} sent`);
  return found;
}
