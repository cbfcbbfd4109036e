/**
 * The events of a call session, in domain words. Every input a machine accepts is stored as one of
 * these, followed by the facts the machine emitted while accepting it. Each event names the machine it
 * belongs to (`callSid`, and `transferSid` for transfer events), so a session's stream can be folded
 * back into every machine it holds.
 */
import type { NameAddr } from '../src/shared/messages.ts';
import type { LegDialog, LegName } from './dialog.ts';

export type Direction = 'trunking-terminating' | 'trunking-originating';
/** The statuses call logs show; the config, the API and its documents take their lists from here. */
export const CALL_STATUSES = [
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];
export const TRANSFER_MODES = ['disable-all', 'enable-all', 'sip-only'] as const;
export type TransferMode = (typeof TRANSFER_MODES)[number];
export const TRANSFER_CALLER_IDS = ['from-transferee', 'from-transferor'] as const;
export type TransferCallerId = (typeof TRANSFER_CALLER_IDS)[number];

/** The server transaction of a request the pivot must answer. */
export interface Transaction {
  adapterId: string;
  transactionKey: string;
}

interface Base {
  callSid: string;
  /** Engine clock, ISO-8601: machines never read a clock, they read this. */
  at: string;
}

interface TransferBase extends Base {
  transferSid: string;
}

// ---- call inputs ----------------------------------------------------------------------------------

export interface CallReceived extends Base {
  type: 'CallReceived';
  trunkSid: string;
  trunkName: string;
  direction: Direction;
  /** Caller and callee numbers (E.164 where known) as the call log shows them. */
  from: string;
  to: string;
  /** The leg that called us (answered through `inbound.pendingInvite`) and the leg we call. */
  inbound: LegDialog;
  outbound: LegDialog;
  /** Which of the two legs is the customer's (PBX) side. */
  customerLeg: 'inbound' | 'outbound';
  /** The caller's SDP offer. */
  sdp: string;
  /**
   * The INVITE carried no SDP (a delayed offer, RFC 3261 §13.2.1): the callee's 2xx brings the offer
   * and the caller's ACK the answer. Absent in events stored before delayed offers were relayed as such.
   */
  delayedOffer?: boolean;
  /** The Request-URI of the outbound INVITE. */
  outboundUri: string;
  /**
   * Caller identity and history sent with the outbound INVITE (P-Asserted-Identity, Privacy, Diversion,
   * History-Info). Absent when there were none, and in events stored before they were relayed.
   */
  outboundHeaders?: Record<string, string>;
  /**
   * Max-Forwards of the outbound INVITE: the caller's minus one (RFC 7332: a B2BUA decrements it too,
   * so a call looping through B2BUAs dies out). Absent when the caller sent none (70 is used).
   */
  maxForwards?: number;
  /**
   * The carrier's other gateways, in order: when the outbound INVITE is answered 503 or not at all, the
   * call is offered to the next one. Absent for one gateway and in events stored before failover.
   */
  alternates?: Alternate[];
  /**
   * The session interval the caller asked for (RFC 4028: its Session-Expires, at least its Min-SE; it
   * supports `timer`): our 2xx makes it the refresher and the call expires without its refreshes.
   * Absent when it asked for none, and in events stored before session timers.
   */
  sessionExpires?: number;
  /**
   * The caller's INVITE required 100rel (RFC 3262): it is sent no provisional response but 100. Absent
   * when it did not, and in events stored before.
   */
  requires100rel?: boolean;
  /**
   * Limits that end a call nothing else would finish (machines/call/reapers.ts). Absent in events stored
   * before the pivot had them: such calls get no reaper timers and replay as they were decided.
   */
  reapers?: Reapers;
}

