/** RFC 3261 timer defaults and the adapter's limits. */

/** T1: RTT estimate; retransmission intervals start here (RFC 3261 §17.1.1.1). */
export const DEFAULT_T1_MS = 500;
/** Cap for non-INVITE and 2xx retransmission intervals is T2 = 8 * T1 (4 s by default). */
export const T2_FACTOR = 8;
/** Transactions time out after 64 * T1 (timers B, F, H, J). */
export const TRANSACTION_TIMEOUT_FACTOR = 64;
/** A request still waiting for its final response is forgotten after this long (INVITEs may ring). */
export const PENDING_SERVER_TRANSACTION_MS = 5 * 60_000;

/**
 * A TCP connection carrying a confirmed dialog is spared by the idle close for at most this long, and
 * at most this many dialogs are remembered (dialogPins.ts).
 */
export const DIALOG_PIN_MAX_MS = 12 * 60 * 60_000;
export const MAX_PINNED_DIALOGS = 100_000;

/** The largest message accepted; UDP datagrams cannot exceed 65,507 bytes anyway. */
export const MAX_MESSAGE_BYTES = 65_535;

/** RFC 3261 §18.1.1: a request larger than this (path MTU unknown) goes over TCP instead of UDP. */
export const UDP_REQUEST_LIMIT_BYTES = 1300;
/** The largest UDP payload over IPv4 (65,535 minus the IP and UDP headers); beyond it, EMSGSIZE. */
export const MAX_DATAGRAM_BYTES = 65_507;

/**
 * Requests per second (and at once) one source address may send before the adapter sheds its excess
 * (sourceLimit.ts). A PBX making 20 transferred calls a second sends about 80 requests a second
 * (INVITE, ACK, REFER, BYE); set a trunk's busiest source's needs, not more.
 */
export const DEFAULT_SOURCE_RATE_PER_S = 100;
export const DEFAULT_SOURCE_BURST = 200;
/** What an over-limit source is told to wait over TCP (UDP excess is dropped: it may be spoofed). */
export const SOURCE_LIMIT_RETRY_AFTER_S = 1;
/**
 * The one budget every source that is neither a trunk's PBX nor the carrier shares (transfer targets'
 * in-dialog requests, monitors, scanners, spoofed floods): a flood spread over many addresses then
 * costs no more than this, and known peers keep their own budgets.
 */
export const DEFAULT_UNKNOWN_SOURCES_RATE_PER_S = 100;
export const DEFAULT_UNKNOWN_SOURCES_BURST = 200;

/** Server transactions waiting for a final answer; beyond this new requests get 503 at once. */
export const DEFAULT_MAX_PENDING_SERVER_TRANSACTIONS = 10_000;
export const OVERLOAD_RETRY_AFTER_S = 5;

/**
 * Refusals sent without a transaction (RFC 3261 §8.2.7 stateless UAS behaviour) are remembered by branch
 * this many at a time, so a retransmitted request gets the same bytes and the ACK of a refused INVITE
 * is absorbed. Only answers up to STATELESS_ANSWER_MAX_BYTES are kept (a response copies the request's
 * Via, From, To and Call-ID, which a hostile request can make 60 KB long): 16 MB at most, whatever the
 * flood. A larger one is judged again when its request is retransmitted.
 */
export const STATELESS_ANSWERS_KEPT = 4_096;
export const STATELESS_ANSWER_MAX_BYTES = 4_096;
