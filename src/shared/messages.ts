/**
 * The messages that cross the bus between the SIP adapter and the engine. They are plain JSON so they
 * can travel in-process or over NATS unchanged.
 *
 * The adapter turns every valid SIP message into a SipInput; the engine answers with SipCommands.
 * The adapter keeps only short-lived transaction state: everything about dialogs lives in the engine's
 * events, and commands carry every header the adapter needs to build the message.
 */

/** `tls` is SIP over TLS over TCP (RFC 3261 §26.2, `Via: SIP/2.0/TLS`, `sips:` URIs). */
export type Transport = 'udp' | 'tcp' | 'tls';

/** TCP and TLS carry SIP as a stream: framed by Content-Length, sent once (no retransmissions). */
export function isStream(transport: Transport): boolean {
  return transport !== 'udp';
}

/** A header's value on a command; a list becomes one header line per element, in order. */
export type HeaderValue = string | string[];

export interface SipEndpoint {
  transport: Transport;
  host: string;
  port: number;
}

/** A parsed name-addr / addr-spec header value such as From, To, Contact, Referred-By. */
export interface NameAddr {
  uri: string;
  displayName?: string;
  /** Header parameters (after the URI), lower-cased names; `tag` lives here. A flag parameter maps to ''. */
  params: Record<string, string>;
}

interface SipMessageInput {
  /** The adapter instance that holds the transaction, so commands find their way back. */
  adapterId: string;
  callId: string;
  from: NameAddr;
  to: NameAddr;
  cseq: { seq: number; method: string };
  contact?: NameAddr;
  /** Record-Route values in the order they appeared. */
  recordRoute: string[];
  /**
   * Every header as received, names lower-cased (compact forms expanded), values unparsed, in order.
   * Headers like Refer-To, Referred-By, Event, Refer-Sub and Subscription-State are read from here.
   */
  headers: Record<string, string[]>;
  body: string;
  source: SipEndpoint;
  /** ISO-8601 time the adapter received the message. */
  receivedAt: string;
}

/**
 * The certificate a TLS peer presented, when it verified: its SHA-256 fingerprint (`AB:CD:…`) and the
 * names it carries (subject CN, subjectAltName DNS names, IP addresses, URIs; lower-cased, at most 16).
 */
export interface PeerCertificate {
  fingerprint: string;
  names: string[];
}

export interface SipRequestInput extends SipMessageInput {
  kind: 'request';
  /** The verified certificate of the TLS connection the request came on (mutual TLS); else absent. */
  certificate?: PeerCertificate;
  /**
   * The server transaction: the top Via branch plus the method (ACK and CANCEL have their own).
   * Retransmissions of a request share this key and are absorbed by the adapter before they reach the
   * engine, except that the adapter re-sends the last response it was told to send.
   */
  transactionKey: string;
  method: string;
  uri: string;
  /** The Max-Forwards received (0-255); absent when the request had none. */
  maxForwards?: number;
}

export interface SipResponseInput extends SipMessageInput {
  kind: 'response';
  /** The client transaction: the branch of the request this answers (the command's `branch`). */
  transactionKey: string;
  status: number;
  reason: string;
}

export type SipInput = SipRequestInput | SipResponseInput;

/** The first value of a header as received (`name` lower-case), or undefined when it is absent. */
export function firstHeader(input: Pick<SipInput, 'headers'>, name: string): string | undefined {
  return input.headers[name]?.[0];
}

/** Answer a request the adapter delivered; the adapter copies Via, From, Call-ID, CSeq from it. */
export interface SendResponseCommand {
  kind: 'response';
  adapterId: string;
  transactionKey: string;
  status: number;
  reason: string;
  /** Added to the To header when the request had no To tag (dialog-creating responses). */
  toTag?: string;
  contact?: string;
  /**
   * Extra headers, e.g. Refer-Sub, Record-Route, Allow. A list stands for several lines of one header
   * (Proxy-Authenticate challenges may not be joined with commas, RFC 3261 §7.3.1).
   */
  headers?: Record<string, HeaderValue>;
  body?: string;
  contentType?: string;
}

/** Send a request. Every identifier is chosen by the engine so that a repeat is a retransmission. */
export interface SendRequestCommand {
  kind: 'request';
  /** Via branch (starts with z9hG4bK); also the client-transaction key of the responses. */
  branch: string;
  method: string;
  uri: string;
  /** Where the request goes (the next hop: first route or remote target). */
  destination: SipEndpoint;
  callId: string;
  from: NameAddr;
  to: NameAddr;
  cseq: { seq: number; method: string };
  contact?: string;
  route?: string[];
  /** The Max-Forwards to send (0-255); 70 when absent (RFC 3261 §8.1.1.6). */
  maxForwards?: number;
  headers?: Record<string, HeaderValue>;
  body?: string;
  contentType?: string;
}

export type SipCommand = SendResponseCommand | SendRequestCommand;
