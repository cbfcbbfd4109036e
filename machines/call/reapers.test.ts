import { describe, expect, it } from 'vitest';
import type { Reapers, SessionEvent, TimerScheduled } from '../../machines/events.ts';
import {
  callAnswered,
  callCanceled,
  callReceived,
  callRejected,
  hangup,
  ROOT,
  timerFired,
} from '../../test/helpers/fixtures.ts';
import { history, spec } from '../../test/helpers/sessionSpec.ts';

const limits: Reapers = { timerCSeconds: 10, ackTimeoutSeconds: 32, maxCallSeconds: 3600 };
const received = (reapers: Reapers | undefined = limits, extra = {}) =>
  callReceived({ ...(reapers ? { reapers } : {}), ...extra });

function scheduled(events: SessionEvent[], name: string): TimerScheduled {
  const found = events
    .filter((e): e is TimerScheduled => e.type === 'TimerScheduled' && e.name === name)
    .at(-1);
  if (!found) throw new Error(`no ${name} timer`);
  return found;
}

describe('reaper: Timer C on a ringing outbound leg (RFC 3261 §16.6 step 11)', () => {
  it('a new call schedules Timer C; an old call (no limits) schedules nothing', () => {
    const then = spec({
      given: [],
      when: received(),
      thenEvents: [
        'CallReceived',
        {
          type: 'TimerScheduled',
          name: 'timer-c',
          timerId: `${ROOT}:timer-c`,
          dueAt: new Date(Date.parse(callReceived().at) + 10_000).toISOString(),
        },
      ],
    });
    expect(then.wire).toEqual(['100', 'INVITE']);
    spec({ given: [], when: received(null as never), thenEvents: ['CallReceived'] });
  });

  it('Timer C fires: the carrier INVITE is CANCELed, the caller gets 408, the call ends no-answer', () => {
    const given = history(received());
    const then = spec({
      given,
      when: timerFired('timer-c', scheduled(given, 'timer-c').timerId),
      thenEvents: ['TimerFired', { type: 'CallEnded', callSid: ROOT, status: 'no-answer', sipStatus: 408 }],
      thenState: { calls: { [ROOT]: 'canceling' } },
    });
    expect(then.wire).toEqual(['CANCEL', '408']);
    expect(then.event('CallEnded').why).toContain('Timer C');
  });

  it('an answer, a rejection or a CANCEL stops Timer C', () => {
    const timerId = `${ROOT}:timer-c`;
    for (const when of [callAnswered(), callRejected(486, 'Busy Here'), callCanceled()]) {
      const then = spec({ given: history(received({ timerCSeconds: 10, ackTimeoutSeconds: 32 })), when });
      expect(then.events.filter((e) => e.type === 'TimerCanceled')).toMatchObject([{ timerId }]);
    }
    const answered = history(received({ timerCSeconds: 10, ackTimeoutSeconds: 32 }), callAnswered());
    spec({ given: answered, when: timerFired('timer-c', timerId), thenAccepted: false });
  });
});

describe('reaper: the ACK of our 2xx never comes (RFC 3261 §13.3.1.4)', () => {
  const delayed = () => received(limits, { delayedOffer: true, sdp: '' });

  it('a 2xx relaying an offer schedules the ACK timeout; when it fires both legs are BYEd', () => {
    const given = history(delayed(), callAnswered());
    const timer = scheduled(given, 'ack-timeout');
    expect(timer.dueAt).toBe(new Date(Date.parse(callAnswered().at) + 32_000).toISOString());
    const then = spec({
      given,
      when: timerFired('ack-timeout', timer.timerId),
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    // The carrier's 2xx still gets its ACK (refusing its streams), then both legs are hung up.
    expect(then.wire).toEqual(['ACK', 'BYE', 'BYE']);
    expect(then.request('ACK').body).toContain('m=audio 0');
    expect(then.event('CallEnded')).toMatchObject({ status: 'failed' });
    expect(then.event('CallEnded').why).toContain('no ACK');
    // The call limit is canceled with it.
    expect(then.events.filter((e) => e.type === 'TimerCanceled')).toHaveLength(1);
  });
});

describe('reaper: the trunk limit maxCallSeconds', () => {
  it('an answered call schedules the limit from the answer and BYEs both legs when it is reached', () => {
    const given = history(received(), callAnswered());
    const timer = scheduled(given, 'max-call');
    expect(timer.dueAt).toBe(new Date(Date.parse(callAnswered().at) + 3_600_000).toISOString());
    const then = spec({
      given,
      when: timerFired('max-call', timer.timerId),
      thenEvents: ['TimerFired', { type: 'CallEnded', status: 'completed' }],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['BYE', 'BYE']);
    expect(then.event('CallEnded').why).toContain('maxCallSeconds');
  });

  it('a hang-up cancels the limit', () => {
    const then = spec({ given: history(received(), callAnswered()), when: hangup('customer') });
    expect(then.events.filter((e) => e.type === 'TimerCanceled')).toMatchObject([
      { timerId: `${ROOT}:max-call` },
    ]);
  });

  it('without maxCallSeconds nothing is scheduled at the answer', () => {
    const then = spec({
      given: history(received({ timerCSeconds: 10, ackTimeoutSeconds: 32 })),
      when: callAnswered(),
    });
    expect(then.events.filter((e) => e.type === 'TimerScheduled')).toEqual([]);
  });
});
