/**
 * What the engine does when handling an input fails, and what it recovers after a crash: a store error
 * is a rejection (the input was not handled, a bus delivers it again), a poison input is a permanent
 * rejection, a timer's decision lost in a crash is re-sent, the timer follower survives store errors,
 * and a 2xx from a second fork is ACKed and BYEd.
 */
import { describe, expect, it, vi } from 'vitest';
import { createEngine, type Engine } from '../../src/engine/engine.ts';
import type { SendRequestCommand, SipCommand } from '../../src/shared/messages.ts';
import { inputKey } from '../../src/shared/sessionKeys.ts';
import { createAppendNotifier, createCatchUpSubscription } from '../../src/store/catchUpSubscription.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { lastRequest, manualTimers } from '../helpers/engineHarness.ts';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER, SDP_TARGET, testConfig } from '../helpers/sipInputs.ts';

function requests(sent: SipCommand[], method: string): SendRequestCommand[] {
  return sent.filter((c): c is SendRequestCommand => c.kind === 'request' && c.method === method);
}

const describeCommand = (c: SipCommand) => (c.kind === 'request' ? c.method : c.status);

/** Drives a call to the point where the target is being invited; returns what a test needs next. */
async function upToTargetInvite(engine: Engine, sent: SipCommand[]) {
  const invite = pbxInvite();
  await engine.handle(invite);
  const farInvite = lastRequest(sent, 'INVITE');
  await engine.handle(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw'));
  const pivotTag = (sent.find((c) => c.kind === 'response' && c.status === 200) as { toTag: string }).toTag;
  await engine.handle(pbxInDialog(invite, pivotTag, 'ACK', 1));
  await engine.handle(
    pbxInDialog(invite, pivotTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] }),
  );
  await engine.handle(answer(lastRequest(sent, 'INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
  return { invite, pivotTag, farInvite, targetInvite: lastRequest(sent, 'INVITE') };
}

/** A store whose appends (or reads) fail while `failing` is set. */
function flakyStore(store: EventStore) {
  const state = { failAppends: false, failReads: false };
  const flaky: EventStore = {
    ...store,
    async appendToStream(...args) {
      if (state.failAppends) throw new Error('disk I/O error');
      return store.appendToStream(...args);
    },
    async readStream(...args) {
      if (state.failReads) throw new Error('connection reset');
      return store.readStream(...args);
    },
  };
  return { store: flaky, state };
}

describe('engine: a failure is not passed off as handled', () => {
  it('rejects when the store append fails; the same input delivered again is then stored', async () => {
    const memory = createInMemoryEventStore();
    const { store, state } = flakyStore(memory);
    const sent: SipCommand[] = [];
    const logs: string[] = [];
    const engine = createEngine({
      store,
      config: testConfig(),
      send: (c) => sent.push(c),
      log: (level, message) => logs.push(`${level} ${message}`),
    });
    const invite = pbxInvite();
    state.failAppends = true;
    await expect(engine.handle(invite)).rejects.toMatchObject({
      name: 'StoreUnavailableError',
      permanent: false,
    });
    expect(sent).toEqual([]);
    expect(logs).toContain('error input failed: not handled, to be delivered again');

    state.failAppends = false;
    const outcome = await engine.handle(invite);
    expect(outcome.kind).toBe('stored');
    expect(sent.map(describeCommand)).toEqual([100, 'INVITE']);
    expect((await memory.readAll()).map((e) => e.type)).toEqual(['CallReceived', 'TimerScheduled']);
  });

  it('rejects when reading the stream fails', async () => {
    const { store, state } = flakyStore(createInMemoryEventStore());
    const engine = createEngine({ store, config: testConfig(), send: () => {} });
    state.failReads = true;
    await expect(engine.handle(pbxInvite())).rejects.toMatchObject({ name: 'StoreUnavailableError' });
  });

  it('a poison input (deciding it throws) rejects as permanent, once, and the session goes on', async () => {
    const store = createInMemoryEventStore();
    const sent: SipCommand[] = [];
    const engine = createEngine({ store, config: testConfig(), send: (c) => sent.push(c) });
    const { targetInvite } = await upToTargetInvite(engine, sent);
    const before = await store.headPosition();
    // A 200 without a To tag: the transfer machine cannot build the target's dialog from it.
    const tagless = answer(targetInvite, 200, 'OK', SDP_TARGET);
    tagless.to = { ...tagless.to, params: {} };
    await expect(engine.handle(tagless)).rejects.toMatchObject({ name: 'PoisonInputError', permanent: true });
    expect(await store.headPosition()).toBe(before);
    // Not a loop: the next input of the session is handled normally.
    const outcome = await engine.handle(answer(targetInvite, 200, 'OK', SDP_TARGET, 'bob'));
    expect(outcome.kind).toBe('stored');
  });

  it('a timer whose TimerFired could not be stored fires again later', async () => {
    const { store, state } = flakyStore(createInMemoryEventStore());
    const timers = manualTimers();
    const sent: SipCommand[] = [];
    const engine = createEngine({
      store,
      config: testConfig({ maxCallSeconds: false }),
      send: (c) => sent.push(c),
      timers: timers.host,
    });
    const { targetInvite } = await upToTargetInvite(engine, sent);
    expect(timers.due).toHaveLength(1);
    state.failAppends = true;
    timers.due[0]!.callback();
    // The manual host keeps fired callbacks: the retry is the one added after the no-answer timer.
    await vi.waitFor(() => expect(timers.due).toHaveLength(2));
    expect(timers.due[1]!.delayMs).toBe(1_000);
    expect(requests(sent, 'CANCEL')).toEqual([]);
    state.failAppends = false;
    timers.due[1]!.callback();
    await engine.stop();
    expect(lastRequest(sent, 'CANCEL').branch).toBe(targetInvite.branch);
  });
});

describe('engine: a timer decision lost in a crash is re-sent', () => {
  it('a fresh engine over a store whose last input is a TimerFired re-sends its commands once', async () => {
    const store = createInMemoryEventStore();
    const config = testConfig({ maxCallSeconds: false });
    const sent: SipCommand[] = [];
    const lost: SipCommand[] = [];
    let alive = true;
    const timers = manualTimers();
    const dying = createEngine({
      store,
      config,
      send: (c) => (alive ? sent : lost).push(c),
      timers: timers.host,
    });
    await upToTargetInvite(dying, sent);
    // The no-answer timer fires; the process dies right after storing TimerFired, before sending.
    alive = false;
    timers.due[0]!.callback();
    await vi.waitFor(() => expect(lost).toHaveLength(3));
    const decided = [...lost];
    expect(decided.map(describeCommand)).toEqual(['CANCEL', 'NOTIFY', 'INVITE']);
    const types = (await store.readAll()).map((e) => e.type);
    expect(types.slice(types.lastIndexOf('TimerFired'))).not.toContain('TargetRinging');

    const resent: SipCommand[] = [];
    const fresh = createEngine({ store, config, send: (c) => resent.push(c), timers: manualTimers().host });
    await fresh.start();
    await vi.waitFor(() => expect(resent).toHaveLength(3));
    await fresh.stop();
    expect(resent).toEqual(decided);

    // Once a later input is stored (the far party answered the resume), the timer's decision is not
    // recovered again: only that later input's own decision is re-driven (recovery.ts).
    const third: SipCommand[] = [];
    const engine3 = createEngine({ store, config, send: (c) => third.push(c), timers: manualTimers().host });
    await engine3.handle(answer(decided[2] as SendRequestCommand, 200, 'OK', SDP_CARRIER, 'gw'));
    const answerDecision = [...third];
    third.length = 0;
    const engine4 = createEngine({ store, config, send: (c) => third.push(c), timers: manualTimers().host });
    await engine4.start();
    await engine4.stop();
    for (const command of decided) expect(third).not.toContainEqual(command);
    expect(third).toEqual(answerDecision);
  });

  it('a following engine re-sends the decision of a firing by an engine that died before acting', async () => {
    const store = createInMemoryEventStore();
    const config = testConfig({ maxCallSeconds: false });
    const standby = manualTimers();
    const sentB: SipCommand[] = [];
    const b = createEngine({ store, config, send: (c) => sentB.push(c), timers: standby.host });
    await b.start();

    const sentA: SipCommand[] = [];
    let alive = true;
    const timersA = manualTimers();
    const a = createEngine({
      store,
      config,
      send: (c) => {
        if (alive) sentA.push(c);
      },
      timers: timersA.host,
    });
    const { targetInvite } = await upToTargetInvite(a, sentA);
    await vi.waitFor(() => expect(b.pendingTimers()).toHaveLength(1));
    alive = false;
    timersA.due[0]!.callback(); // a fires, stores TimerFired, and dies before sending
    // b sees the firing, disarms its own copy of the timer and checks a grace period later.
    await vi.waitFor(() => expect(standby.due.map((t) => t.delayMs)).toEqual([5_000]));
    expect(sentB).toEqual([]);
    standby.due[0]!.callback();
    await vi.waitFor(() => expect(requests(sentB, 'CANCEL')).toHaveLength(1));
    await b.stop();
    expect(lastRequest(sentB, 'CANCEL').branch).toBe(targetInvite.branch);
    expect(sentB.map(describeCommand)).toEqual(['CANCEL', 'NOTIFY', 'INVITE']);
    expect((await store.readAll()).filter((e) => e.type === 'TimerFired')).toHaveLength(1);
  });
});

describe('engine: the timer follower survives store errors', () => {
  it('resubscribes from where it was after a failed read, and still learns other engines timers', async () => {
    const store = createInMemoryEventStore();
    let reads = 0;
    const logs: string[] = [];
    const followed: EventStore = {
      ...store,
      // Like a backend that reads $all in pages: here the second page read fails once.
      subscribeToAll: (options) =>
        createCatchUpSubscription({
          after: options?.after ?? 0,
          notifier: createAppendNotifier(),
          pollIntervalMs: 10,
          readPage: async (after, maxCount) => {
            if (++reads === 2) throw new Error('connection reset');
            return store.readAll({ after, maxCount });
          },
        }),
    };
    const config = testConfig({ maxCallSeconds: false });
    const b = createEngine({
      store: followed,
      config,
      send: () => {},
      timers: manualTimers().host,
      log: (level, message) => logs.push(`${level} ${message}`),
    });
    await b.start();
    const sentA: SipCommand[] = [];
    const a = createEngine({ store, config, send: (c) => sentA.push(c), timers: manualTimers().host });
    await upToTargetInvite(a, sentA);
    await vi.waitFor(() => expect(b.pendingTimers().map((t) => t.timer.name)).toEqual(['no-answer']));
    expect(reads).toBeGreaterThan(2);
    expect(logs).toContain('error timer follower: following $all failed, resubscribing');
    await b.stop();
  });
});

describe('engine: a 2xx from a second fork (RFC 3261 §13.2.2.4)', () => {
  it('is its own input: ACKed and BYEd on its own dialog, nothing stored, the call untouched', async () => {
    const store = createInMemoryEventStore();
    const sent: SipCommand[] = [];
    const engine = createEngine({ store, config: testConfig(), send: (c) => sent.push(c) });
    await engine.handle(pbxInvite());
    const farInvite = lastRequest(sent, 'INVITE');
    const first = answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw');
    await engine.handle(first);
    const firstAck = lastRequest(sent, 'ACK');
    const before = await store.headPosition();
    sent.length = 0;

    const second = answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw2');
    second.contact = { uri: 'sip:fork2@127.0.0.2:5092', params: {} };
    expect(inputKey(second)).not.toBe(inputKey(first));
    const outcome = await engine.handle(second);
    expect(outcome.kind).toBe('replied');
    expect(sent.map(describeCommand)).toEqual(['ACK', 'BYE']);
    const [ack, bye] = sent as SendRequestCommand[];
    for (const request of [ack!, bye!]) {
      expect(request.callId).toBe(farInvite.callId);
      expect(request.to.params.tag).toBe('gw2');
      expect(request.from.params.tag).toBe(farInvite.from.params.tag);
      expect(request.uri).toBe('sip:fork2@127.0.0.2:5092');
    }
    expect(ack!.cseq).toEqual({ seq: farInvite.cseq.seq, method: 'ACK' });
    expect(bye!.cseq).toEqual({ seq: farInvite.cseq.seq + 1, method: 'BYE' });
    // Branches of their own: never the accepted dialog's ACK, nor the BYE it will send at that CSeq.
    expect(ack!.branch).not.toBe(firstAck.branch);
    expect(bye!.branch).not.toBe(farInvite.branch.replace(/-\d+-invite$/, `-${farInvite.cseq.seq + 1}-bye`));
    expect(await store.headPosition()).toBe(before);

    // Deterministic: the same 2xx again gives the same messages (a retransmission to the peer).
    sent.length = 0;
    await engine.handle(second);
    expect(sent).toEqual([ack, bye]);
    // The accepted fork's repeat is still a repeat, and the call goes on as before.
    sent.length = 0;
    expect((await engine.handle(first)).kind).toBe('repeated');
    expect(sent.map(describeCommand)).toEqual(['ACK', 200]);
  });

  it('a second fork of the target answering while the transfer reconnects is ACKed and BYEd', async () => {
    const store = createInMemoryEventStore();
    const sent: SipCommand[] = [];
    const engine = createEngine({ store, config: testConfig(), send: (c) => sent.push(c) });
    const { targetInvite } = await upToTargetInvite(engine, sent);
    await engine.handle(answer(targetInvite, 200, 'OK', SDP_TARGET, 'bob'));
    sent.length = 0;
    const outcome = await engine.handle(answer(targetInvite, 200, 'OK', SDP_TARGET, 'bob-desk2'));
    expect(outcome.kind).toBe('replied');
    expect(sent.map(describeCommand)).toEqual(['ACK', 'BYE']);
    expect((sent as SendRequestCommand[]).map((c) => c.to.params.tag)).toEqual(['bob-desk2', 'bob-desk2']);
  });
});
