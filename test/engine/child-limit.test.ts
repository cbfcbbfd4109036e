import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine.ts';
import type { SendRequestCommand, SipCommand } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { lastRequest as lastSent, manualTimers } from '../helpers/engineHarness.ts';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER, SDP_TARGET, testConfig } from '../helpers/sipInputs.ts';

/** A blind transfer carried out up to the child call bridging the far party and the target. */
async function childCallUp(maxCallSeconds: number | false) {
  const store = createInMemoryEventStore();
  const timers = manualTimers();
  const sent: SipCommand[] = [];
  const engine = createEngine({
    store,
    config: testConfig({ maxCallSeconds }),
    send: (c) => sent.push(c),
    timers: timers.host,
  });
  const lastRequest = (method: string) => lastSent(sent, method);
  const invite = pbxInvite();
  await engine.handle(invite);
  const farInvite = lastRequest('INVITE');
  await engine.handle(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw'));
  const ok = sent.find((c) => c.kind === 'response' && c.status === 200);
  if (ok?.kind !== 'response' || !ok.toTag) throw new Error('no 200 to the PBX');
  await engine.handle(pbxInDialog(invite, ok.toTag, 'ACK', invite.cseq.seq));
  await engine.handle(
    pbxInDialog(invite, ok.toTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] }),
  );
  await engine.handle(answer(lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
  const targetInvite = lastRequest('INVITE');
  await engine.handle(answer(targetInvite, 200, 'OK', SDP_TARGET, 'bob'));
  await engine.handle(answer(lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
  const started = (await store.readAll()).find((e) => e.type === 'ChildCallStarted');
  if (!started) throw new Error('no child call');
  return { store, engine, sent, timers, started, farInvite, targetInvite };
}

describe('engine: a child call gets its trunk limit (maxCallSeconds)', () => {
  it('the limit counts from the child call start; reached, it BYEs the far party and the target', async () => {
    const h = await childCallUp(3);
    const child = h.started.data as { callSid: string; maxCallSeconds?: number };
    expect(child.maxCallSeconds).toBe(3);
    const events = await h.store.readAll();
    const scheduled = events.find(
      (e) =>
        e.type === 'TimerScheduled' &&
        (e.data as { timerId: string }).timerId === `${child.callSid}:max-call`,
    );
    expect(scheduled?.data).toMatchObject({
      name: 'max-call',
      dueAt: new Date(Date.parse((h.started.data as { at: string }).at) + 3000).toISOString(),
    });
    // The parent's own limit was canceled when it handed its legs off: the child's is the only 3 s timer.
    const limit = h.timers.due.filter((t) => Math.round(t.delayMs / 1000) === 3);
    expect(limit).toHaveLength(1);

    const before = h.sent.length;
    limit[0]!.callback();
    await h.engine.stop();
    const byes = h.sent
      .slice(before)
      .filter((c): c is SendRequestCommand => c.kind === 'request' && c.method === 'BYE');
    expect(byes.map((b) => b.callId).sort()).toEqual([h.farInvite.callId, h.targetInvite.callId].sort());
    const ended = (await h.store.readAll()).filter(
      (e) => e.type === 'CallEnded' && (e.data as { callSid: string }).callSid === child.callSid,
    );
    expect(ended.map((e) => e.data)).toMatchObject([
      { status: 'completed', why: "the call reached its trunk's limit of 3 s (maxCallSeconds)" },
    ]);
  });

  it('a trunk without a limit gives its child calls none', async () => {
    const h = await childCallUp(false);
    await h.engine.stop();
    expect(h.started.data).not.toHaveProperty('maxCallSeconds');
    const childSid = (h.started.data as { callSid: string }).callSid;
    const childTimers = (await h.store.readAll()).filter(
      (e) => e.type === 'TimerScheduled' && (e.data as { callSid: string }).callSid === childSid,
    );
    expect(childTimers).toEqual([]);
  });
});
