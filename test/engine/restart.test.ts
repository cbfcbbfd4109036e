import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEngine, type Engine } from '../../src/engine/engine.ts';
import type { LogLevel } from '../../src/log.ts';
import type { SipCommand } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { lastRequest, manualTimers } from '../helpers/engineHarness.ts';
import {
  answer,
  pbxInDialog,
  pbxInvite,
  SDP_CARRIER,
  testConfig,
  withoutReaperTimers,
} from '../helpers/sipInputs.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('engine: crash and restart in the middle of a transfer', () => {
  it('a fresh engine continues from the store alone, its pending no-answer timer included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pivot-restart-'));
    dirs.push(dir);
    const path = join(dir, 'pivot.db');
    const config = testConfig({ noAnswer: 20, maxCallSeconds: false });

    // First life: up to the target INVITE, then the process "dies" (no stop, no cleanup).
    const first = createSqliteEventStore({ path });
    const sentBefore: SipCommand[] = [];
    const engine1 = createEngine({
      store: first,
      config,
      send: (c) => sentBefore.push(c),
      timers: manualTimers().host,
    });
    const invite = pbxInvite();
    await engine1.handle(invite);
    await engine1.handle(answer(lastRequest(sentBefore, 'INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const pivotTag = (sentBefore.find((c) => c.kind === 'response' && c.status === 200) as { toTag: string })
      .toTag;
    await engine1.handle(pbxInDialog(invite, pivotTag, 'ACK', 1));
    await engine1.handle(
      pbxInDialog(invite, pivotTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] }),
    );
    await engine1.handle(answer(lastRequest(sentBefore, 'INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const targetInvite = lastRequest(sentBefore, 'INVITE');
    expect(targetInvite.uri).toBe('sip:bob@127.0.0.1:5080');
    await first.close();

    // Second life: a new engine on the same file.
    const second = createSqliteEventStore({ path });
    const timers = manualTimers();
    const sent: SipCommand[] = [];
    const engine2 = createEngine({ store: second, config, send: (c) => sent.push(c), timers: timers.host });
    expect(await engine2.start()).toBe(1);
    expect(timers.due).toHaveLength(1);
    expect(timers.due[0]!.delayMs).toBeGreaterThan(15_000);

    timers.due[0]!.callback();
    await engine2.stop().then(() => undefined);
    const cancel = lastRequest(sent, 'CANCEL');
    expect(cancel.branch).toBe(targetInvite.branch);
    expect(lastRequest(sent, 'NOTIFY').body).toBe('SIP/2.0 408 Request Timeout\r\n');
    const resume = lastRequest(sent, 'INVITE');
    expect(resume.body).toContain('a=sendrecv');

    const engine3 = createEngine({
      store: second,
      config,
      send: (c) => sent.push(c),
      timers: manualTimers().host,
    });
    await engine3.handle(answer(resume, 200, 'OK', SDP_CARRIER, 'gw'));
    const events = await second.readAll();
    const types = events.map((e) => e.type);
    expect(types.slice(-4)).toEqual(['TimerScheduled', 'TimerFired', 'TransfereeResumed', 'TransferFailed']);
    expect(types.filter((t) => t === 'TimerFired')).toHaveLength(1);
    expect(events.find((e) => e.type === 'TransferFailed')?.data).toMatchObject({ status: 408 });
    // No event stored twice: every id is unique and revisions are contiguous.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => i));
    await second.close();
  });

  it('a cached session catches up with what another engine stored before deciding', async () => {
    const store = createInMemoryEventStore();
    const config = testConfig();
    const logs: { level: LogLevel; message: string }[] = [];
    const sent: SipCommand[] = [];
    const a = createEngine({
      store,
      config,
      send: (c) => sent.push(c),
      log: (level, message) => logs.push({ level, message }),
    });
    const b = createEngine({ store, config, send: (c) => sent.push(c) });
    const invite = pbxInvite();
    await a.handle(invite);
    // Engine b handles the answer: engine a's cached session is now one revision behind.
    await b.handle(answer(lastRequest(sent, 'INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const pivotTag = (sent.find((c) => c.kind === 'response' && c.status === 200) as { toTag: string }).toTag;
    const outcome = await a.handle(pbxInDialog(invite, pivotTag, 'BYE', 2));
    expect(outcome.kind).toBe('stored');
    expect(logs.filter((l) => l.message === 'stream moved, reloading')).toHaveLength(0);
    const types = withoutReaperTimers(await store.readAll()).map((e) => e.type);
    expect(types).toEqual(['CallReceived', 'CallAnswered', 'HangupReceived', 'CallEnded']);
  });

  it('a cached session that would store its input decides without reading the store', async () => {
    const store = createInMemoryEventStore();
    let streamReads = 0;
    const counting = {
      ...store,
      readStream(...args: Parameters<typeof store.readStream>) {
        streamReads++;
        return store.readStream(...args);
      },
    };
    const sent: SipCommand[] = [];
    const engine = createEngine({ store: counting, config: testConfig(), send: (c) => sent.push(c) });
    const invite = pbxInvite();
    await engine.handle(invite);
    const loads = streamReads;
    expect(
      await engine.handle(answer(lastRequest(sent, 'INVITE'), 200, 'OK', SDP_CARRIER, 'gw')),
    ).toMatchObject({
      kind: 'stored',
    });
    expect(streamReads).toBe(loads);
  });

  it('a cached session another engine moved on from: the append conflicts and the input is decided again', async () => {
    const store = createInMemoryEventStore();
    const config = testConfig();
    const logs: string[] = [];
    const sent: SipCommand[] = [];
    const a = createEngine({
      store,
      config,
      send: (c) => sent.push(c),
      log: (_l, message) => logs.push(message),
    });
    const b = createEngine({ store, config, send: (c) => sent.push(c) });
    const invite = pbxInvite();
    await a.handle(invite);
    const carrierInvite = lastRequest(sent, 'INVITE');
    // Engine b stores the answer; engine a's cached session still rings, where the same answer is
    // acceptable too: only the append's revision check can tell.
    await b.handle(answer(carrierInvite, 200, 'OK', SDP_CARRIER, 'gw'));
    const outcome = await a.handle(answer(carrierInvite, 200, 'OK', SDP_CARRIER, 'gw'));
    expect(outcome.kind).toBe('repeated');
    expect(logs).toContain('stream moved, reloading');
    const types = withoutReaperTimers(await store.readAll()).map((e) => e.type);
    expect(types).toEqual(['CallReceived', 'CallAnswered']);
  });

  it('a cached session another engine moved on from never answers from its stale copy', async () => {
    const store = createInMemoryEventStore();
    const config = testConfig();
    const sentA: SipCommand[] = [];
    const sentB: SipCommand[] = [];
    const a = createEngine({ store, config, send: (c) => sentA.push(c) });
    const b = createEngine({ store, config, send: (c) => sentB.push(c) });
    const invite = pbxInvite();
    await a.handle(invite);
    await b.handle(answer(lastRequest(sentA, 'INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const pivotTag = (sentB.find((c) => c.kind === 'response' && c.status === 200) as { toTag: string })
      .toTag;
    // Engine a's copy still rings, where a re-INVITE gets 491; the stored call is answered, where it is relayed.
    const before = sentA.length;
    const outcome = await a.handle({ ...pbxInDialog(invite, pivotTag, 'INVITE', 2), body: SDP_CARRIER });
    expect(outcome.kind).toBe('stored');
    const answers = sentA.slice(before).filter((c) => c.kind === 'response');
    expect(answers.map((c) => (c as { status: number }).status)).not.toContain(491);
    expect(lastRequest(sentA, 'INVITE').cseq.seq).toBeGreaterThan(1);
  });

  it('two engines taking turns on a session: each finds out it is shared once, then reads before deciding', async () => {
    const store = createInMemoryEventStore();
    const config = testConfig();
    const conflicts: string[] = [];
    const sent: SipCommand[] = [];
    const engines = ['a', 'b'].map((name) =>
      createEngine({
        store,
        config,
        send: (c) => sent.push(c),
        log: (_l, message) => {
          if (message === 'stream moved, reloading') conflicts.push(name);
        },
      }),
    );
    const [a, b] = engines as [Engine, Engine];
    const invite = pbxInvite();
    await a.handle(invite);
    await a.handle(answer(lastRequest(sent, 'INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const pivotTag = (sent.find((c) => c.kind === 'response' && c.status === 200) as { toTag: string }).toTag;
    await b.handle(pbxInDialog(invite, pivotTag, 'ACK', 1));
    // DTMF INFOs from the PBX, each stored, handled by the engines in turn.
    for (let seq = 2; seq < 10; seq++) {
      const outcome = await [a, b][seq % 2]!.handle(
        pbxInDialog(invite, pivotTag, 'INFO', seq, { 'content-type': ['application/dtmf-relay'] }),
      );
      expect(outcome.kind).toBe('stored');
    }
    expect(conflicts.length).toBeLessThanOrEqual(2);
    const infos = (await store.readAll()).filter((e) => e.type === 'InfoReceived');
    expect(infos).toHaveLength(8);
  });

  it('retries on a conflict: the stream moved during the append, so it reloads and decides again', async () => {
    const store = createInMemoryEventStore();
    const config = testConfig();
    const sent: SipCommand[] = [];
    const logs: string[] = [];
    let race: (() => Promise<unknown>) | undefined;
    // A store through which another writer slips in just before our append.
    const racing = {
      ...store,
      async appendToStream(...args: Parameters<typeof store.appendToStream>) {
        const before = race;
        race = undefined;
        if (before) await before();
        return store.appendToStream(...args);
      },
    };
    const a = createEngine({
      store: racing,
      config,
      send: (c) => sent.push(c),
      log: (_l, message) => logs.push(message),
    });
    const b = createEngine({ store, config, send: (c) => sent.push(c) });
    await a.handle(pbxInvite());
    const farInvite = lastRequest(sent, 'INVITE');
    race = () => b.handle(answer(farInvite, 180, 'Ringing', '', 'gw'));
    const outcome = await a.handle(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw'));
    expect(outcome.kind).toBe('stored');
    expect(logs.filter((m) => m === 'stream moved, reloading')).toHaveLength(1);
    const events = await store.readAll();
    expect(withoutReaperTimers(events).map((e) => e.type)).toEqual([
      'CallReceived',
      'CallProgress',
      'CallAnswered',
    ]);
    expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => i));
  });

  it('a crash between append and act: the retransmitted request gets the decided messages after restart', async () => {
    const store = createInMemoryEventStore();
    const config = testConfig();
    const sent: SipCommand[] = [];
    const engine1 = createEngine({ store, config, send: (c) => sent.push(c) });
    const invite = pbxInvite();
    await engine1.handle(invite);
    await engine1.handle(answer(lastRequest(sent, 'INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const pivotTag = (sent.find((c) => c.kind === 'response' && c.status === 200) as { toTag: string }).toTag;
    const refer = pbxInDialog(invite, pivotTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] });

    // This engine stores the REFER's events and dies before sending anything.
    const lost: SipCommand[] = [];
    const dying = createEngine({ store, config, send: (c) => lost.push(c) });
    await dying.handle(refer);
    const decided = [...lost];
    expect(decided.map((c) => (c.kind === 'request' ? c.method : c.status))).toEqual([
      202,
      'NOTIFY',
      'INVITE',
    ]);

    // The PBX retransmits the REFER to a fresh engine: nothing new is stored, the same messages go out.
    const resent: SipCommand[] = [];
    const engine2 = createEngine({ store, config, send: (c) => resent.push(c) });
    const before = await store.headPosition();
    const outcome = await engine2.handle(refer);
    expect(outcome.kind).toBe('repeated');
    expect(resent).toEqual(decided);
    expect(await store.headPosition()).toBe(before);
  });

  it('another engine learns a timer from the store and fires it when the scheduling engine is gone', async () => {
    const store = createInMemoryEventStore();
    const config = testConfig({ maxCallSeconds: false });
    const standby = manualTimers();
    const sentB: SipCommand[] = [];
    const b = createEngine({ store, config, send: (c) => sentB.push(c), timers: standby.host });
    await b.start();

    const sentA: SipCommand[] = [];
    const a = createEngine({ store, config, send: (c) => sentA.push(c), timers: manualTimers().host });
    const invite = pbxInvite();
    await a.handle(invite);
    await a.handle(answer(lastRequest(sentA, 'INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const pivotTag = (sentA.find((c) => c.kind === 'response' && c.status === 200) as { toTag: string })
      .toTag;
    await a.handle(pbxInDialog(invite, pivotTag, 'ACK', 1));
    await a.handle(pbxInDialog(invite, pivotTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] }));
    await a.handle(answer(lastRequest(sentA, 'INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    // Engine a "dies" here; b saw the TimerScheduled through $all.
    await vi.waitFor(() => expect(b.pendingTimers().map((t) => t.timer.name)).toEqual(['no-answer']));

    standby.due[0]!.callback();
    await b.stop();
    expect(lastRequest(sentB, 'CANCEL').branch).toBe(lastRequest(sentA, 'INVITE').branch);
    expect((await store.readAll()).filter((e) => e.type === 'TimerFired')).toHaveLength(1);
  });
});
