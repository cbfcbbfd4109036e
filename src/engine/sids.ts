/**
 * Sids as users see them in call logs: `CA`/`TR`/`TK` + 32 hex digits. Drawn here, in the engine,
 * never in machines; new sids are UUIDv7 so they sort by creation time.
 */
import { createHash, randomBytes } from 'node:crypto';

export type SidPrefix = 'CA' | 'TR' | 'TK';

/** A UUIDv7 (RFC 9562) without dashes: 48-bit milliseconds, version, random. */
export function uuidv7Hex(now: number = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  return bytes.toString('hex');
}

export function newSid(prefix: SidPrefix, now?: number): string {
  return `${prefix}${uuidv7Hex(now)}`;
}

/**
 * The sid of a call that a peer started: derived from the first leg's Call-ID, so every engine maps
 * the peer's messages to the same call without a shared lookup.
 */
export function callSidForCallId(callId: string): string {
  return `CA${createHash('sha256').update(callId).digest('hex').slice(0, 32)}`;
}

export function streamOf(callSid: string): string {
  return `call-${callSid}`;
}