/** Reaper limits of a call, copied into its CallReceived so a replay decides alike. */
export interface Reapers {
  /**
   * Timer C (RFC 3261 §16.6 step 11): how long the outbound INVITE may go without a final response
   * before it is CANCELed and the caller answered 408.
   */
  timerCSeconds: number;
  /** How long the caller may leave our 2xx unACKed (64*T1, RFC 3261 §13.3.1.4) before both legs are BYEd. */
  ackTimeoutSeconds: number;
  /** The trunk's longest call, from the answer: then both legs are BYEd. Absent: no limit. */
  maxCallSeconds?: number;
  /**
   * The ACK of the 2xx to the caller's INVITE is awaited even when it brings no answer (an ordinary
   * call): it is stored as a CallAcked and stops the ACK timeout. Calls stored before lack it and
   * await only ACKs that bring an answer.
   */
  plainAck?: true;
}

/** Another place to send a call's outbound INVITE: its Request-URI and where it goes. */
export interface Alternate {
  uri: string;
  destination: LegDialog['destination'];
  /**
   * Our Contact toward that gateway, when it is not the first gateway's (another transport or scheme:
   * a `sip:` gateway after a `sips:` one). Absent in events stored before: the first one's was kept.
   */
  contact?: string;
}

/** A child call starts bridged: the transferee's existing leg and the target's answered leg. */
export interface ChildCallStarted extends Base {
  type: 'ChildCallStarted';
  parentCallSid: string;
  transferSid: string;
  trunkSid: string;
  trunkName: string;
  direction: Direction;
  from: string;
  to: string;
  farLeg: LegDialog;
  targetLeg: LegDialog;
  targetKind: 'sip' | 'pstn';
  /** The call whose far party this child call joined (attended transfer); absent for a blind transfer. */
  joinedCallSid?: string;
  /**
   * The trunk's longest call (its parent's `reapers.maxCallSeconds`), counted from this child call's
   * start: then both legs are BYEd. Absent when the parent had no limit, and in events stored before
   * child calls had one: such child calls schedule nothing and replay as they were decided.
   */
  maxCallSeconds?: number;
}

export interface CallProgress extends Base {
  type: 'CallProgress';
  status: number;
  reason: string;
  remoteTag?: string;
  sdp?: string;
  /** The early dialog's remote target and route set (its Contact and reversed Record-Route). */
  remoteTarget?: string;
  routeSet?: string[];
  /**
   * The RSeq of a reliable provisional response (RFC 3262: it required 100rel): the call PRACKs it.
   * Absent for an ordinary provisional, and in events stored before PRACKs.
   */
  rseq?: number;
}

export interface CallAnswered extends Base {
  type: 'CallAnswered';
  remoteTag: string;
  remoteTarget: string;
  routeSet: string[];
  sdp: string;
}

export interface CallRejected extends Base {
  type: 'CallRejected';
  status: number;
  reason: string;
  /**
   * The callee's side is overloaded (503) or never answered (the adapter's own 408 or 503 after a
   * timeout or a transport error): another gateway may take the call (RFC 3263 §4.3).
   */
  retryable?: boolean;
  /** The Reason header (RFC 3326, e.g. `Q.850;cause=16`) as received, passed on to the other leg. */
  reasonHeader?: string;
  /**
   * A 401/407 the pivot has credentials for: the header answering it (RFC 3261 §22.2), computed by the
   * engine. The INVITE is sent once more with it; a second challenge ends the call with its status.
   */
  authorization?: PeerAuthorization;
}

/** Credentials answering a peer's digest challenge: `Authorization` (401) or `Proxy-Authorization` (407). */
export interface PeerAuthorization {
  header: 'Authorization' | 'Proxy-Authorization';
  value: string;
}

export interface CallCanceled extends Base {
  type: 'CallCanceled';
  cancel: Transaction;
  /** The Reason header (RFC 3326, e.g. `Q.850;cause=16`) as received, passed on to the other leg. */
  reasonHeader?: string;
}

/** A BYE from one of the call's legs. */
export interface HangupReceived extends Base {
  type: 'HangupReceived';
  leg: LegName;
  bye: Transaction;
  /** The BYE's CSeq number (the leg's remote CSeq); absent in events stored before it was recorded. */
  cseq?: number;
  /** The Reason header (RFC 3326, e.g. `Q.850;cause=16`) as received, passed on to the other leg. */
  reasonHeader?: string;
}

