/**
 * Sids as users see them in call logs: `CA`/`TR`/`TK` + 32 hex digits. New ones are drawn by the
 * engine, never by machines (they must stay deterministic); new sids are UUIDv7 so they sort by
 * creation time.
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

/** Trunks are identified by name until they become event-sourced; the sid is stable per name. */
export function trunkSidOf(name: string): string {
  let hash = 0n;
  for (const char of name) hash = (hash * 131n + BigInt(char.codePointAt(0)!)) % 2n ** 128n;
  return `TK${hash.toString(16).padStart(32, '0')}`;
}
