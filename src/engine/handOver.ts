/**
 * The hand-over between the two sessions of an attended transfer (docs/decisions/0005-join-across-
 * sessions.md). Some facts one session stores are addressed to another session: they become that
 * session's next input. Derived from stored facts only, with the fact's own time, so delivering one
 * again (after a restart, recovery.ts) is the same input, which the receiving machine takes once.
 */
import type { SessionEvent } from '../../machines/events.ts';

export interface Delivery {
  sessionSid: string;
  input: SessionEvent;
}

/** The inputs other sessions are owed for these stored events. */
export function deliveriesOf(events: SessionEvent[]): Delivery[] {
  const deliveries: Delivery[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'JoinRequested':
        deliveries.push({
          sessionSid: event.replacedSessionSid,
          input: {
            type: 'HandOverRequested',
            callSid: event.replacedCallSid,
            at: event.at,
            transferSid: event.transferSid,
            // A REFER is taken only on a root call's customer leg: the transferring call is its session's root.
            fromSessionSid: event.callSid,
            fromCallSid: event.callSid,
            replaces: event.replaces,
          },
        });
        break;
      case 'FarLegHandedOver':
        deliveries.push({
          sessionSid: event.toSessionSid,
          input: {
            type: 'ReplacedCallHandedOver',
            callSid: event.toCallSid,
            transferSid: event.transferSid,
            at: event.at,
            replacedCallSid: event.callSid,
            farLeg: event.farLeg,
            farNumber: event.farNumber,
            ...(event.customerSdp ? { customerSdp: event.customerSdp } : {}),
          },
        });
        break;
      case 'HandOverRefused':
        deliveries.push({
          sessionSid: event.toSessionSid,
          input: refusal(event.toCallSid, event.transferSid, event.at, event.status, event.reason),
        });
        break;
      case 'JoinEnded':
        deliveries.push({
          sessionSid: event.replacedSessionSid,
          input:
            event.outcome === 'joined'
              ? {
                  type: 'ReplacedCallJoined',
                  callSid: event.replacedCallSid,
                  at: event.at,
                  transferSid: event.transferSid,
                  childCallSid: event.childCallSid ?? '',
                }
              : {
                  type: 'FarLegReturned',
                  callSid: event.replacedCallSid,
                  at: event.at,
                  transferSid: event.transferSid,
                  farLeg: event.farLeg!,
                  status: event.status,
                  reason: event.reason,
                  ...(event.farPartyGone ? { farPartyGone: true } : {}),
                },
        });
        break;
      default:
        break;
    }
  }
  return deliveries;
}

/** The answer a transfer gets when the replaced call's session has no call to ask (never stored there). */
export function refusal(
  callSid: string,
  transferSid: string,
  at: string,
  status: number,
  reason: string,
): SessionEvent {
  return { type: 'ReplacedCallRefused', callSid, transferSid, at, status, reason };
}