/** A re-INVITE from one leg of an established call (hold, resume, codec change): relayed to the other. */
export interface ReInviteReceived extends Base {
  type: 'ReInviteReceived';
  leg: LegName;
  reinvite: Transaction;
  sdp: string;
  /**
   * The re-INVITE carried no SDP: it asks the other leg for an offer (RFC 3261 §14.1), whose answer comes
   * in the ACK. Absent in events stored before offer-less re-INVITEs were relayed as such.
   */
  offerless?: boolean;
  /** The re-INVITE's CSeq number (the leg's remote CSeq); absent in events stored before it was recorded. */
  cseq?: number;
  /**
   * The session interval this re-INVITE asks for (RFC 4028 session refresh); absent when it asks for none
   * and in events stored before session timers.
   */
  sessionExpires?: number;
}

/**
 * An awaited ACK. Either the ACK of a 2xx in which the pivot relayed an offer (RFC 3261 §13.2.1, §14:
 * an INVITE or re-INVITE without SDP; the offer came in the other leg's 2xx): it carries the answer the
 * other leg is owed in its own ACK; or the first ACK of the 2xx to the caller's INVITE of a call whose
 * limits have `plainAck`: it stops the ACK timeout. Only such ACKs are stored, once; every other ACK
 * (retransmissions included) needs no machine.
 */
export interface CallAcked extends Base {
  type: 'CallAcked';
  leg: LegName;
  /** The answer; absent when the ACK had no SDP (a protocol error: the call is torn down). */
  sdp?: string;
  cseq: number;
}

/** The other leg's final answer to the relayed re-INVITE. */
export interface ReInviteAnswered extends Base {
  type: 'ReInviteAnswered';
  status: number;
  reason: string;
  sdp?: string;
  /**
   * A 401/407 to the relayed re-INVITE that the pivot has credentials for: it is sent once more with
   * them (RFC 3261 §22.2); a second challenge is relayed as the answer.
   */
  authorization?: PeerAuthorization;
}

/**
 * An INFO (RFC 6086: DTMF as application/dtmf-relay or application/dtmf, or an Info Package) on one leg
 * of an established call: relayed to the other leg, whose final response is given back.
 */
export interface InfoReceived extends Base {
  type: 'InfoReceived';
  leg: LegName;
  info: Transaction;
  /** The body and its Content-Type, relayed unchanged; both absent for an INFO without a body. */
  body?: string;
  contentType?: string;
  /** The Info-Package header (RFC 6086 §7.2.3), relayed when the INFO carried one. */
  infoPackage?: string;
  /** The INFO's CSeq number (the leg's remote CSeq). */
  cseq: number;
}

/** The final response to an INFO the pivot relayed: sent on `leg` with CSeq `cseq`. */
export interface InfoAnswered extends Base {
  type: 'InfoAnswered';
  leg: LegName;
  cseq: number;
  status: number;
  reason: string;
}

/**
 * An UPDATE (RFC 3311) in a confirmed dialog. With SDP it is an offer, relayed to the other leg like a
 * re-INVITE; without, a session refresh (RFC 4028) the pivot answers itself.
 */
export interface UpdateReceived extends Base {
  type: 'UpdateReceived';
  leg: LegName;
  update: Transaction;
  /** The offer; absent for an UPDATE without SDP. */
  sdp?: string;
  /** The UPDATE's CSeq number (the leg's remote CSeq). */
  cseq: number;
  /** The session interval it asks for (RFC 4028 session refresh); absent when it asks for none. */
  sessionExpires?: number;
}

/** The other leg's final response to the UPDATE offer the pivot relayed. */
export interface UpdateAnswered extends Base {
  type: 'UpdateAnswered';
  status: number;
  reason: string;
  sdp?: string;
}

/** An attended transfer on another call asks this call for its far leg (its JoinRequested, delivered here). */
export interface HandOverRequested extends Base {
  type: 'HandOverRequested';
  transferSid: string;
  /** The session and call of the transfer that asks. */
  fromSessionSid: string;
  fromCallSid: string;
  replaces: ReplacesDialog;
}

