import { describe, expect, it } from 'vitest';
import {
  at,
  callAnswered,
  callReceived,
  hangup,
  ROOT,
  referReceived,
  SDP,
  TRANSFER,
  timerFired,
  tx,
} from '../../test/helpers/fixtures.ts';
import { fold, history, spec } from '../../test/helpers/sessionSpec.ts';
import type { LegName } from '../dialog.ts';
import type { ReInviteAnswered, ReInviteReceived } from '../events.ts';
import { requestedSessionExpires } from './session-timer.ts';

const FIRST = `${ROOT}:session-expires:1`;
const SECOND = `${ROOT}:session-expires:2`;
const timed = () => history(callReceived({ sessionExpires: 1800 }), callAnswered());

function refresh(leg: LegName, seconds: number | undefined, when: number, cseq = 2): ReInviteReceived {
  return {
    type: 'ReInviteReceived',
    callSid: ROOT,
    at: at(when),
    leg,
    reinvite: tx(`z9hG4bK-refresh-${leg}-${cseq}|INVITE`),
    sdp: leg === 'customer' ? SDP.pbx : SDP.carrier,
    cseq,
    ...(seconds !== undefined ? { sessionExpires: seconds } : {}),
  };
}

function refreshed(when: number, status = 200): ReInviteAnswered {
  return {
    type: 'ReInviteAnswered',
    callSid: ROOT,
    at: at(when),
    status,
    reason: status === 200 ? 'OK' : 'Not Acceptable Here',
    ...(status === 200 ? { sdp: SDP.carrier } : {}),
  };
}

describe('session timers (RFC 4028): the pivot watches, the caller refreshes', () => {
  it('given a caller that asked for 1800 s, when the call is answered, then its 200 makes it the refresher and a timer is due at the expiry', () => {
    const then = spec({
      given: history(callReceived({ sessionExpires: 1800 })),
      when: callAnswered(),
      thenEvents: ['CallAnswered', 'TimerScheduled'],
    });
    expect(then.response(200).headers).toEqual({ 'Session-Expires': '1800;refresher=uac', Require: 'timer' });
    expect(then.event('TimerScheduled')).toMatchObject({
      timerId: FIRST,
      name: 'session-expires',
      dueAt: new Date(Date.parse(at(5)) + 1800_000).toISOString(),
    });
  });

  it('given no Session-Expires from the caller, the 200 carries none and nothing is scheduled', () => {
    const then = spec({ given: history(callReceived()), when: callAnswered(), thenEvents: ['CallAnswered'] });
    expect(then.response(200).headers).toBeUndefined();
  });

  it('when the timer fires without a refresh, then both legs get a BYE and the call ends saying why', () => {
    const then = spec({
      given: timed(),
      when: timerFired('session-expires', FIRST),
      thenEvents: ['TimerFired', 'CallEnded'],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['BYE', 'BYE']);
    expect(then.requests.map((bye) => bye.callId)).toEqual([
      then.call().context.legs.customer?.callId,
      then.call().context.legs.far?.callId,
    ]);
    expect(then.event('CallEnded')).toMatchObject({
      status: 'completed',
      why: 'session expired: no refresh from the customer leg within 1800 s (RFC 4028 §10)',
    });
  });

  it("given a refresh re-INVITE from the caller, its 2xx grants the interval and the timer moves to the refresh's expiry", () => {
    const then = spec({
      given: history(...timed(), refresh('customer', 1800, 900)),
      when: refreshed(901),
      thenEvents: ['ReInviteAnswered', 'TimerCanceled', 'TimerScheduled'],
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.response(200).headers).toEqual({ 'Session-Expires': '1800;refresher=uac', Require: 'timer' });
    expect(then.event('TimerCanceled').timerId).toBe(FIRST);
    expect(then.event('TimerScheduled')).toMatchObject({
      timerId: SECOND,
      dueAt: new Date(Date.parse(at(901)) + 1800_000).toISOString(),
    });
    // The replaced timer's firing is no longer the call's; the new one's is.
    const after = history(...timed(), refresh('customer', 1800, 900), refreshed(901));
    expect(
      spec({ given: after, when: timerFired('session-expires', FIRST), thenAccepted: false }).events,
    ).toEqual([]);
    expect(spec({ given: after, when: timerFired('session-expires', SECOND) }).callState()).toBe('ended');
  });

  it('a refused refresh leaves the timer as it was', () => {
    const then = spec({
      given: history(...timed(), refresh('customer', 1800, 900)),
      when: refreshed(901, 488),
      thenEvents: ['ReInviteAnswered'],
    });
    expect(then.call().context.sessionTimer?.timerId).toBe(FIRST);
  });

  it('a re-INVITE from the refresher without Session-Expires turns the timer off (RFC 4028 §9)', () => {
    const then = spec({
      given: history(...timed(), refresh('customer', undefined, 900)),
      when: refreshed(901),
      thenEvents: ['ReInviteAnswered', 'TimerCanceled'],
    });
    expect(then.response(200).headers).toBeUndefined();
    expect(then.call().context.sessionTimer).toBeUndefined();
  });

  it("a re-INVITE from the other leg without Session-Expires is no refresh: the caller's timer runs on", () => {
    const then = spec({
      given: history(...timed(), refresh('far', undefined, 900, 5)),
      when: refreshed(901),
      thenEvents: ['ReInviteAnswered'],
    });
    expect(then.call().context.sessionTimer).toMatchObject({ leg: 'customer', timerId: FIRST });
  });

  it('a refresh re-INVITE starts a timer on a call that had none (a carrier refreshing a child call)', () => {
    const then = spec({
      given: history(callReceived(), callAnswered(), refresh('far', 600, 900, 5)),
      when: refreshed(901),
      thenEvents: ['ReInviteAnswered', 'TimerScheduled'],
    });
    expect(then.call().context.sessionTimer).toMatchObject({ leg: 'far', seconds: 600 });
  });

  it('a hang-up cancels the timer', () => {
    const then = spec({
      given: timed(),
      when: hangup('far'),
      thenEvents: ['HangupReceived', 'TimerCanceled', 'CallEnded'],
    });
    expect(then.event('TimerCanceled').timerId).toBe(FIRST);
  });
});

describe('the interval a request asks for', () => {
  const ask = (headers: Record<string, string>) =>
    requestedSessionExpires(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])));

  it('is its Session-Expires when the caller supports or requires timer', () => {
    expect(ask({ 'session-expires': '1800', supported: 'replaces, timer' })).toEqual({ seconds: 1800 });
    expect(ask({ 'session-expires': '600;refresher=uac', require: 'timer' })).toEqual({ seconds: 600 });
  });

  it("is raised to the caller's Min-SE", () => {
    expect(ask({ 'session-expires': '120', 'min-se': '300', supported: 'timer' })).toEqual({ seconds: 300 });
  });

  it('is too small below 90 s, and none when not asked or when the caller cannot refresh', () => {
    expect(ask({ 'session-expires': '60', supported: 'timer' })).toEqual({ tooSmall: true });
    expect(ask({ supported: 'timer' })).toBeUndefined();
    expect(ask({ 'session-expires': '1800' })).toBeUndefined();
  });
});

