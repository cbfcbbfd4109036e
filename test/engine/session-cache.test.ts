/**
 * The session cache lets go of what an idle call does not need: a minute after its last input a held
 * call keeps its state but not the states its inputs were decided on, and an ended session leaves the
 * cache. Repeats decided after that send what they sent before; the cache's figures say hit or miss.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEngine } from '../../src/engine/engine.ts';
import { loadSession } from '../../src/engine/load.ts';
import { createSessionCache, IDLE_AFTER_MS } from '../../src/engine/sessionCache.ts';
import type { SipCommand } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER, testConfig } from '../helpers/sipInputs.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('the session cache with idle calls', () => {
  it('lightens an idle call, drops an ended one, and repeats still re-send what was decided', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = createInMemoryEventStore();
    const sent: SipCommand[] = [];
    const engine = createEngine({
      store,
      config: testConfig(),
      send: (command) => sent.push(command),
      clock: () => new Date(now),
    });
    const idle = async () => {
      now += IDLE_AFTER_MS;
      await vi.advanceTimersByTimeAsync(IDLE_AFTER_MS / 4);
    };

    const invite = pbxInvite();
    await engine.handle(invite);
    const farInvite = sent.find((c) => c.kind === 'request' && c.method === 'INVITE');
    if (farInvite?.kind !== 'request') throw new Error('no INVITE to the carrier');
    const answered = answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw');
    await engine.handle(answered);
    const ok = sent.find((c) => c.kind === 'response' && c.status === 200);
    if (ok?.kind !== 'response' || !ok.toTag) throw new Error('no 200 to the PBX');
    await engine.handle(pbxInDialog(invite, ok.toTag, 'ACK', 1));

    // The carrier's 200 again, while the call is fresh: decided from the state kept for it.
    const fresh = await engine.handle(answered);
    expect(fresh).toMatchObject({
      kind: 'repeated',
      commands: expect.arrayContaining([expect.objectContaining({ kind: 'request', method: 'ACK' })]),
    });
    expect(engine.cacheStats()).toMatchObject({ lightened: 0, dropped: 0, size: 1 });

    await idle();
    expect(engine.cacheStats()).toMatchObject({ lightened: 1, dropped: 0, size: 1 });
    const { misses } = engine.cacheStats();
    const late = await engine.handle(answered);
    expect(late).toEqual(fresh);
    // Still cached: an in-dialog request is answered from memory.
    const options = await engine.handle(pbxInDialog(invite, ok.toTag, 'OPTIONS', 2));
    expect(options.kind).toBe('replied');
    expect(sent.at(-1)).toMatchObject({ kind: 'response', status: 200 });
    expect(engine.cacheStats().misses).toBe(misses);

    const bye = pbxInDialog(invite, ok.toTag, 'BYE', 3);
    const hungUp = await engine.handle(bye);
    expect(hungUp.kind).toBe('stored');
    const byeRevision = (await store.readAll()).findIndex((e) => e.type === 'HangupReceived');
    expect(byeRevision).toBeGreaterThan(0);
    // The far leg's BYE answered: the call has ended.
    const farBye = sent.findLast((c) => c.kind === 'request' && c.method === 'BYE');
    if (farBye?.kind !== 'request') throw new Error('no BYE to the carrier');
    await engine.handle(answer(farBye, 200, 'OK', '', 'gw'));
    const byeAgainFresh = await engine.handle(bye);
    expect(byeAgainFresh).toMatchObject({
      kind: 'repeated',
      commands: expect.arrayContaining([expect.objectContaining({ kind: 'response', status: 200 })]),
    });

    await idle();
    expect(engine.cacheStats()).toMatchObject({ dropped: 1, size: 0 });
    // Read from the stream again: the same answer to the same BYE.
    const byeAgain = await engine.handle(bye);
    expect(byeAgain).toEqual(byeAgainFresh);
    expect(engine.cacheStats().misses).toBe(misses + 1);
    await engine.stop();
  });

  it('keeps a session used within IDLE_AFTER_MS whole', async () => {
    const store = createInMemoryEventStore();
    const sent: SipCommand[] = [];
    const engine = createEngine({ store, config: testConfig(), send: (c) => sent.push(c) });
    const invite = pbxInvite();
    const { sessionSid } = await engine.handle(invite);
    await engine.stop();
    const loaded = await loadSession(store, sessionSid);
    expect(loaded.before.size).toBeGreaterThan(0);
    const cache = createSessionCache(10);
    cache.set(sessionSid, { ...loaded, usedAt: 1_000 });
    expect(cache.compact(1_000 + IDLE_AFTER_MS - 1)).toEqual({ lightened: 0, dropped: 0 });
    expect(cache.get(sessionSid)?.before.size).toBe(loaded.before.size);
    expect(cache.compact(1_000 + IDLE_AFTER_MS)).toEqual({ lightened: 1, dropped: 0 });
    expect(cache.get(sessionSid)?.before.size).toBe(0);
    expect(cache.get(sessionSid)?.session).toBe(loaded.session);
  });
});
