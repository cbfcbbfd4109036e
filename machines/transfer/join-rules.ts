/**
 * Whether an attended transfer (a REFER whose Refer-To carries Replaces) may join the far parties of
 * the two calls: the transferring call's policy and the replaced call as the engine found it, both
 * copied into the REFER, so the verdict replays alike. Pure.
 */
import type { ReferReceived } from '../events.ts';
import type { TransferContext } from './context.ts';

/** Whether a REFER asks to join another pivot call (a Replaces not elsewhere, RFC 3891). */
export function asksJoin(event: ReferReceived): boolean {
  return event.replaced !== undefined || (event.replaces !== undefined && !event.replacesElsewhere);
}

export type JoinVerdict = { ok: true } | { ok: false; status: number; reason: string };

export function judgeJoin(context: TransferContext, event: ReferReceived): JoinVerdict {
  const { policy, replaced, replaces } = event;
  if (policy.transferMode === 'disable-all') {
    return { ok: false, status: 403, reason: `transfers are disabled on trunk ${context.trunkName}` };
  }
  if (context.transfersAccepted >= policy.maxTransfersPerCall) {
    return { ok: false, status: 403, reason: `maxTransfersPerCall (${policy.maxTransfersPerCall}) reached` };
  }
  if (!replaces || !replaced) {
    return {
      ok: false,
      status: 403,
      reason: `Replaces names no call through the pivot (Call-ID ${replaces?.callId ?? '(none)'})`,
    };
  }
  if (replaced.callSid === context.callSid) {
    return { ok: false, status: 403, reason: 'Replaces names the call the REFER came in' };
  }
  if (!replaced.sameCustomer) {
    return {
      ok: false,
      status: 403,
      reason: `the replaced call is another customer's (trunk ${replaced.trunkName})`,
    };
  }
  if (replaced.transferMode === 'disable-all') {
    return {
      ok: false,
      status: 403,
      reason: `transfers are disabled on trunk ${replaced.trunkName} (the replaced call's)`,
    };
  }
  if (replaced.state === 'ringing') {
    return {
      ok: false,
      status: 403,
      reason: 'the Replaces dialog is early: the replaced call is not answered',
    };
  }
  // RFC 3891 §3: early-only asks to replace an early dialog only; a confirmed one answers 486.
  if (replaces.earlyOnly) {
    return { ok: false, status: 486, reason: 'Replaces is early-only, and the replaced call is answered' };
  }
  if (replaced.state !== 'inProgress') {
    const why = replaced.state === 'ended' ? 'has ended' : `is busy (${replaced.state})`;
    return { ok: false, status: 403, reason: `the replaced call ${why}` };
  }
  return { ok: true };
}
