/**
 * A 2xx to an INVITE the pivot sent, from a fork other than the one whose answer the session accepted
 * (a different To tag): RFC 3261 §13.2.2.4, the UAC must ACK it and then BYE it, since only one dialog
 * can be used. The machines know nothing of this dialog (it never becomes part of a call), so the engine
 * answers it directly from the response, as classify answers requests that need no machine. Pure.
 *
 * Identifiers are deterministic (derived from the leg, the CSeq and the fork's tag), so the same 2xx
 * handled twice (after a restart, or on another engine) yields the same ACK and BYE: a retransmission.
 * The branches carry a suffix of their own, so they never collide with the requests of the accepted
 * dialog (whose BYE uses the same CSeq on the same leg), and a response to this BYE matches no leg.
 */
import { createHash } from 'node:crypto';
import { type LegDialog, parseBranch, requestAt } from '../../machines/dialog.ts';
import { hasSdp, rejectingAnswer, withOrigin } from '../../machines/sdp.ts';
import type { SessionState } from '../../machines/session.ts';
import type { SendRequestCommand, SipInput } from '../shared/messages.ts';

/**
 * The leg of the session with this id whose dialog is confirmed (the peer's tag is known), and whether
 * the INVITE on it went without SDP (a delayed offer, or a target INVITEd per RFC 3725).
 */
function answeredLeg(
  session: SessionState,
  legId: string,
): { leg: LegDialog; offerless: boolean } | undefined {
  for (const call of Object.values(session.calls)) {
    for (const [name, leg] of Object.entries(call.context.legs)) {
      if (leg?.legId === legId && leg.remote.params.tag) {
        return { leg, offerless: call.context.delayedOffer === true && name === call.context.outbound };
      }
    }
  }
  for (const transfer of Object.values(session.transfers)) {
    const target = transfer.context.target;
    if (target?.legId === legId && target.remote.params.tag) {
      return { leg: target, offerless: transfer.context.offerlessTarget === true };
    }
  }
  return undefined;
}

/**
 * The ACK and BYE owed to `input` if it is a 2xx from another fork of an INVITE already answered on a
 * confirmed dialog; undefined for anything else (including a repeat of the accepted 2xx, same To tag).
 * Call it only for a response no machine took.
 */
export function extraForkAnswer(session: SessionState, input: SipInput): SendRequestCommand[] | undefined {
  if (input.kind !== 'response' || input.cseq.method !== 'INVITE') return undefined;
  if (input.status < 200 || input.status >= 300) return undefined;
  const branch = parseBranch(input.transactionKey);
  const toTag = input.to.params.tag;
  if (branch?.method !== 'invite' || !toTag) return undefined;
  const { legId } = branch;
  const found = answeredLeg(session, legId);
  if (!found || found.leg.remote.params.tag === toTag) return undefined;
  const { leg } = found;
  const seq = input.cseq.seq;
  const dialog: LegDialog = {
    ...leg,
    remote: { ...leg.remote, params: { ...leg.remote.params, tag: toTag } },
    remoteTarget: input.contact?.uri ?? leg.remoteTarget,
    routeSet: [...input.recordRoute].reverse(),
    localCseq: seq,
  };
  const fork = createHash('sha256').update(toTag).digest('hex').slice(0, 10);
  // To an INVITE without SDP the 2xx is an offer and the ACK must answer it (RFC 3261 §13.2.2.4): an
  // answer rejecting every stream, as the fork is hung up at once anyway.
  const answer =
    found.offerless && hasSdp(input.body)
      ? { body: withOrigin(rejectingAnswer(input.body), { ...leg.origin, version: leg.origin.version + 1 }) }
      : {};
  const ack = requestAt(dialog, 'ACK', seq, answer);
  const bye = requestAt(dialog, 'BYE', seq + 1);
  return [
    { ...ack, branch: `z9hG4bK-${legId}-${seq}-ack-x${fork}` },
    { ...bye, branch: `z9hG4bK-${legId}-${seq + 1}-bye-x${fork}` },
  ];
}