/** The transfer that borrowed this call's far leg joined it to its own far party (JoinEnded, delivered). */
export interface ReplacedCallJoined extends Base {
  type: 'ReplacedCallJoined';
  transferSid: string;
  childCallSid: string;
}

/** The transfer that borrowed this call's far leg gave it back (JoinEnded, delivered): the join failed. */
export interface FarLegReturned extends Base {
  type: 'FarLegReturned';
  transferSid: string;
  farLeg: LegDialog;
  status: number;
  reason: string;
  /** The far party hung up during the join (its BYE was answered there): there is nothing to take back. */
  farPartyGone?: true;
}

/**
 * An INVITE with Replaces (RFC 3891) naming a confirmed leg of this call (a phone picking the call up, a
 * parked call retrieved): the new dialog takes that leg's place, the other leg is re-INVITEd with the new
 * offer, and the replaced dialog is BYEd once it answers.
 */
export interface ReplacingInviteReceived extends Base {
  type: 'ReplacingInviteReceived';
  /** The leg replaced. */
  leg: LegName;
  /** The new dialog, answered through `pendingInvite`. */
  newLeg: LegDialog;
  sdp: string;
}

/** A new dialog's messages belong to another session (its INVITE replaced a leg there): forwarded. */
export interface DialogRedirected extends Base {
  type: 'DialogRedirected';
  /** The new dialog's Call-ID, and the session whose leg it replaced. */
  callId: string;
  toSessionSid: string;
}

export interface TimerFired extends Base {
  type: 'TimerFired';
  timerId: string;
  /**
   * `timer-c`, `ack-timeout` and `max-call` are the call's reapers (machines/call/reapers.ts);
   * `reinvite-retry` ends a transfer's back-off after a 491 (machines/transfer/glare.ts).
   */
  name:
    | 'no-answer'
    | 'bye-fallback'
    | 'session-expires'
    | 'timer-c'
    | 'ack-timeout'
    | 'max-call'
    | 'reinvite-retry';
  transferSid?: string;
}

// ---- transfer inputs ------------------------------------------------------------------------------

/** The trunk policy in force when the REFER arrived, copied into the event so replays decide alike. */
export interface TransferPolicy {
  transferMode: TransferMode;
  transferCallerId: TransferCallerId;
  maxTransfersPerCall: number;
  trunkDomains: string[];
  noAnswerTimeoutSeconds: number;
  byeFallbackSeconds: number;
  /** The carrier's host (PSTN targets get `sip:+E164@<carrierHost>`) and where to send to it. */
  carrierHost: string;
  carrierDestination: LegDialog['destination'];
  publicHost: string;
  /** Our Contact for a new leg. */
  contact: string;
  /**
   * Our Contact for a new leg over TCP (`;transport=tcp`, as the call legs have), so the target's
   * in-dialog requests come back over TCP. Absent in events stored before: `contact` was used.
   */
  tcpContact?: string;
  /**
   * Our Contact for a new leg over TLS (`;transport=tls` on the TLS port), and for one whose
   * Request-URI is `sips:` (a `sips:` Contact, RFC 3261 §8.1.1.8). Absent in events stored before, or
   * without `sip.tls`: `contact` (or `tcpContact`) was used.
   */
  tlsContact?: string;
  sipsContact?: string;
  /**
   * `sips`: the carrier's gateway is a `sips:` URI, so a PSTN target is INVITEd as `sips:+E164@<carrierHost>`
   * (RFC 3261 §26.2.2). Absent in events stored before, and for a `sip:` carrier.
   */
  carrierScheme?: 'sips';
  /**
   * How the target is bridged. `rfc3725`: the target is INVITEd without SDP, its offer (in its 200) goes
   * to the transferee in the reconnect re-INVITE, and the transferee's answer goes in the ACK to the
   * target (RFC 3725 §4.3-style). Absent in events stored before: the target was offered the
   * transferee's last SDP and its answer re-offered to the transferee.
   */
  reconnect?: 'rfc3725';
  /**
   * The target INVITE asserts the caller (P-Asserted-Identity) and names the transferor (Diversion)
   * (machines/transfer/identity.ts). Absent in events stored before it did.
   */
  presentIdentity?: true;
  /**
   * The carrier's address and `carrier.sources`, as CIDRs: a SIP target there reaches the PSTN and is
   * judged and billed as a PSTN target. Absent in events stored before it was recorded.
   */
  carrierNetworks?: string[];
  /**
   * The pivot's own addresses (CIDRs) and SIP port: a target there would loop back into the pivot.
   * Absent in events stored before they were recorded.
   */
  pivotNetworks?: string[];
  pivotPort?: number;
  /**
   * `retry`: a 491 to the hold re-INVITE is sent again after the RFC 3261 §14.1 back-off
   * (machines/transfer/glare.ts). Absent in events stored before: a 491 to the hold was a refused hold,
   * skipped as any other.
   */
  holdGlare?: 'retry';
}

