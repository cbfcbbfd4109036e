/**
 * Session-Expires on the requests a call receives (RFC 4028), through the engine: an interval below
 * 90 s gets 422 with our Min-SE and stores nothing; an accepted one is recorded on the call and its
 * refreshes, and granted in the 2xx.
 */
import { describe, expect, it } from 'vitest';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER, SDP_PBX } from '../helpers/sipInputs.ts';
import { answeredCall, harness } from './dialogSetup.ts';

const TIMER = { supported: ['timer'], 'session-expires': ['1800;refresher=uac'] };

describe('session timers asked for by the caller', () => {
  it('an INVITE asking for less than 90 s gets 422 with Min-SE: 90 and starts no call', async () => {
    const h = harness();
    const outcome = await h.engine.handle({
      ...pbxInvite(),
      headers: { supported: ['timer'], 'session-expires': ['60'] },
    });
    expect(outcome.kind).toBe('replied');
    expect(h.sent.at(-1)).toMatchObject({
      kind: 'response',
      status: 422,
      reason: 'Session Interval Too Small',
      headers: expect.objectContaining({ 'Min-SE': '90' }),
    });
    expect(await h.types()).toEqual([]);
  });

  it('an accepted interval is granted in the 200 and watched by a timer', async () => {
    const h = harness();
    await h.engine.handle({ ...pbxInvite(), headers: TIMER });
    await h.engine.handle(answer(h.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const ok = h.sent.find((c) => c.kind === 'response' && c.status === 200);
    expect(ok).toMatchObject({ headers: { 'Session-Expires': '1800;refresher=uac', Require: 'timer' } });
    // The INVITE the pivot sends asks for no timer of its own.
    expect(h.lastRequest('INVITE').headers?.['Session-Expires']).toBeUndefined();
    expect(await h.types()).toEqual(['CallReceived', 'CallAnswered', 'TimerScheduled']);
    expect(h.engine.pendingTimers().map((p) => p.timer.name)).toEqual([
      'session-expires',
      'ack-timeout',
      'max-call',
    ]);
  });

  it('a refresh re-INVITE below 90 s gets 422; one with a valid interval is relayed and recorded', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    const tooShort = {
      ...pbxInDialog(invite, pivotTag, 'INVITE', 2, { 'session-expires': ['30'] }),
      body: SDP_PBX,
    };
    await h.engine.handle(tooShort);
    expect(h.sent.at(-1)).toMatchObject({ transactionKey: tooShort.transactionKey, status: 422 });
    const refresh = { ...pbxInDialog(invite, pivotTag, 'INVITE', 3, TIMER), body: SDP_PBX };
    expect((await h.engine.handle(refresh)).kind).toBe('stored');
    const stored = (await h.store.readAll()).at(-1)!;
    expect(stored).toMatchObject({ type: 'ReInviteReceived', data: { sessionExpires: 1800 } });
  });
});
