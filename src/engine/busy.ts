/**
 * Requests the engine turns away before any machine sees them, with nothing stored: over a trunk's
 * calls-per-second limit, or while its queues are full. 503 with Retry-After (RFC 3261 §21.5.4) says
 * "not now", so the peer may try again later; a 403 would tell a PBX the transfer is forbidden and it
 * would give up for good (and report the transfer failed to its user).
 */
import type { SendResponseCommand, SipInput, SipRequestInput } from '../shared/messages.ts';

export function busyResponse(
  input: SipRequestInput,
  why: string,
  retryAfterSeconds: number,
): SendResponseCommand {
  return {
    kind: 'response',
    adapterId: input.adapterId,
    transactionKey: input.transactionKey,
    status: 503,
    reason: 'Service Unavailable',
    toTag: input.to.params.tag ? undefined : 'pv-stateless',
    headers: { 'Retry-After': String(retryAfterSeconds), Warning: `399 sip-pivot "${why}"` },
  };
}

/** A request that can be answered (ACK has no response). */
export function answerable(input: SipInput): input is SipRequestInput {
  return input.kind === 'request' && input.method !== 'ACK';
}

/**
 * The engine's queues are full: the input was neither stored nor acted on. Not permanent: a durable bus
 * delivers it again later, when the queues have drained. Requests are answered 503 instead (see engine.ts).
 */
export class EngineOverloadedError extends Error {
  override readonly name = 'EngineOverloadedError';
  readonly permanent = false;
}