export interface ReferReceived extends TransferBase {
  type: 'ReferReceived';
  refer: Transaction;
  /** The leg it arrived on: only the customer's side may transfer. */
  leg: LegName;
  referTo: string[];
  referredBy?: string;
  /** False when the REFER carried `Refer-Sub: false` (RFC 4488). */
  referSub: boolean;
  cseq: number;
  policy: TransferPolicy;
  /** Drawn by the engine: the sid the child call gets if the target answers. */
  childCallSid: string;
  /** Where the target leg will be sent when the target is a SIP URI (resolved by the engine). */
  targetDestination?: LegDialog['destination'];
  /**
   * Every address a target's host name was located at (RFC 3263), so the REFER is judged by where the
   * name reaches: the carrier's address makes it a PSTN target, the pivot's own refuses it. Absent for
   * IP literals and in events stored before names were looked up.
   */
  targetAddresses?: { host: string; port: number }[];
  /**
   * The other places a target's host name was located at, in order: a target INVITE answered 503 or
   * 408 (or not at all) is sent to the next one (RFC 3263 §4.3). Absent for one address.
   */
  targetAlternates?: LegDialog['destination'][];
  /**
   * The target's host name could not be located: the REFER is accepted and the transfer fails with this
   * status in its final NOTIFY (404: the name has no address; 503: DNS did not answer), RFC 3515 §2.4.5.
   */
  targetUnreachable?: { status: number; reason: string };
  /**
   * Why the engine found Refer-To or Referred-By unfit to copy into a request (control characters, a
   * bad %-escape): the REFER is refused with 400 and those values are stored with the controls %-escaped.
   */
  malformed?: string;
  /**
   * The dialog the Refer-To's `Replaces` names (RFC 3891, attended transfer), and what the engine found
   * about it when the REFER arrived. Absent for a blind transfer.
   */
  replaces?: ReplacesDialog;
  replaced?: ReplacedCall;
  /**
   * The Replaces dialog is no call through the pivot (its Call-ID maps to no session): the target is
   * INVITEd with that Replaces (RFC 3891 §3), so it replaces its own dialog; otherwise a blind transfer.
   */
  replacesElsewhere?: true;
}

/** A dialog named by `Replaces` (RFC 3891): the tags as the PBX, which sent them, sees them. */
export interface ReplacesDialog {
  callId: string;
  toTag: string;
  fromTag: string;
  /** `early-only`: replace the dialog only while it is early (RFC 3891 §6.1). */
  earlyOnly?: boolean;
}

/**
 * The pivot call whose customer leg is the Replaces dialog, as its own stream showed it when the REFER
 * arrived: copied into the REFER so the verdict replays alike. Its session decides again on hand-over.
 */
export interface ReplacedCall {
  sessionSid: string;
  callSid: string;
  /** The call machine's state (`inProgress`, `ringing`, ...). */
  state: string;
  trunkName: string;
  transferMode: TransferMode;
  /** The replaced call's PBX is one the transferring trunk admits (the same customer). */
  sameCustomer: boolean;
}

