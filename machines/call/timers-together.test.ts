/**
 * A call with both a session timer (RFC 4028) and reaper limits: each timer is heard in the states
 * where both can fire, and the one that ends the call stops the other.
 */
import { describe, expect, it } from 'vitest';
import type { Reapers, SessionEvent, TimerScheduled } from '../../machines/events.ts';
import { callAnswered, callReceived, ROOT, timerFired } from '../../test/helpers/fixtures.ts';
import { fold, history, spec } from '../../test/helpers/sessionSpec.ts';

const limits: Reapers = { timerCSeconds: 10, ackTimeoutSeconds: 32, maxCallSeconds: 3600 };
const given = () => history(callReceived({ reapers: limits, sessionExpires: 1800 }), callAnswered());

function timerNamed(events: SessionEvent[], name: string): TimerScheduled {
  const found = events
    .filter((e): e is TimerScheduled => e.type === 'TimerScheduled' && e.name === name)
    .at(-1);
  if (!found) throw new Error(`no ${name} timer among ${events.map((e) => e.type).join(', ')}`);
  return found;
}

describe('session timer and reapers on one call', () => {
  it('the session timer still releases an in-progress call that also has a call limit, and cancels the limit', () => {
    const session = timerNamed(given(), 'session-expires');
    const maxCall = timerNamed(given(), 'max-call');
    const then = spec({
      given: given(),
      when: timerFired('session-expires', session.timerId),
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['BYE', 'BYE']);
    expect(
      then.events.filter((e) => e.type === 'TimerCanceled').map((e) => (e as { timerId: string }).timerId),
    ).toContain(maxCall.timerId);
  });

  it('the call limit still ends an in-progress call that also has a session timer', () => {
    const maxCall = timerNamed(given(), 'max-call');
    const then = spec({
      given: given(),
      when: timerFired('max-call', maxCall.timerId),
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['BYE', 'BYE']);
  });

  it('folds the given history to an in-progress call', () => {
    expect(fold(given()).calls[ROOT]?.value).toBe('inProgress');
  });
});
