/**
 * The reaper limits a new call gets (machines/call/reapers.ts), from the config and the call's trunk.
 * They are written into the CallReceived, so a replay decides with the limits of the call's day.
 */
import type { CallReceived, Reapers, SessionEvent } from '../../machines/events.ts';
import type { PivotConfig } from '../config/index.ts';
import type { TrunkDirectory } from './trunks.ts';

/** RFC 3261 §16.6 step 11: Timer C "MUST be set to a value greater than 3 minutes" for a proxy. */
export const TIMER_C_SECONDS = 181;
/** 64*T1 (RFC 3261 §13.3.1.4): how long a UAS retransmits its 2xx waiting for the ACK. */
export const ACK_TIMEOUT_SECONDS = 32;

/** A call nobody hangs up ends after this long unless its trunk says otherwise (`maxCallSeconds`). */
export const MAX_CALL_SECONDS = 4 * 60 * 60;

/**
 * The limits for a call on `trunkName`: every call gets Timer C (`sip.timerCSeconds`, 181 s by
 * default) and the ACK timeout for every 2xx to its caller (`sip.ackTimeoutSeconds`, 32 s), and a maximum duration (the trunk's `maxCallSeconds`, 4 h by default,
 * none when the trunk sets it to `false`).
 */
export function reapersFor(config: PivotConfig, trunks: TrunkDirectory, trunkName: string): Reapers {
  const trunk = trunks.trunks.find((candidate) => candidate.name === trunkName);
  const maxCall = trunk?.maxCallSeconds ?? MAX_CALL_SECONDS;
  return {
    timerCSeconds: config.sip.timerCSeconds ?? TIMER_C_SECONDS,
    ackTimeoutSeconds: config.sip.ackTimeoutSeconds ?? ACK_TIMEOUT_SECONDS,
    plainAck: true,
    ...(maxCall !== false ? { maxCallSeconds: maxCall } : {}),
  };
}

/** A new call's input with its reaper limits; any other input as it is. */
export function withReapers(event: SessionEvent, config: PivotConfig, trunks: TrunkDirectory): SessionEvent {
  if (event.type !== 'CallReceived') return event;
  const received: CallReceived = { ...event, reapers: reapersFor(config, trunks, event.trunkName) };
  return received;
}