/** Answers to requests the transfer sent, tagged with the request they answer. */
export interface TransferResponse extends TransferBase {
  type:
    | 'TransfereeHeld'
    | 'HoldRefused'
    | 'TransfereeReconnected'
    | 'TransfereeResumed'
    | 'TargetRinging'
    | 'TargetAnswered'
    | 'TargetFailed'
    | 'NotifyAnswered';
  status: number;
  reason: string;
  sdp?: string;
  remoteTag?: string;
  remoteTarget?: string;
  routeSet?: string[];
  /**
   * TargetFailed with 401/407 that the pivot has credentials for (a PSTN target at a carrier that
   * authenticates): the target INVITE is sent once more with them (RFC 3261 §22.2). Likewise a hold,
   * reconnect or resume re-INVITE the far party's carrier challenges (TransfereeHeld, HoldRefused,
   * TransfereeReconnected, TransfereeResumed).
   */
  authorization?: PeerAuthorization;
}

/**
 * The replaced call lent its far leg to this transfer (its FarLegHandedOver, delivered here): the transfer
 * joins that far party with its own.
 */
export interface ReplacedCallHandedOver extends TransferBase {
  type: 'ReplacedCallHandedOver';
  replacedCallSid: string;
  farLeg: LegDialog;
  /** The replaced call's far party's number (its callee, or its caller on an origination call). */
  farNumber: string;
  /** The PBX's last SDP on the replaced call: restores its far party if the join fails after its offer. */
  customerSdp?: string;
}

/** The replaced call refused the hand-over (its HandOverRefused, delivered here). */
export interface ReplacedCallRefused extends TransferBase {
  type: 'ReplacedCallRefused';
  status: number;
  reason: string;
}

export interface TransferorHungUp extends TransferBase {
  type: 'TransferorHungUp';
  bye: Transaction;
  /** The BYE's CSeq number on the customer leg; absent in events stored before it was recorded. */
  cseq?: number;
}

export interface TransfereeHungUp extends TransferBase {
  type: 'TransfereeHungUp';
  bye: Transaction;
  /** The BYE's CSeq number on the far leg; absent in events stored before it was recorded. */
  cseq?: number;
}

/**
 * A BYE on the target leg while the transfer holds it: the replaced call's far party hanging up while
 * its leg is lent to a join (attended transfer), before the join completed.
 */
export interface TargetHungUp extends TransferBase {
  type: 'TargetHungUp';
  bye: Transaction;
  /** The BYE's CSeq number on the target leg. */
  cseq: number;
}

// ---- facts (emitted by machines, stored after the input that caused them) -----------------------

export interface ReferAccepted extends TransferBase {
  type: 'ReferAccepted';
  referTo: string;
  targetKind: 'sip' | 'pstn';
  referredBy?: string;
  referSub: boolean;
}

export interface ReferRejected extends TransferBase {
  type: 'ReferRejected';
  status: number;
  reason: string;
  /**
   * The leg the REFER came on and its CSeq: the call records the REFER in that leg's dialog (remote
   * CSeq). Absent in events stored before they were recorded.
   */
  leg?: LegName;
  cseq?: number;
}

export interface TargetInvited extends TransferBase {
  type: 'TargetInvited';
  uri: string;
  from: NameAddr;
  targetCallId: string;
}

export interface TransferCompleted extends TransferBase {
  type: 'TransferCompleted';
  childCallSid: string;
  customerLeg: LegDialog;
  farLeg: LegDialog;
  targetLeg: LegDialog;
  targetKind: 'sip' | 'pstn';
  /** Number or URI user of the target, for the child call's log. */
  targetNumber: string;
  transfereeNumber: string;
  transferorGone: boolean;
  /** The PBX is BYEd this long after the final NOTIFY (or after completion when none was sent). */
  byeFallbackSeconds: number;
  /** When the final NOTIFY (200 OK) was sent; absent with Refer-Sub: false or a subscription ended early. */
  finalNotifyAt?: string;
  /** An attended transfer joined the far party of this call: the target leg is that call's far leg. */
  joinedCallSid?: string;
}