describe('session timers, transfers and what is left pending', () => {
  it('a failed transfer gives the refresher a whole interval again', () => {
    const given = history(...timed(), referReceived({ cseq: 2 }));
    const legs = fold(given).calls[ROOT]!.context.legs;
    const failed = spec({
      given,
      when: {
        type: 'TransferFailed',
        callSid: ROOT,
        transferSid: TRANSFER,
        at: at(400),
        status: 486,
        reason: 'Busy Here',
        customerLeg: legs.customer!,
        farLeg: legs.far!,
        transferorGone: false,
        transfereeGone: false,
      },
    });
    expect(failed.callState()).toBe('inProgress');
    expect(failed.events.map((e) => e.type)).toEqual(['TransferFailed', 'TimerCanceled', 'TimerScheduled']);
    expect(failed.event('TimerScheduled').dueAt).toBe(new Date(Date.parse(at(400)) + 1800_000).toISOString());
  });

  it('when the refresher asks us to refresh (refresher=uas), no timer is granted', () => {
    expect(
      requestedSessionExpires({ 'session-expires': ['1800;refresher=uas'], supported: ['timer'] }),
    ).toBeUndefined();
  });

  it('an INFO still out when the call ends is answered 481', () => {
    const info = {
      type: 'InfoReceived' as const,
      callSid: ROOT,
      at: at(20),
      leg: 'customer' as const,
      info: tx('z9hG4bK-info|INFO'),
      cseq: 2,
    };
    const then = spec({ given: history(...timed(), info), when: timerFired('session-expires', FIRST) });
    expect(then.wire).toEqual(['BYE', 'BYE', '481']);
    expect(then.response(481)).toMatchObject(tx('z9hG4bK-info|INFO'));
  });
});
