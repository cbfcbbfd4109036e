/**
 * Deterministic identifiers. Machines may not draw random ids, so every Call-ID, tag and SDP session id
 * the pivot generates is derived from a sid that the engine drew before the input was stored.
 * Every Call-ID the pivot generates embeds the routing key (the root call's sid, see
 * src/shared/sessionKeys.ts), so any message of a session maps to it without a shared lookup.
 */

/** A short tag-safe token from a sid (its last 12 hex digits). */
export function shortId(sid: string): string {
  return sid.slice(-12);
}

/** A numeric SDP session id derived from a sid, stable for the leg's life. */
export function sdpSessionId(sid: string, salt: number): string {
  return String(Number.parseInt(sid.slice(-8), 16) + salt);
}
