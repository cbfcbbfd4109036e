/**
 * What the transfer machine knows. It is created when a REFER arrives, from the call's state at that
 * moment, and owns the customer and far legs until it hands them back with TransferCompleted or
 * TransferFailed.
 */
import type { LegDialog } from '../dialog.ts';
import type { WithOutbox } from '../effects.ts';
import type { Direction, ReplacesDialog, TransferPolicy } from '../events.ts';
import type { TargetKind } from '../refer-target.ts';

/** The call-side facts a transfer starts from (the machine's input). */
export interface TransferStart {
  transferSid: string;
  callSid: string;
  /** The root call's sid: embedded in every Call-ID the pivot generates for this session. */
  routingKey: string;
  /** The sid the child call will get if the target answers. */
  childCallSid: string;
  trunkSid: string;
  trunkName: string;
  direction: Direction;
  from: string;
  to: string;
  customer?: LegDialog;
  far?: LegDialog;
  /** Whether the call is answered and has no other transfer running. */
  callEstablished: boolean;
  transferInProgress: boolean;
  transfersAccepted: number;
}

export interface TransferContext extends WithOutbox, TransferStart {
  policy?: TransferPolicy;
  /** Copied from the REFER into the target INVITE (RFC 3892). */
  referredBy?: string;
  /** Whether NOTIFYs are still sent (RFC 3515 implicit subscription; off for Refer-Sub: false or after 481). */
  subscribed: boolean;
  /** `refer`, or `refer;id=<CSeq>` when the dialog had an earlier REFER (RFC 3515 §2.4.6). */
  eventHeader: string;
  targetUri?: string;
  targetKind?: TargetKind;
  targetNumber?: string;
  transfereeNumber?: string;
  target?: LegDialog;
  targetAnswered: boolean;
  noAnswerTimerId?: string;
  /** When the final NOTIFY (200 OK) went out: the BYE fallback counts from it. */
  finalNotifyAt?: string;
  /** The PBX's SDP (to resume the far party) and the far party's SDP (offered to the target). */
  customerSdp?: string;
  transfereeSdp?: string;
  /**
   * The target is INVITEd without SDP and ACKed only with the transferee's answer (RFC 3725); false for
   * transfers stored before (policy without `reconnect`).
   */
  offerlessTarget?: boolean;
  transferorGone: boolean;
  transfereeGone: boolean;
  /** The target hung up while the transfer held its leg (a join's replaced far party, TargetHungUp). */
  targetGone?: true;
  /**
   * An attended transfer joining the far party of another call (RFC 3891 Replaces): that call, its
   * session, and its PBX's SDP (the answer that restores its far party if the join fails). The target
   * leg is then that call's far leg, lent to this transfer.
   */
  join?: { sessionSid: string; callSid: string; customerSdp?: string; handedOver: boolean };
  /** The target replaces this dialog of its own (RFC 3891): its INVITE carries it in `Replaces`. */
  replacesElsewhere?: ReplacesDialog;
  /** A re-INVITE answered 491 waits for its back-off timer (glare.ts): which one, and how many so far. */
  glare?: { timerId: string; attempts: number };
  /** The target's name has no address (ReferReceived.targetUnreachable): fail once the transferee is held. */
  targetUnreachable?: { status: number; reason: string };
  /** The target INVITE was sent again with credentials: another challenge fails the transfer. */
  targetAuthorized?: true;
  /** Other addresses of the target's name, not tried yet: a 503 or 408 moves the INVITE to the next. */
  targetAlternates?: LegDialog['destination'][];
  /** The status line reported in the final NOTIFY of a failure. */
  failure?: { status: number; reason: string };
}

export function initialTransferContext(start: TransferStart): TransferContext {
  return {
    ...start,
    subscribed: false,
    eventHeader: 'refer',
    targetAnswered: false,
    transferorGone: false,
    transfereeGone: false,
    outbox: [],
  };
}
