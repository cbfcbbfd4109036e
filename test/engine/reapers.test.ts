import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine.ts';
import type { SendRequestCommand, SipCommand } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { type ManualTimers, manualTimers } from '../helpers/engineHarness.ts';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER, testConfig } from '../helpers/sipInputs.ts';

const withTimerC = (seconds: number) => {
  const config = testConfig();
  return { ...config, sip: { ...config.sip, timerCSeconds: seconds } };
};

describe('engine: Timer C through the config', () => {
  it('a callee that never answers is CANCELed and the caller answered 408 when Timer C fires', async () => {
    const store = createInMemoryEventStore();
    const timers = manualTimers();
    const sent: SipCommand[] = [];
    const engine = createEngine({
      store,
      config: withTimerC(5),
      send: (c) => sent.push(c),
      timers: timers.host,
    });
    await engine.handle(pbxInvite());
    const invite = sent.find((c): c is SendRequestCommand => c.kind === 'request' && c.method === 'INVITE')!;
    expect(timers.due.map((t) => Math.round(t.delayMs / 1000))).toEqual([5]);
    const received = (await store.readAll()).find((e) => e.type === 'CallReceived');
    expect(received?.data).toMatchObject({ reapers: { timerCSeconds: 5, ackTimeoutSeconds: 32 } });

    timers.due[0]!.callback();
    await engine.stop();
    const cancel = sent.find((c): c is SendRequestCommand => c.kind === 'request' && c.method === 'CANCEL');
    expect(cancel?.branch).toBe(invite.branch);
    expect(sent.filter((c) => c.kind === 'response').map((c) => (c as { status: number }).status)).toEqual([
      100, 408,
    ]);
    const types = (await store.readAll()).map((e) => e.type);
    expect(types).toEqual(['CallReceived', 'TimerScheduled', 'TimerFired', 'CallEnded']);
  });

  it('without any setting every call gets the defaults: Timer C 181 s, ACK timeout 32 s, a 4 h limit', async () => {
    const store = createInMemoryEventStore();
    const timers = manualTimers();
    const engine = createEngine({ store, config: testConfig(), send: () => {}, timers: timers.host });
    await engine.handle(pbxInvite());
    expect(timers.due.map((t) => Math.round(t.delayMs / 1000))).toEqual([181]);
    await engine.stop();
    const events = await store.readAll();
    expect(events.map((e) => e.type)).toEqual(['CallReceived', 'TimerScheduled']);
    expect(events[0]!.data).toMatchObject({
      reapers: { timerCSeconds: 181, ackTimeoutSeconds: 32, maxCallSeconds: 4 * 3600 },
    });
    expect(events[1]!.data).toMatchObject({ name: 'timer-c' });
  });

  it('a trunk with maxCallSeconds false sets no call limit; Timer C and the ACK timeout stay', async () => {
    const store = createInMemoryEventStore();
    const engine = createEngine({
      store,
      config: testConfig({ maxCallSeconds: false }),
      send: () => {},
      timers: manualTimers().host,
    });
    await engine.handle(pbxInvite());
    await engine.stop();
    const [received] = await store.readAll();
    expect(received!.data).toMatchObject({ reapers: { timerCSeconds: 181, ackTimeoutSeconds: 32 } });
    expect(received!.data).not.toHaveProperty('reapers.maxCallSeconds');
  });
});

describe('engine: the ACK timeout of an ordinary call (sip.ackTimeoutSeconds)', () => {
  const withAckTimeout = (seconds: number) => {
    const config = testConfig({ maxCallSeconds: false });
    return { ...config, sip: { ...config.sip, ackTimeoutSeconds: seconds } };
  };

  async function answeredWithoutAck(sent: SipCommand[], timers: ManualTimers) {
    const store = createInMemoryEventStore();
    const engine = createEngine({
      store,
      config: withAckTimeout(4),
      send: (c) => sent.push(c),
      timers: timers.host,
    });
    const invite = pbxInvite();
    await engine.handle(invite);
    const farInvite = sent.find(
      (c): c is SendRequestCommand => c.kind === 'request' && c.method === 'INVITE',
    )!;
    await engine.handle(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw'));
    const ok = sent.find((c) => c.kind === 'response' && c.status === 200) as { toTag: string };
    return { store, engine, invite, farInvite, pivotTag: ok.toTag };
  }

  it('a PBX that never ACKs our 200: when the timeout fires both legs are BYEd and the call ends failed', async () => {
    const sent: SipCommand[] = [];
    const timers = manualTimers();
    const { store, engine, invite, farInvite } = await answeredWithoutAck(sent, timers);
    expect(timers.due.map((t) => Math.round(t.delayMs / 1000))).toEqual([4]);
    const received = (await store.readAll()).find((e) => e.type === 'CallReceived');
    expect(received?.data).toMatchObject({ reapers: { ackTimeoutSeconds: 4, plainAck: true } });

    timers.due[0]!.callback();
    await engine.stop();
    const byes = sent.filter((c): c is SendRequestCommand => c.kind === 'request' && c.method === 'BYE');
    expect(byes.map((bye) => bye.callId).sort()).toEqual([invite.callId, farInvite.callId].sort());
    const ended = (await store.readAll()).find((e) => e.type === 'CallEnded');
    expect(ended?.data).toMatchObject({
      status: 'failed',
      why: expect.stringContaining('no ACK on the customer leg within 4 s'),
    });
  });

  it('the ACK is stored once and cancels the timeout; its retransmissions are not stored', async () => {
    const sent: SipCommand[] = [];
    const timers = manualTimers();
    const { store, engine, invite, pivotTag } = await answeredWithoutAck(sent, timers);
    expect(await engine.handle(pbxInDialog(invite, pivotTag, 'ACK', 1))).toMatchObject({ kind: 'stored' });
    expect(timers.due).toEqual([]);
    expect(await engine.handle(pbxInDialog(invite, pivotTag, 'ACK', 1))).toMatchObject({ kind: 'ignored' });
    await engine.stop();
    const types = (await store.readAll()).map((e) => e.type);
    expect(types.filter((type) => type === 'CallAcked')).toHaveLength(1);
    expect(types.slice(-2)).toEqual(['CallAcked', 'TimerCanceled']);
    expect(sent.some((c) => c.kind === 'request' && c.method === 'BYE')).toBe(false);
  });
});
