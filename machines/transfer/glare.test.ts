/**
 * A 491 to a re-INVITE of the transfer (glare.ts): retried after the RFC 3261 §14.1 back-off, a durable
 * timer, instead of failing the transfer; after MAX_GLARE_RETRIES it is a refusal like any other.
 */
import { describe, expect, it } from 'vitest';
import {
  at,
  referReceived,
  referred,
  TRANSFER,
  targetUp,
  transferResponse,
} from '../../test/helpers/fixtures.ts';
import { given, history } from '../../test/helpers/sessionSpec.ts';
import type { TimerFired } from '../events.ts';
import { glareBackoffMs, MAX_GLARE_RETRIES } from './glare.ts';

const glare = (seconds: number) =>
  transferResponse('TransfereeReconnected', {
    status: 491,
    reason: 'Request Pending',
    sdp: undefined,
    at: at(seconds),
  });

const retryFired = (attempt: number, seconds: number, of = 'reinvite'): TimerFired => ({
  type: 'TimerFired',
  callSid: 'CA0123456789abcdef0123456789abcdef',
  transferSid: TRANSFER,
  at: at(seconds),
  timerId: `${TRANSFER}:${of}-retry-${attempt}`,
  name: 'reinvite-retry',
});

const holdGlare = (seconds: number) =>
  transferResponse('HoldRefused', { status: 491, reason: 'Request Pending', at: at(seconds) });

describe('transfer: 491 to the reconnect re-INVITE', () => {
  it('schedules the retry after the §14.1 back-off and stays reconnecting; nothing on the wire', () => {
    const then = given(history(...targetUp())).when(glare(31));
    expect(then.eventTypes).toEqual(['TransfereeReconnected', 'TimerScheduled']);
    expect(then.wire).toEqual([]);
    const timer = then.event('TimerScheduled');
    expect(timer).toMatchObject({ name: 'reinvite-retry', timerId: `${TRANSFER}:reinvite-retry-1` });
    const backoff = Date.parse(timer.dueAt) - Date.parse(timer.at);
    // The far leg's Call-ID is the pivot's (a termination call): the owner waits 2.1-4 s.
    expect(backoff).toBeGreaterThanOrEqual(2100);
    expect(backoff).toBeLessThanOrEqual(4000);
    expect(then.transferState()).toBe('reconnecting');
  });

  it("re-INVITEs the far party again with the target's offer, one CSeq up, same SDP version as the refused one", () => {
    const [answered] = targetUp().slice(-1);
    const refused = given(history(...targetUp().slice(0, -1)))
      .when(answered!)
      .request('INVITE');
    const then = given(history(...targetUp(), glare(31))).when(retryFired(1, 34));
    const retry = then.request('INVITE');
    expect(retry.callId).toBe(refused.callId);
    expect(retry.cseq.seq).toBe(refused.cseq.seq + 1);
    expect(retry.body).toBe(refused.body);
    expect(then.transferState()).toBe('reconnecting');
  });

  it(`gives up after ${MAX_GLARE_RETRIES} retries as after any refusal`, () => {
    const inputs = [...targetUp()];
    for (let attempt = 1; attempt <= MAX_GLARE_RETRIES; attempt++) {
      inputs.push(glare(30 + attempt * 5), retryFired(attempt, 33 + attempt * 5) as never);
    }
    const then = given(history(...inputs)).when(glare(60));
    expect(then.eventTypes).not.toContain('TimerScheduled');
    expect(then.event('TargetReleased').why).toBe('reconnect-refused');
    expect(then.transferState()).toBe('resuming');
  });

  it("draws 0-2 s when the dialog is the peer's Call-ID, 2.1-4 s when it is ours, alike on every replay", () => {
    const ours = `pv-CA0123456789abcdef0123456789abcdef-1f@203.0.113.5`;
    for (let attempt = 1; attempt < 50; attempt++) {
      const peer = glareBackoffMs('b7e1c0de@192.0.2.50', `TR${attempt}`, attempt);
      expect(peer).toBeGreaterThanOrEqual(0);
      expect(peer).toBeLessThanOrEqual(2000);
      expect(peer % 10).toBe(0);
      const owner = glareBackoffMs(ours, `TR${attempt}`, attempt);
      expect(owner).toBeGreaterThanOrEqual(2100);
      expect(owner).toBeLessThanOrEqual(4000);
      expect(glareBackoffMs(ours, `TR${attempt}`, attempt)).toBe(owner);
    }
  });

  it('draws what it always drew, so stored timers replay alike', () => {
    const ours = `pv-CA0123456789abcdef0123456789abcdef-1f@203.0.113.5`;
    const peer = 'b7e1c0de@192.0.2.50';
    const draws = (
      [
        ['TR0123456789abcdef0123456789abcdef', 1],
        ['TR0123456789abcdef0123456789abcdef', 2],
        ['TRfedcba9876543210fedcba9876543210', 3],
      ] as const
    ).map(([seed, attempt]) => [glareBackoffMs(ours, seed, attempt), glareBackoffMs(peer, seed, attempt)]);
    expect(draws).toEqual([
      [3490, 1670],
      [3610, 180],
      [3460, 60],
    ]);
  });
});

