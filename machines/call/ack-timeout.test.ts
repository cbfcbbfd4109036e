/**
 * The ACK timeout of an ordinary call (RFC 3261 §13.3.1.4): the 2xx to the caller's INVITE carries the
 * answer, its ACK brings nothing, yet without that ACK the caller never had the dialog. With `plainAck`
 * limits the first ACK is stored and stops the timer; without it both legs are BYEd after the timeout.
 */
import { describe, expect, it } from 'vitest';
import {
  at,
  callAnswered,
  callReceived,
  carrierLeg,
  hangup,
  pbxLeg,
  ROOT,
  referReceived,
  timerFired,
} from '../../test/helpers/fixtures.ts';
import { history, spec } from '../../test/helpers/sessionSpec.ts';
import type { LegName } from '../dialog.ts';
import type { CallAcked, Direction, Reapers, SessionEvent, TimerScheduled } from '../events.ts';

const limits: Reapers = { timerCSeconds: 10, ackTimeoutSeconds: 32, maxCallSeconds: 3600, plainAck: true };

/** The caller's INVITE had CSeq 1, as the engine records it (older fixtures lack it). */
function received(direction: Direction = 'trunking-terminating', reapers: Reapers = limits) {
  const terminating = direction === 'trunking-terminating';
  const inbound = terminating
    ? pbxLeg('inbound', { remoteCseq: 1 })
    : carrierLeg('inbound', { remoteCseq: 1 });
  return callReceived({ direction, reapers, inbound });
}

function answered(direction: Direction = 'trunking-terminating', reapers: Reapers = limits) {
  return history(received(direction, reapers), callAnswered({ direction }));
}

function acked(leg: LegName, cseq = 1, seconds = 6): CallAcked {
  return { type: 'CallAcked', callSid: ROOT, at: at(seconds), leg, cseq };
}

function ackTimer(events: SessionEvent[]): TimerScheduled {
  const found = events
    .filter((e): e is TimerScheduled => e.type === 'TimerScheduled' && e.name === 'ack-timeout')
    .at(-1);
  if (!found) throw new Error('no ack-timeout timer');
  return found;
}

describe('reaper: the ACK of the 2xx to an ordinary call', () => {
  it('the answer schedules the ACK timeout on the caller leg, 32 s from the answer', () => {
    const timer = ackTimer(answered());
    expect(timer.timerId).toBe(`${ROOT}:ack-timeout:customer:1`);
    expect(timer.dueAt).toBe(new Date(Date.parse(callAnswered().at) + 32_000).toISOString());
  });

  it('calls stored without plainAck await no ordinary ACK, as before', () => {
    const { plainAck: _, ...older } = limits;
    const given = answered('trunking-terminating', older);
    expect(given.filter((e) => e.type === 'TimerScheduled').map((e) => (e as TimerScheduled).name)).toEqual([
      'timer-c',
      'max-call',
    ]);
    spec({ given, when: acked('customer'), thenAccepted: false });
  });

  it('the first ACK stops the timer, sends nothing; a repeated ACK is not taken again', () => {
    const given = answered();
    const then = spec({
      given,
      when: acked('customer'),
      thenEvents: ['CallAcked', { type: 'TimerCanceled', timerId: ackTimer(given).timerId }],
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual([]);
    spec({ given: [...given, ...then.events], when: acked('customer', 1, 7), thenAccepted: false });
    // Its timer is gone: a late firing changes nothing.
    spec({
      given: [...given, ...then.events],
      when: timerFired('ack-timeout', ackTimer(given).timerId),
      thenAccepted: false,
    });
  });

  it('an ACK on the other leg or for another CSeq is not the awaited one', () => {
    const given = answered();
    spec({ given, when: acked('far'), thenAccepted: false });
    spec({ given, when: acked('customer', 2), thenAccepted: false });
  });

  it('no ACK: when the timer fires both legs are BYEd and the call ends failed, the limit canceled', () => {
    const given = answered();
    const then = spec({
      given,
      when: timerFired('ack-timeout', ackTimer(given).timerId),
      thenEvents: [
        'TimerFired',
        { type: 'TimerCanceled', timerId: `${ROOT}:max-call` },
        { type: 'CallEnded', callSid: ROOT, status: 'failed' },
      ],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['BYE', 'BYE']);
    expect(then.event('CallEnded').why).toContain('no ACK on the customer leg within 32 s');
    // One BYE in the caller's dialog, one in the callee's.
    expect(new Set(then.requests.map((bye) => bye.callId)).size).toBe(2);
  });

  it('an origination call awaits the carrier ACK of our 2xx the same way', () => {
    const given = answered('trunking-originating');
    const timer = ackTimer(given);
    expect(timer.timerId).toBe(`${ROOT}:ack-timeout:far:1`);
    const acknowledged = spec({ given, when: acked('far'), thenEvents: ['CallAcked', 'TimerCanceled'] });
    expect(acknowledged.wire).toEqual([]);
    const then = spec({ given, when: timerFired('ack-timeout', timer.timerId) });
    expect(then.wire).toEqual(['BYE', 'BYE']);
    expect(then.event('CallEnded').why).toContain('no ACK on the far leg');
  });

  it('a hang-up before the ACK cancels the ACK timeout with the other timers', () => {
    const given = answered();
    const then = spec({ given, when: hangup('customer') });
    expect(
      then.events.filter((e) => e.type === 'TimerCanceled').map((e) => (e as { timerId: string }).timerId),
    ).toEqual(expect.arrayContaining([ackTimer(given).timerId, `${ROOT}:max-call`]));
  });

  it('a REFER that overtook the ACK: the timeout waits for the transfer, and the late ACK stops it', () => {
    const referred = history(received(), callAnswered(), referReceived());
    expect(referred.some((e) => e.type === 'ReferAccepted')).toBe(true);
    const waited = spec({
      given: referred,
      when: timerFired('ack-timeout', ackTimer(referred).timerId),
      thenEvents: ['TimerFired', { type: 'TimerScheduled', name: 'ack-timeout' }],
    });
    expect(waited.wire).toEqual([]);
    const later = [...referred, ...waited.events];
    spec({
      given: later,
      when: acked('customer', 1, 95),
      thenEvents: ['CallAcked', { type: 'TimerCanceled', timerId: ackTimer(later).timerId }],
    });
  });
});
