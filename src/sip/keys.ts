/**
 * Transaction and cache keys. Transaction keys travel on the bus (SipInput.transactionKey and
 * SendResponseCommand.transactionKey), so they are plain strings derived from the wire only.
 * They rely on RFC 3261 branches being unique per transaction (the z9hG4bK rule).
 */

/** INVITE, BYE, REFER... : the branch. CANCEL and ACK share their INVITE's branch, so they get a suffix. */
export function serverTransactionKey(branch: string, method: string): string {
  return method === 'CANCEL' || method === 'ACK' ? `${branch}:${method}` : branch;
}

/** Our own requests: CANCEL reuses the INVITE's branch, so it needs a key of its own internally. */
export function clientTransactionKey(branch: string, method: string): string {
  return method === 'CANCEL' ? `${branch}:CANCEL` : branch;
}

/** The 2xx to an INVITE and its ACK meet by Call-ID and CSeq number (RFC 3261 §13.3.1.4). */
export function inviteAckKey(callId: string, seq: number): string {
  return `${callId}\u0000${seq}`;
}

/** Our ACK to a 2xx, found again when that 2xx is retransmitted; the To tag tells forks apart. */
export function sentAckKey(callId: string, seq: number, toTag: string | undefined): string {
  return `${callId}\u0000${seq}\u0000${toTag ?? ''}`;
}