describe('transfer: 491 to the hold re-INVITE', () => {
  it('schedules the retry after the §14.1 back-off and stays holding; the target is not INVITEd yet', () => {
    const then = given(history(...referred())).when(holdGlare(21));
    expect(then.eventTypes).toEqual(['HoldRefused', 'TimerScheduled']);
    expect(then.wire).toEqual([]);
    const timer = then.event('TimerScheduled');
    expect(timer).toMatchObject({ name: 'reinvite-retry', timerId: `${TRANSFER}:hold-retry-1` });
    const backoff = Date.parse(timer.dueAt) - Date.parse(timer.at);
    expect(backoff).toBeGreaterThanOrEqual(2100);
    expect(backoff).toBeLessThanOrEqual(4000);
    expect(then.transferState()).toBe('holding');
  });

  it('re-INVITEs the far party again with the same hold offer, one CSeq up; its 200 INVITEs the target', () => {
    const refused = given(history(...referred().slice(0, -1)))
      .when(referReceived())
      .request('INVITE');
    const then = given(history(...referred(), holdGlare(21))).when(retryFired(1, 24, 'hold'));
    const retry = then.request('INVITE');
    expect(retry.callId).toBe(refused.callId);
    expect(retry.cseq.seq).toBe(refused.cseq.seq + 1);
    expect(retry.body).toBe(refused.body);
    expect(then.transferState()).toBe('holding');

    const held = given(history(...referred(), holdGlare(21), retryFired(1, 24, 'hold'))).when(
      transferResponse('TransfereeHeld', { at: at(25) }),
    );
    expect(held.transferState()).toBe('inviting');
    expect(held.eventTypes).toContain('TargetInvited');
  });

  it(`goes on without the hold after ${MAX_GLARE_RETRIES} retries, as after any refused hold`, () => {
    const inputs = [...referred()];
    for (let attempt = 1; attempt <= MAX_GLARE_RETRIES; attempt++) {
      inputs.push(
        holdGlare(20 + attempt * 5) as never,
        retryFired(attempt, 23 + attempt * 5, 'hold') as never,
      );
    }
    const then = given(history(...inputs)).when(holdGlare(40));
    expect(then.event('TimerScheduled').name).toBe('no-answer');
    expect(then.eventTypes).toContain('TargetInvited');
    expect(then.transferState()).toBe('inviting');
  });

  it('a 491 on the hold leaves the reconnect all its own retries', () => {
    const inputs = [...referred(), holdGlare(21), retryFired(1, 24, 'hold')];
    inputs.push(transferResponse('TransfereeHeld', { at: at(25) }) as never);
    inputs.push(transferResponse('TargetAnswered', { at: at(30) }) as never);
    for (let attempt = 1; attempt < MAX_GLARE_RETRIES; attempt++) {
      inputs.push(glare(30 + attempt * 5) as never, retryFired(attempt, 33 + attempt * 5) as never);
    }
    const then = given(history(...inputs)).when(glare(50));
    expect(then.event('TimerScheduled').timerId).toBe(`${TRANSFER}:reinvite-retry-${MAX_GLARE_RETRIES}`);
    expect(then.transferState()).toBe('reconnecting');
  });
});
