/**
 * Refused REFERs that are answered without being stored. A refusal changes nothing a later input is
 * decided on except the remote CSeq of the dialog it came in (RFC 3261 §12.2.2), so storing every one
 * lets a PBX (or whoever holds its dialog) grow a call's stream by two events per REFER: a flood of
 * 1,000 REFERs a second then costs the store, every later load and every replay.
 *
 * - 491 (another transfer is running, RFC 3515 §2.4.7 lets the PBX try again later): never stored;
 *   the transfer that is running is the call's story.
 * - Other refusals (policy, malformed Refer-To, call not in progress): the first
 *   STORED_REFUSALS_PER_SESSION of a session are stored (they are what `/v1/Audit` and
 *   `/v1/Transfers` show of attempts the policy stopped); later ones are answered the same way, unstored.
 *
 * An unstored refusal still raises the dialog's remote CSeq in the loaded session (the engine folds its
 * ReferRejected into the state it keeps in memory), so a later request below it is still out of order.
 * Only a reload of the session (eviction from the cache, another engine's append, a restart) forgets
 * it; then the bar falls back to the last stored request of the dialog, which lets a stale request
 * between the two through, never a request already handled (those are recognised by their key).
 */
import type { ReferRejected, SessionEvent } from '../../machines/events.ts';
import type { SessionState } from '../../machines/session.ts';

export const STORED_REFUSALS_PER_SESSION = 10;

/** REFERs of the session that were refused and stored. */
function storedRefusals(session: SessionState, enough: number): number {
  let count = 0;
  for (const sid in session.transfers) {
    if (session.transfers[sid]?.value === 'rejected' && ++count >= enough) break;
  }
  return count;
}

/**
 * The refusal among a decision's events when the decision is only "refuse this REFER" and it is not to
 * be stored (see the header); undefined when the decision is to be stored as usual.
 */
export function unstoredRefusal(session: SessionState, events: SessionEvent[]): ReferRejected | undefined {
  if (events.length !== 2) return undefined;
  const [input, refusal] = events;
  if (input?.type !== 'ReferReceived' || refusal?.type !== 'ReferRejected') return undefined;
  if (refusal.status === 491) return refusal;
  const stored = storedRefusals(session, STORED_REFUSALS_PER_SESSION);
  return stored >= STORED_REFUSALS_PER_SESSION ? refusal : undefined;
}
