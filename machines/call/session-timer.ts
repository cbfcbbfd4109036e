/**
 * Session timers (RFC 4028) as the pivot does them: it never refreshes, it only watches. When a caller
 * asks for a session interval (Session-Expires in its INVITE or re-INVITE, saying it supports `timer`),
 * the 2xx makes that caller the refresher (`refresher=uac`), and a durable timer is due at the end of the
 * interval. Each refresh from the caller moves it on; when it fires, the dialog is taken for dead and
 * both legs are released (§10). The pivot never asks for timers on the INVITEs it sends: it would then
 * be the refresher of a dialog whose peer may not refresh at all.
 */
import type { LegName } from '../dialog.ts';
import { addSeconds, type Effect, fact } from '../effects.ts';

/** The smallest session interval the pivot accepts (RFC 4028 §4: Min-SE's default and floor, 90 s). */
export const MIN_SESSION_EXPIRES = 90;

export interface SessionTimer {
  /** The refresher: the leg that asked for the timer; its refreshes move the timer on. */
  leg: LegName;
  seconds: number;
  timerId: string;
  /** Refreshes counted so far: every scheduling gets its own timer id, so a stale firing is not taken. */
  generation: number;
}

type Headers = Record<string, string[]>;

function optionTags(headers: Headers, name: string): string[] {
  return (headers[name] ?? []).flatMap((value) => value.split(',')).map((tag) => tag.trim().toLowerCase());
}

function deltaSeconds(value: string | undefined): number | undefined {
  const match = /^\s*(\d{1,10})\s*(;|$)/.exec(value ?? '');
  return match ? Number(match[1]) : undefined;
}

export type Requested = { seconds: number } | { tooSmall: true } | undefined;

/**
 * The session interval a request asks for: its Session-Expires, raised to its own Min-SE (§9: the
 * interval may not be below it). Undefined when it asks for none, or when the caller does not support
 * `timer` (it could not be the refresher then, and the pivot does not refresh: §9 lets the UAS leave
 * the timer off by answering without Session-Expires). `tooSmall` below 90 s: 422 with Min-SE (§8.1).
 */
export function requestedSessionExpires(headers: Headers): Requested {
  const seconds = deltaSeconds(headers['session-expires']?.[0]);
  if (seconds === undefined) return undefined;
  if (seconds < MIN_SESSION_EXPIRES) return { tooSmall: true };
  const tags = [...optionTags(headers, 'supported'), ...optionTags(headers, 'require')];
  if (!tags.includes('timer')) return undefined;
  // A caller that wants us to refresh (refresher=uas; §9 keeps the parameter it chose) gets no timer:
  // the pivot does not refresh, so its 2xx carries no Session-Expires and the timer is off.
  if (/;\s*refresher\s*=\s*uas\b/i.test(headers['session-expires']?.[0] ?? '')) return undefined;
  return { seconds: Math.max(seconds, deltaSeconds(headers['min-se']?.[0]) ?? 0) };
}

/** What the 2xx to a request that asked for `seconds` carries: the caller refreshes (§9). */
export function sessionTimerHeaders(seconds: number): Record<string, string> {
  return { 'Session-Expires': `${seconds};refresher=uac`, Require: 'timer' };
}

/**
 * The timer after leg `leg` refreshed (or set up) the session with interval `seconds` at `at`: the old
 * one, if any, is canceled and a new one scheduled at the expiry.
 */
export function scheduleSessionTimer(
  callSid: string,
  current: SessionTimer | undefined,
  leg: LegName,
  seconds: number,
  at: string,
): [SessionTimer, Effect[]] {
  const generation = (current?.generation ?? 0) + 1;
  const timerId = `${callSid}:session-expires:${generation}`;
  const effects: Effect[] = current ? [cancelSessionTimer(callSid, current, at)] : [];
  effects.push(
    fact({
      type: 'TimerScheduled',
      callSid,
      at,
      timerId,
      name: 'session-expires',
      dueAt: addSeconds(at, seconds),
    }),
  );
  return [{ leg, seconds, timerId, generation }, effects];
}

export function cancelSessionTimer(callSid: string, timer: SessionTimer, at: string): Effect {
  return fact({ type: 'TimerCanceled', callSid, at, timerId: timer.timerId });
}
