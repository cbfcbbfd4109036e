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

/**
 * The methods the engine handles; anything else gets 405 from the adapter. Sent as `Allow` on our
 * INVITEs and their 2xx too: PBXs decide from it whether they may REFER a call to us.
 */
export const ALLOWED_METHODS = [
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REFER',
  'NOTIFY',
  'INFO',
  'PRACK',
  'UPDATE',
] as const;
export const ALLOW_HEADER = ALLOWED_METHODS.join(', ');

/**
 * The option tags we support (RFC 3261 §19.2), lower-case: a request requiring any other gets 420
 * (§8.2.2.3), and this is our `Supported` header. norefersub: RFC 4488 (a REFER without implicit
 * subscription). 100rel: RFC 3262 (reliable provisional responses are PRACKed; a caller requiring them
 * gets none). timer: RFC 4028 session timers, with the caller as the refresher.
 */
export const SUPPORTED_OPTION_TAGS = ['norefersub', '100rel', 'timer'] as const;
export const SUPPORTED_HEADER = SUPPORTED_OPTION_TAGS.join(', ');
/**
 * `Supported` on the INVITEs we send: without `timer`, since a callee told we support it may make us
 * the refresher in its 2xx (RFC 4028 §9) and the pivot never refreshes a session itself.
 */
const requestTags = SUPPORTED_OPTION_TAGS.filter((tag) => tag !== 'timer');
/**
 * `Supported` on a call's INVITE to the callee, whose reliable provisional responses the call PRACKs
 * (machines/call/steps.ts). Other INVITEs we send (to a transfer target, re-INVITEs) do not PRACK yet,
 * so they leave 100rel out (REQUEST_SUPPORTED_HEADER): a callee must not send them reliably.
 */
export const PRACKING_INVITE_SUPPORTED_HEADER = requestTags.join(', ');
export const REQUEST_SUPPORTED_HEADER = requestTags.filter((tag) => tag !== '100rel').join(', ');

/** RFC 3261 §18.1.1: a request larger than this (path MTU unknown) goes over TCP instead of UDP. */
export const UDP_REQUEST_LIMIT_BYTES = 1300;
/** The largest UDP payload over IPv4 (65,535 minus the IP and UDP headers); beyond it, EMSGSIZE. */
export const MAX_DATAGRAM_BYTES = 65_507;
