/**
 * The `Replaces` a Refer-To URI carries for an attended transfer (RFC 3891 §3, RFC 5589 §7):
 * `<sip:target?Replaces=call-id%3Bto-tag%3D...%3Bfrom-tag%3D...>`. Pure, so the engine and the
 * transfer machine read the same dialog from the same header.
 */
import type { ReplacesDialog } from './events.ts';
import { parseNameAddr, splitHeaderValues } from './sip-syntax.ts';

export type ReplacesResult =
  | { kind: 'none' }
  | { kind: 'replaces'; dialog: ReplacesDialog; uri: string }
  | { kind: 'malformed'; reason: string };

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The Replaces of a REFER's Refer-To values: none, a dialog, or why it cannot be read. */
export function replacesOf(referTo: string[]): ReplacesResult {
  const all = referTo.flatMap(splitHeaderValues);
  if (all.length !== 1) return { kind: 'none' };
  const uri = parseNameAddr(all[0]!)?.uri;
  const question = uri?.indexOf('?') ?? -1;
  if (!uri || question < 0) return { kind: 'none' };
  const headers = uri.slice(question + 1).split('&');
  const raw = headers.find((header) => /^replaces=/i.test(header));
  if (raw === undefined) return { kind: 'none' };
  const others = headers.filter((header) => header !== raw && !/^require=/i.test(header));
  if (others.length > 0) return { kind: 'malformed', reason: 'Refer-To URI headers other than Replaces' };
  const value = decode(raw.slice('replaces='.length));
  if (value === undefined) return { kind: 'malformed', reason: 'Replaces is not %-encoded properly' };
  const dialog = parseReplaces(value);
  if (!dialog) {
    return { kind: 'malformed', reason: 'Replaces needs a Call-ID, a to-tag and a from-tag (RFC 3891 §6.1)' };
  }
  return { kind: 'replaces', uri: uri.slice(0, question), dialog };
}

/** A Replaces header value (RFC 3891 §6.1): `call-id;to-tag=...;from-tag=...[;early-only]`. */
export function parseReplaces(value: string): ReplacesDialog | undefined {
  const [callId, ...params] = value.split(';').map((part) => part.trim());
  const named = new Map<string, string>();
  for (const param of params) {
    const [name, ...rest] = param.split('=');
    named.set(name!.toLowerCase(), rest.join('='));
  }
  const toTag = named.get('to-tag');
  const fromTag = named.get('from-tag');
  if (!callId || !toTag || !fromTag) return undefined;
  return { callId, toTag, fromTag, ...(named.has('early-only') ? { earlyOnly: true } : {}) };
}

/**
 * Whether `dialog` names the dialog with Call-ID `callId`, our tag `localTag` and the peer's tag
 * `remoteTag`. RFC 3891 §3 names the tags from the sender's side (to-tag: the far end's, ours); some
 * PBXs send them the other way round, which names the same dialog just as unambiguously.
 */
export function namesDialog(
  dialog: ReplacesDialog,
  callId: string,
  localTag: string,
  remoteTag: string | undefined,
): boolean {
  if (dialog.callId !== callId || remoteTag === undefined) return false;
  return (
    (dialog.toTag === localTag && dialog.fromTag === remoteTag) ||
    (dialog.toTag === remoteTag && dialog.fromTag === localTag)
  );
}
