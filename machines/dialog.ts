/**
 * A leg's SIP dialog as the machines keep it, and pure builders for the requests sent in it.
 * Everything a request needs is here, so any engine instance can continue a call from its events alone.
 */
import type {
  NameAddr,
  SendRequestCommand,
  SendResponseCommand,
  SipEndpoint,
} from '../src/shared/messages.ts';
import { addressing } from './next-hop.ts';
import { type SdpOrigin, withOrigin } from './sdp.ts';

export type LegName = 'customer' | 'far' | 'target';

export interface LegDialog {
  /** Unique within the session; part of every branch the pivot generates for this leg. */
  legId: string;
  callId: string;
  /** Our address and tag in this dialog (From of our requests). */
  local: NameAddr & { params: { tag: string } };
  /** The peer's address and tag (To of our requests); the tag is absent until the peer answers. */
  remote: NameAddr;
  /** CSeq of the last request the pivot sent in this dialog. */
  localCseq: number;
  /**
   * RFC 3261 §12.2.2 remote sequence number: CSeq of the last request the peer sent in this dialog (its
   * INVITE for a leg that called us). Absent while unknown: on a leg the pivot placed, until the peer's
   * first request, and on legs stored before the field existed. Unknown accepts any CSeq.
   */
  remoteCseq?: number;
  /** Request-URI of in-dialog requests: the peer's Contact. */
  remoteTarget: string;
  routeSet: string[];
  /**
   * Where the dialog-creating request went (or, for a peer that called us, where it came from): the
   * destination of requests before the peer answers, and of every request on legs without `routed`.
   */
  destination: SipEndpoint;
  /** The flow a peer that called us sends from: in-dialog requests to that host reuse it (NAT, TCP). */
  flow?: SipEndpoint;
  /**
   * In-dialog requests follow the route set to the remote target (next-hop.ts). Absent on legs stored
   * before they did: those keep sending to `destination`.
   */
  routed?: true;
  /** Our Contact on this leg. */
  contact: string;
  /** The last SDP the peer sent on this leg. */
  remoteSdp?: string;
  /** The pivot's SDP origin on this leg (version grows with every SDP it sends). */
  origin: SdpOrigin;
  /** The server transaction of the peer's INVITE while it is unanswered (inbound legs only). */
  pendingInvite?: { adapterId: string; transactionKey: string };
  /**
   * The pivot's last re-INVITE on this leg, at its CSeq, with its offer (none when it relays an
   * offer-less re-INVITE): a peer that challenges it (401/407) gets it once more with credentials
   * (`authorized` then). Absent on legs stored before challenges were met.
   */
  sentReInvite?: { cseq: number; body?: string; authorized?: true };
}

/**
 * The dialog after the peer's request at `cseq` was accepted in it: the remote CSeq only grows. An
 * absent `cseq` (a request event stored before requests carried it) leaves the dialog as it was.
 */
export function requestReceived(dialog: LegDialog, cseq: number | undefined): LegDialog {
  if (cseq === undefined || (dialog.remoteCseq !== undefined && dialog.remoteCseq >= cseq)) return dialog;
  return { ...dialog, remoteCseq: cseq };
}

/** `dialog`, keeping the remote CSeq of another copy of the same dialog when that copy saw more. */
export function keepRemoteCseq(dialog: LegDialog, other: LegDialog | undefined): LegDialog {
  return requestReceived(dialog, other?.remoteCseq);
}

/**
 * RFC 3261 §12.2.2: why a new request with CSeq `seq` is out of order in a dialog whose remote CSeq is
 * `remoteCseq` (answer it 500), or undefined when it is in order. A new request must have a higher CSeq
 * than any before it (a retransmission, same CSeq and transaction, never gets here); ACK and CANCEL carry
 * their INVITE's CSeq and are not checked. An unknown remote CSeq accepts anything.
 */
export function outOfOrder(remoteCseq: number | undefined, seq: number, method: string): string | undefined {
  if (remoteCseq === undefined || seq > remoteCseq) return undefined;
  return `CSeq ${seq} ${method} is not above the dialog's last remote CSeq ${remoteCseq} (RFC 3261 §12.2.2)`;
}

/** A deterministic Via branch: unique per leg, method and CSeq, so a repeated command is a retransmission. */
export function branchFor(dialog: LegDialog, method: string, cseq: number): string {
  return `z9hG4bK-${dialog.legId}-${cseq}-${method.toLowerCase()}`;
}

const BRANCH = /^z9hG4bK-([0-9a-f]{12}[a-z])-(\d+)-([a-z]+)$/;

/** The leg, CSeq and method a `branchFor` branch names; undefined for a branch the pivot did not make. */
export function parseBranch(branch: string): { legId: string; cseq: number; method: string } | undefined {
  const match = BRANCH.exec(branch);
  return match ? { legId: match[1]!, cseq: Number(match[2]), method: match[3]! } : undefined;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: string;
  contentType?: string;
}

