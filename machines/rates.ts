/**
 * Pure rating helpers for billing projections: a trunk's rate deck maps E.164 prefixes to a price per
 * minute, and legs are billed per started minute (docs/architecture.md "Billing").
 */

/** A rate deck: `""` is the default rate, other keys are `+digits` prefixes; values are per minute. */
export type RateDeck = Record<string, number>;

/**
 * The per-minute rate of a number: the longest prefix of `e164` present in the deck wins, `""` when
 * none does. Returns 0 when the deck has neither (config validation requires `""`, so this only
 * happens with hand-built decks; free is the least surprising answer for a pure function).
 */
export function ratePerMinute(deck: RateDeck, e164: string): number {
  let best: string | undefined;
  for (const prefix of Object.keys(deck)) {
    if (e164.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best === undefined ? 0 : (deck[best] ?? 0);
}

/**
 * Minutes billed for a leg: every started minute counts (1 s -> 1, 60 s -> 1, 61 s -> 2). A leg
 * that never connected (0 s) costs nothing; negative or non-finite durations are treated as 0 so a
 * clock anomaly in stored events cannot produce a negative or infinite bill.
 */
export function billedMinutes(durationSeconds: number): number {
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) return 0;
  return Math.ceil(durationSeconds / 60);
}