export interface TransferFailed extends TransferBase {
  type: 'TransferFailed';
  status: number;
  reason: string;
  customerLeg: LegDialog;
  farLeg: LegDialog;
  transferorGone: boolean;
  transfereeGone: boolean;
}

/**
 * The pivot hung up a target that had answered (ACK, then BYE) because the transfer could not use it:
 * its 200 came after the transfer failed (e.g. crossing our CANCEL; RFC 3261 §15: ACK and BYE it),
 * the transferee refused the reconnect, or the transferee hung up while being reconnected.
 */
export interface TargetReleased extends TransferBase {
  type: 'TargetReleased';
  why: 'late-answer' | 'reconnect-refused' | 'transferee-hung-up';
  targetCallId: string;
}

/** An accepted attended transfer asks the replaced call's session for its far leg. */
export interface JoinRequested extends TransferBase {
  type: 'JoinRequested';
  replacedSessionSid: string;
  replacedCallSid: string;
  replaces: ReplacesDialog;
}

/** The replaced call lent its far leg to a transfer of another session; requests on it go there now. */
export interface FarLegHandedOver extends Base {
  type: 'FarLegHandedOver';
  transferSid: string;
  toSessionSid: string;
  toCallSid: string;
  farLeg: LegDialog;
  farNumber: string;
  customerSdp?: string;
}

/** The replaced call refused to lend its far leg, and why. */
export interface HandOverRefused extends Base {
  type: 'HandOverRefused';
  transferSid: string;
  toSessionSid: string;
  toCallSid: string;
  status: number;
  reason: string;
}

/**
 * How a join ended for the replaced call: `joined` (the far parties are connected in the child call) or
 * `returned` (the far leg goes back, with the CSeqs the transfer used).
 */
export interface JoinEnded extends TransferBase {
  type: 'JoinEnded';
  replacedSessionSid: string;
  replacedCallSid: string;
  outcome: 'joined' | 'returned';
  childCallSid?: string;
  farLeg?: LegDialog;
  status: number;
  reason: string;
  /** `returned` because the far party hung up during the join: the replaced call ends, its PBX BYEd. */
  farPartyGone?: true;
}

export interface TimerScheduled extends Base {
  type: 'TimerScheduled';
  timerId: string;
  name: TimerFired['name'];
  dueAt: string;
  transferSid?: string;
}

export interface TimerCanceled extends Base {
  type: 'TimerCanceled';
  timerId: string;
  transferSid?: string;
}

export interface CallEnded extends Base {
  type: 'CallEnded';
  status: CallStatus;
  /** SIP status that ended it, when one did. */
  sipStatus?: number;
  /** Why the pivot ended it itself, when it did so for a protocol error. */
  why?: string;
}

export type CallInput =
  | CallReceived
  | ChildCallStarted
  | CallProgress
  | CallAnswered
  | CallRejected
  | CallCanceled
  | HangupReceived
  | ReInviteReceived
  | ReInviteAnswered
  | CallAcked
  | InfoReceived
  | InfoAnswered
  | UpdateReceived
  | UpdateAnswered
  | TimerFired
  | ReferAccepted
  | ReferRejected
  | TransferCompleted
  | TransferFailed
  | HandOverRequested
  | ReplacedCallJoined
  | FarLegReturned
  | ReplacingInviteReceived;

export type TransferInput =
  | ReferReceived
  | TransferResponse
  | TransferorHungUp
  | TransfereeHungUp
  | TargetHungUp
  | ReplacedCallHandedOver
  | ReplacedCallRefused
  | TimerFired;

export type Fact =
  | ReferAccepted
  | ReferRejected
  | TargetInvited
  | TransferCompleted
  | TransferFailed
  | TargetReleased
  | TimerScheduled
  | TimerCanceled
  | CallEnded
  | JoinRequested
  | FarLegHandedOver
  | HandOverRefused
  | JoinEnded;

export type SessionEvent = CallInput | TransferInput | Fact | DialogRedirected;
export type SessionEventType = SessionEvent['type'];
