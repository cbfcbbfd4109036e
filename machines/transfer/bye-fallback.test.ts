/**
 * The BYE fallback (docs/architecture.md "Transfer flow" step 6): when the PBX does not hang up within
 * `byeFallbackSeconds` of the final NOTIFY, the pivot BYEs it. The clock starts at that NOTIFY (sent
 * with the target's 200), not at the reconnect; without a final NOTIFY (Refer-Sub: false, or a 481
 * that ended the subscription) it starts when the transfer completes.
 */
import { describe, expect, it } from 'vitest';
import {
  at,
  hangup,
  ROOT,
  referred,
  targetInvited,
  timerFired,
  transferorHungUp,
  transferResponse,
} from '../../test/helpers/fixtures.ts';
import { given, history, spec } from '../../test/helpers/sessionSpec.ts';

const FALLBACK = `${ROOT}:bye-fallback`;

describe('transfer: when the BYE fallback starts', () => {
  it('counts from the final NOTIFY 200, even when the reconnect comes later', () => {
    const answered = given(history(...targetInvited())).when(
      transferResponse('TargetAnswered', { at: at(30) }),
    );
    expect(answered.wire).toEqual(['ACK', 'INVITE', 'NOTIFY']);
    expect(answered.transfer().context.finalNotifyAt).toBe(at(30));
    const then = spec({
      given: history(...targetInvited(), transferResponse('TargetAnswered', { at: at(30) })),
      when: transferResponse('TransfereeReconnected', { at: at(40) }),
      thenEvents: [
        'TransfereeReconnected',
        { type: 'TransferCompleted', finalNotifyAt: at(30), byeFallbackSeconds: 32 },
        { type: 'TimerScheduled', timerId: FALLBACK, name: 'bye-fallback', at: at(40), dueAt: at(62) },
        'ChildCallStarted',
      ],
      thenState: { calls: { [ROOT]: 'handedOff' } },
    });
    expect(then.event('TimerScheduled').transferSid).toBeUndefined();
  });

  it('with Refer-Sub: false (no NOTIFY at all) counts from the completion', () => {
    const quiet = history(
      ...targetInvited({ referSub: false }),
      transferResponse('TargetAnswered', { at: at(30) }),
    );
    expect(given(quiet).transfer().context.finalNotifyAt).toBeUndefined();
    const then = spec({
      given: quiet,
      when: transferResponse('TransfereeReconnected', { at: at(31) }),
      thenEvents: [
        'TransfereeReconnected',
        'TransferCompleted',
        { type: 'TimerScheduled', timerId: FALLBACK, dueAt: at(63) },
        'ChildCallStarted',
      ],
    });
    expect(then.event('TransferCompleted').finalNotifyAt).toBeUndefined();
  });

  it('after a 481 ended the subscription before the target answered, counts from the completion', () => {
    const then = given(
      history(
        ...referred(),
        transferResponse('NotifyAnswered', { status: 481, reason: 'Call/Transaction Does Not Exist' }),
        transferResponse('TransfereeHeld'),
        transferResponse('TargetAnswered', { at: at(30) }),
      ),
    ).when(transferResponse('TransfereeReconnected', { at: at(31) }));
    expect(then.event('TimerScheduled').dueAt).toBe(at(63));
  });

  it('a reconnect slower than the fallback: the due time is already past, the timer fires and BYEs the PBX', () => {
    const slow = history(
      ...targetInvited(),
      transferResponse('TargetAnswered', { at: at(30) }),
      transferResponse('TransfereeReconnected', { at: at(70) }),
    );
    const scheduled = slow.filter((e) => e.type === 'TimerScheduled').at(-1);
    expect(scheduled).toMatchObject({ timerId: FALLBACK, at: at(70), dueAt: at(62) });
    const then = spec({
      given: slow,
      when: timerFired('bye-fallback', FALLBACK, { at: at(70) }),
      thenEvents: ['TimerFired', { type: 'CallEnded', callSid: ROOT, status: 'completed' }],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['BYE']);
    // The customer leg: NOTIFYs 100 and 200 took our CSeq 1 and 2.
    expect(then.request('BYE').cseq).toEqual({ seq: 3, method: 'BYE' });
  });

  it('the PBX BYE after the hand-off cancels it', () => {
    const done = history(
      ...targetInvited(),
      transferResponse('TargetAnswered', { at: at(30) }),
      transferResponse('TransfereeReconnected', { at: at(31) }),
    );
    spec({
      given: done,
      when: hangup('customer', { at: at(40) }),
      thenEvents: ['HangupReceived', { type: 'TimerCanceled', timerId: FALLBACK, at: at(40) }, 'CallEnded'],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
  });

  it('a PBX BYE before the hand-off (while reconnecting): no fallback is ever scheduled', () => {
    const inputs = [
      ...targetInvited(),
      transferResponse('TargetAnswered', { at: at(30) }),
      transferorHungUp({ at: at(30.5) }),
      transferResponse('TransfereeReconnected', { at: at(31) }),
    ];
    const stored = history(...inputs);
    expect(stored.filter((e) => e.type === 'TimerScheduled').map((e) => e.timerId)).not.toContain(FALLBACK);
    expect(given(stored).callState()).toBe('ended');
  });
});
