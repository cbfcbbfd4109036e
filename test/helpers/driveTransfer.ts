/**
 * Drives one complete blind transfer through an engine with typed SIP inputs (no network): call
 * answered, REFER, hold, target rings and answers, far party reconnected, PBX hangs up.
 * Used by replay tests and benchmarks to fill a store with realistic sessions.
 */

import type { Engine } from '../../src/engine/engine.ts';
import type { SendResponseCommand, SipCommand } from '../../src/shared/messages.ts';
import { sessionOf } from '../../src/shared/sessionKeys.ts';
import { lastRequest as lastSent } from './engineHarness.ts';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER, SDP_TARGET } from './sipInputs.ts';

export interface DrivenTransfer {
  rootCallSid: string;
  childCallSid: string;
}

export async function driveTransfer(engine: Engine, sent: SipCommand[]): Promise<DrivenTransfer> {
  const lastRequest = (method: string) => lastSent(sent, method);
  const invite = pbxInvite();
  const rootCallSid = sessionOf(invite);
  await engine.handle(invite);
  await engine.handle(answer(lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
  const ok = sent.findLast(
    (c): c is SendResponseCommand => c.kind === 'response' && c.status === 200 && !!c.toTag,
  );
  const pivotTag = ok!.toTag!;
  await engine.handle(pbxInDialog(invite, pivotTag, 'ACK', 1));
  await engine.handle(
    pbxInDialog(invite, pivotTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] }),
  );
  await engine.handle(answer(lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
  const targetInvite = lastRequest('INVITE');
  await engine.handle(answer(targetInvite, 180, 'Ringing', '', 'bob'));
  const answered = await engine.handle(answer(targetInvite, 200, 'OK', SDP_TARGET, 'bob'));
  void answered;
  const reconnected = await engine.handle(answer(lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
  const child =
    reconnected.kind === 'stored' ? reconnected.events.find((e) => e.type === 'ChildCallStarted') : undefined;
  if (!child) throw new Error('transfer did not complete');
  await engine.handle(pbxInDialog(invite, pivotTag, 'BYE', 3));
  return { rootCallSid, childCallSid: child.callSid };
}
