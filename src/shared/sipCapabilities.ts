/**
 * What the pivot can do, as SIP advertises it: the methods it handles and the option tags it supports.
 * The adapter refuses and advertises by them; the call machine chooses its INVITE's `Supported` by them.
 */

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
 * gets none). timer: RFC 4028 session timers, with the caller as the refresher. replaces: RFC 3891 (an
 * INVITE with Replaces takes over the leg it names; a REFER whose Refer-To carries one is an attended
 * transfer), so a phone may send `Require: replaces`.
 */
export const SUPPORTED_OPTION_TAGS = ['norefersub', '100rel', 'timer', 'replaces'] as const;
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
