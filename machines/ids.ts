/**
 * Deterministic identifiers. Machines may not draw random ids, so every Call-ID, tag and SDP session id
 * the pivot generates is derived from a sid that the engine drew before the input was stored.
 * Every Call-ID the pivot generates embeds the routing key (the root call's sid), so any message of a
 * session maps to it without a shared lookup.
 */

const PIVOT_CALL_ID = /^pv-(CA[0-9a-f]{32})-/;

export function pivotCallId(routingKey: string, suffix: string, host: string): string {
  return `pv-${routingKey}-${suffix}@${host}`;
}

/** The routing key embedded in a Call-ID the pivot generated, or undefined for a peer's Call-ID. */
export function routingKeyOf(callId: string): string | undefined {
  return PIVOT_CALL_ID.exec(callId)?.[1];
}

/** A short tag-safe token from a sid (its last 12 hex digits). */
export function shortId(sid: string): string {
  return sid.slice(-12);
}

/** A numeric SDP session id derived from a sid, stable for the leg's life. */
export function sdpSessionId(sid: string, salt: number): string {
  return String(Number.parseInt(sid.slice(-8), 16) + salt);
}
