/**
 * Which session and which input a SIP message is, computed from the message alone so the adapter, the
 * bus and every engine agree without a shared lookup. Every Call-ID the pivot generates embeds the
 * routing key (the root call's sid); a peer's Call-ID maps to a sid by hashing it.
 */
import type { SipInput } from './messages.ts';
import { callSidForCallId } from './sids.ts';

const PIVOT_CALL_ID = /^pv-(CA[0-9a-f]{32})-/;

export function pivotCallId(routingKey: string, suffix: string, host: string): string {
  return `pv-${routingKey}-${suffix}@${host}`;
}

/** The routing key embedded in a Call-ID the pivot generated, or undefined for a peer's Call-ID. */
export function routingKeyOf(callId: string): string | undefined {
  return PIVOT_CALL_ID.exec(callId)?.[1];
}

/** The session a dialog belongs to: the routing key in our Call-IDs, else the peer's Call-ID. */
export function sessionOfCallId(callId: string): string {
  return routingKeyOf(callId) ?? callSidForCallId(callId);
}

/** The session a SIP message belongs to. */
export function sessionOf(input: SipInput): string {
  return sessionOfCallId(input.callId);
}

/**
 * What makes a SIP input unique: a request's server transaction, or a response's client transaction,
 * status and To tag (a 180 and a 200 to the same INVITE are different inputs, and so are 200s from two
 * forks of it, RFC 3261 §13.2.2.4; a repeated 200 of one fork is the same input).
 */
export function inputKey(input: SipInput): string {
  if (input.kind === 'request') return input.transactionKey;
  const toTag = input.to.params.tag;
  return `${input.transactionKey}:${input.status}${toTag ? `;tag=${toTag}` : ''}`;
}

/**
 * The key under which a bus deduplicates an input: its input key within its session, so two peers that
 * happen to reuse a branch (on different calls) never dedupe each other's inputs.
 */
export function busInputKey(input: SipInput): string {
  return `${sessionOf(input)}:${inputKey(input)}`;
}
