/**
 * An INVITE with Replaces (RFC 3891) taking the place of one of the call's confirmed legs: a phone that
 * picks the call up, a parked call retrieved. The other leg is re-INVITEd with the new offer; its answer
 * answers the new INVITE, and the replaced dialog is BYEd (RFC 3891 §3). Refused by the other leg, the
 * new INVITE gets that refusal and the call goes on with the leg it had.
 */
import { nextRequest, outgoingSdp, reInvite, requestAt, response } from '../dialog.ts';
import type { Step } from '../effects.ts';
import { sip } from '../effects.ts';
import type { ReInviteAnswered, ReplacingInviteReceived } from '../events.ts';
import { type CallContext, leg } from './steps.ts';

/** The new dialog stands in for the replaced leg; the other leg hears the new offer. */
export const replaceLeg: Step<CallContext, ReplacingInviteReceived> = ({ outbox: _, ...context }, event) => {
  const other = event.leg === context.inbound ? context.outbound : context.inbound;
  const [offered, reinvite] = reInvite(leg(context, other), event.sdp);
  const transaction = event.newLeg.pendingInvite!;
  return [
    {
      ...context,
      legs: { ...context.legs, [event.leg]: event.newLeg, [other]: offered },
      replacing: { leg: event.leg, old: leg(context, event.leg) },
      relay: { from: event.leg, to: other, transaction, sdp: event.sdp },
    },
    [sip(reinvite)],
  ];
};

/**
 * The other leg answered the new offer: it is ACKed, the new INVITE answered 200 with its SDP (our tag,
 * our Contact), and the replaced dialog BYEd. Refused: the new INVITE gets the refusal, the old leg stays.
 */
export const legReplaced: Step<CallContext, ReInviteAnswered> = ({ outbox: _, ...context }, event) => {
  const relay = context.relay!;
  const replacing = context.replacing!;
  const asked = leg(context, relay.to);
  const fresh = leg(context, relay.from);
  const toTag = fresh.local.params.tag;
  if (event.status >= 300) {
    const { pendingInvite: _p, ...kept } = replacing.old;
    return [
      { ...context, relay: undefined, replacing: undefined, legs: { ...context.legs, [relay.from]: kept } },
      [sip(response(relay.transaction, event.status, event.reason, { toTag }))],
    ];
  }
  const answered = event.sdp ? { ...asked, remoteSdp: event.sdp } : asked;
  const [replied, sdp] = outgoingSdp({ ...fresh, remoteSdp: relay.sdp }, event.sdp ?? '');
  const { pendingInvite: _answered, ...confirmed } = replied;
  const [, bye] = nextRequest(replacing.old, 'BYE');
  return [
    {
      ...context,
      relay: undefined,
      replacing: undefined,
      legs: { ...context.legs, [relay.to]: answered, [relay.from]: confirmed },
    },
    [
      sip(requestAt(answered, 'ACK', answered.localCseq)),
      sip(response(relay.transaction, 200, 'OK', { toTag, contact: confirmed.contact, body: sdp })),
      sip(bye),
    ],
  ];
};
