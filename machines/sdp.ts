/**
 * Pure SDP rewriting. The pivot relays no media: it passes each party's SDP to the other side, but it is
 * the SDP originator on every leg, so relayed SDP gets the pivot's own `o=` line with a version that
 * grows on every change (RFC 3264 §8), and hold/resume only touch the direction attributes.
 */

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** The pivot's origin on one leg: a session id fixed for the leg and a version bumped per offer/answer. */
export interface SdpOrigin {
  sessionId: string;
  version: number;
  address: string;
}

const DIRECTION = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/;

function splitLines(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((line) => line.length > 0);
}

function joinLines(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}

/** Replaces the `o=` line with the pivot's origin for this leg. */
export function withOrigin(sdp: string, origin: SdpOrigin): string {
  const family = origin.address.includes(':') ? 'IP6' : 'IP4';
  const line = `o=sip-pivot ${origin.sessionId} ${origin.version} IN ${family} ${origin.address}`;
  const lines = splitLines(sdp);
  const index = lines.findIndex((l) => l.startsWith('o='));
  if (index === -1) {
    const versionAt = lines.findIndex((l) => l.startsWith('v='));
    lines.splice(versionAt + 1, 0, line);
  } else {
    lines[index] = line;
  }
  return joinLines(lines);
}

/**
 * Sets one direction for every media stream: direction attributes are removed everywhere (session level
 * included, so no stale one overrides) and `a=<direction>` is added to each media section.
 */
export function withDirection(sdp: string, direction: MediaDirection): string {
  const out: string[] = [];
  let inMedia = false;
  for (const line of splitLines(sdp)) {
    if (DIRECTION.test(line)) continue;
    if (line.startsWith('m=')) {
      if (inMedia) out.push(`a=${direction}`);
      inMedia = true;
    }
    out.push(line);
  }
  if (inMedia) out.push(`a=${direction}`);
  return joinLines(out);
}

/** The direction of the first media stream (or the session level), `sendrecv` when none is given. */
export function directionOf(sdp: string): MediaDirection {
  let sessionLevel: MediaDirection = 'sendrecv';
  let inMedia = false;
  for (const line of splitLines(sdp)) {
    if (line.startsWith('m=')) {
      if (inMedia) break;
      inMedia = true;
      continue;
    }
    const match = DIRECTION.exec(line);
    if (match) {
      if (inMedia) return match[1] as MediaDirection;
      sessionLevel = match[1] as MediaDirection;
    }
  }
  return sessionLevel;
}

/**
 * Whether a message body holds a session description. An INVITE without one is a delayed offer (RFC 3261
 * §13.2.1): the offer then comes in the 2xx and the answer in the ACK.
 */
export function hasSdp(body: string | undefined): body is string {
  return body !== undefined && /^v=/m.test(body);
}

/**
 * The direction that puts a stream on hold (RFC 3264 §8.4): `sendonly`, but a stream that was `recvonly`
 * (the pivot's side only receiving) becomes `inactive`, and one already `inactive` stays so.
 */
export function holdDirection(current: MediaDirection): MediaDirection {
  return current === 'recvonly' || current === 'inactive' ? 'inactive' : 'sendonly';
}

/**
 * A valid answer that rejects every stream of `offer` (RFC 3264 §6: same m-lines in the same order, port
 * zero). It is what a UAC that cannot accept the offer in a 2xx puts in its ACK before sending BYE (RFC
 * 3261 §13.2.2.4): an ACK must carry an answer, and this one sets up no media.
 */
export function rejectingAnswer(offer: string): string {
  const out: string[] = [];
  for (const line of splitLines(offer)) {
    if (line.startsWith('m=')) {
      out.push(line.replace(/^m=(\S+) \d+(\/\d+)? /, 'm=$1 0 '));
      continue;
    }
    if (line.startsWith('a=') && !line.startsWith('a=rtpmap:') && !line.startsWith('a=fmtp:')) continue;
    out.push(line);
  }
  return joinLines(out);
}