/** Builds the next in-dialog request (new CSeq) and returns the dialog with the CSeq consumed. */
export function nextRequest(
  dialog: LegDialog,
  method: string,
  options: RequestOptions = {},
): [LegDialog, SendRequestCommand] {
  const cseq = dialog.localCseq + 1;
  const next = { ...dialog, localCseq: cseq };
  return [next, requestAt(next, method, cseq, options)];
}

/** A request at a given CSeq: ACK and CANCEL reuse the CSeq of the INVITE they belong to. */
export function requestAt(
  dialog: LegDialog,
  method: string,
  cseq: number,
  options: RequestOptions = {},
): SendRequestCommand {
  // CANCEL must carry the INVITE's branch (RFC 3261 §9.1) so the peer matches it to that transaction.
  const branch = branchFor(dialog, method === 'CANCEL' ? 'INVITE' : method, cseq);
  const { requestUri, route, destination } = addressing(dialog);
  const command: SendRequestCommand = {
    kind: 'request',
    branch: method === 'ACK' ? `${branch}-ack` : branch,
    method,
    uri: requestUri,
    destination,
    callId: dialog.callId,
    from: dialog.local,
    to: dialog.remote,
    cseq: { seq: cseq, method },
    contact: dialog.contact,
  };
  if (route.length > 0) command.route = route;
  if (options.headers) command.headers = options.headers;
  if (options.body !== undefined) {
    command.body = options.body;
    command.contentType = options.contentType ?? 'application/sdp';
  }
  return command;
}

/** Re-INVITE offering `sdp` (origin rewritten to ours, version bumped). */
export function reInvite(dialog: LegDialog, sdp: string): [LegDialog, SendRequestCommand] {
  const origin = { ...dialog.origin, version: dialog.origin.version + 1 };
  const body = withOrigin(sdp, origin);
  const [next, request] = nextRequest({ ...dialog, origin }, 'INVITE', { body });
  return [{ ...next, sentReInvite: { cseq: next.localCseq, body } }, request];
}

/** Re-INVITE without an offer (RFC 3261 §14.1), asking the peer for one: relaying an offer-less re-INVITE. */
export function offerlessReInvite(dialog: LegDialog): [LegDialog, SendRequestCommand] {
  const [next, request] = nextRequest(dialog, 'INVITE');
  return [{ ...next, sentReInvite: { cseq: next.localCseq } }, request];
}

/**
 * The last re-INVITE again, in a new transaction (next CSeq) with the credentials answering the peer's
 * challenge (RFC 3261 §22.2); the offer is the same (or again none), as the challenged one was never
 * answered.
 */
export function reInviteWithCredentials(
  dialog: LegDialog,
  authorization: { header: string; value: string },
): [LegDialog, SendRequestCommand] {
  const sent = dialog.sentReInvite;
  if (!sent) throw new Error(`leg ${dialog.legId} has no re-INVITE to send again`);
  const [next, request] = nextRequest(dialog, 'INVITE', {
    ...(sent.body !== undefined ? { body: sent.body } : {}),
    headers: { [authorization.header]: authorization.value },
  });
  const again = { cseq: next.localCseq, ...(sent.body !== undefined ? { body: sent.body } : {}) };
  return [{ ...next, sentReInvite: { ...again, authorized: true } }, request];
}

/** Whether a 401/407 to the re-INVITE at `cseq` is the first challenge to the leg's last re-INVITE. */
export function reInviteChallengeable(dialog: LegDialog, cseq: number): boolean {
  return dialog.sentReInvite?.cseq === cseq && !dialog.sentReInvite.authorized;
}

/** SDP to send on this leg with our origin, bumping the version (answers and offers alike). */
export function outgoingSdp(dialog: LegDialog, sdp: string): [LegDialog, string] {
  const origin = { ...dialog.origin, version: dialog.origin.version + 1 };
  return [{ ...dialog, origin }, withOrigin(sdp, origin)];
}

export interface ResponseOptions {
  toTag?: string;
  contact?: string;
  headers?: Record<string, string>;
  body?: string;
  contentType?: string;
}

export function response(
  transaction: { adapterId: string; transactionKey: string },
  status: number,
  reason: string,
  options: ResponseOptions = {},
): SendResponseCommand {
  const command: SendResponseCommand = { kind: 'response', ...transaction, status, reason };
  if (options.toTag) command.toTag = options.toTag;
  if (options.contact) command.contact = options.contact;
  if (options.headers) command.headers = options.headers;
  if (options.body !== undefined) {
    command.body = options.body;
    command.contentType = options.contentType ?? 'application/sdp';
  }
  return command;
}

/** The standard reason phrase for a status the pivot sends itself. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 300 ? 'OK' : 'Error');
}

const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  500: 'Server Internal Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  603: 'Decline',
};
