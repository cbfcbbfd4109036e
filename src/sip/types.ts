/**
 * Types shared inside the SIP adapter. Nothing here crosses the bus: the bus types live in
 * src/shared/messages.ts. These describe messages between parsing, validation and the transaction layer.
 */
import type { NameAddr, PeerCertificate, SipEndpoint } from '../shared/messages.ts';

export type { Logger } from '../log.ts';

/** One header line as it was on the wire: name lower-cased with compact forms expanded, value unfolded. */
export interface RawHeader {
  name: string;
  value: string;
}

export type StartLine =
  | { kind: 'request'; method: string; uri: string; version: string }
  | { kind: 'response'; version: string; status: number; reason: string }
  /** Kept instead of failing so a request with a broken first line can still get its 400. */
  | { kind: 'invalid'; line: string };

/** A message split into start line, header lines and body bytes; nothing is validated yet. */
export interface RawMessage {
  start: StartLine;
  headers: RawHeader[];
  /** Every byte after the empty line; Content-Length is applied by validation. */
  body: Buffer;
  /** Header lines that were not `name: value`; validation turns them into a 400. */
  malformedLines: string[];
}

/** A parsed Via value (one element of a possibly comma-separated Via header). */
export interface Via {
  transport: string;
  host: string;
  port?: number;
  params: Record<string, string>;
  branch: string;
}

interface ValidCommon {
  raw: RawMessage;
  topVia: Via;
  callId: string;
  from: NameAddr;
  to: NameAddr;
  cseq: { seq: number; method: string };
  contact?: NameAddr;
  /** The body cut to Content-Length, decoded as UTF-8. */
  body: string;
}

export interface ValidRequest extends ValidCommon {
  kind: 'request';
  method: string;
  uri: string;
  /** The verified certificate of the TLS peer it came from. */
  certificate?: PeerCertificate;
  /** Absent when the request had no Max-Forwards header. */
  maxForwards?: number;
}

export interface ValidResponse extends ValidCommon {
  kind: 'response';
  status: number;
  reason: string;
}

export type ValidMessage = ValidRequest | ValidResponse;

/** A message to put on the wire; Content-Length is added by serialization. */
export interface OutgoingMessage {
  startLine: string;
  headers: Array<readonly [string, string]>;
  body?: string;
}

/** Told when an INVITE dialog is confirmed over a connection and when its BYE completes. */
export interface DialogObserver {
  confirmed(callId: string, remote: SipEndpoint): void;
  ended(callId: string): void;
}

/** Sends bytes; onError reports failures that RFC 3261 §8.1.3.1 treats like a 503. */
export type SendFn = (destination: SipEndpoint, data: Buffer, onError?: (error: Error) => void) => void;
