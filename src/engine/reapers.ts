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

/**
 * The limits for a call on `trunkName`, or undefined when none is configured (neither `sip.timerCSeconds`
 * nor the trunk's `maxCallSeconds`): such calls get no reaper timers, as before reapers existed.
 */
export function reapersFor(
  config: PivotConfig,
  trunks: TrunkDirectory,
  trunkName: string,
): Reapers | undefined {
  const trunk = trunks.trunks.find((candidate) => candidate.name === trunkName);
  const timerC = config.sip.timerCSeconds;
  const maxCall = trunk?.maxCallSeconds;
  if (timerC === undefined && maxCall === undefined) return undefined;
  return {
    timerCSeconds: timerC ?? TIMER_C_SECONDS,
    ackTimeoutSeconds: ACK_TIMEOUT_SECONDS,
    ...(maxCall !== undefined ? { maxCallSeconds: maxCall } : {}),
  };
}

/** A new call's input with its reaper limits; any other input as it is. */
export function withReapers(event: SessionEvent, config: PivotConfig, trunks: TrunkDirectory): SessionEvent {
  if (event.type !== 'CallReceived') return event;
  const reapers = reapersFor(config, trunks, event.trunkName);
  if (!reapers) return event;
  const received: CallReceived = { ...event, reapers };
  return received;
}
