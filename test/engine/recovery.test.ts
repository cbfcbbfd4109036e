import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEngine } from '../../src/engine/engine.ts';
import { positionBefore } from '../../src/engine/recovery.ts';
import type { TimerHost } from '../../src/engine/timers.ts';
import type { SendRequestCommand, SipCommand } from '../../src/shared/messages.ts';
import { sessionOf } from '../../src/shared/sessionKeys.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER, testConfig } from '../helpers/sipInputs.ts';

/** Timers that never fire on their own: these tests are about what `start` sends at once. */
const heldTimers: TimerHost = { set: () => ({}), clear: () => {} };

const invites = (sent: SipCommand[]) =>
  sent.filter((c): c is SendRequestCommand => c.kind === 'request' && c.method === 'INVITE');

/** An engine that stores every input and then "dies" before sending the commands of `dies`' inputs. */
function crashingEngine(store: EventStore, dies: (callId: string) => boolean, sent: SipCommand[]) {
  let current = '';
  const engine = createEngine({
    store,
    config: testConfig(),
    timers: heldTimers,
    send: (command) => {
      if (dies(current)) throw new Error('process killed before the command left');
      sent.push(command);
    },
  });
  return {
    async handle(input: Parameters<typeof engine.handle>[0]) {
      current = input.callId;
      return engine.handle(input);
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('engine: re-driving sessions after a restart', () => {
  it('a call stored but never sent on to the carrier gets its INVITE from the next engine', async () => {
    const store = createInMemoryEventStore();
    const lost = pbxInvite();
    const sent: SipCommand[] = [];
    const dying = crashingEngine(store, (callId) => callId === lost.callId, sent);
    await dying.handle(lost);
    expect(invites(sent)).toHaveLength(0);
    expect((await store.readAll()).map((e) => e.type)).toContain('CallReceived');

    const after: SipCommand[] = [];
    const next = createEngine({
      store,
      config: testConfig(),
      timers: heldTimers,
      send: (c) => after.push(c),
    });
    await next.start();
    const [invite] = invites(after);
    expect(invite?.uri).toBe('sip:+15550200000@127.0.0.2');
    expect(after.find((c) => c.kind === 'response')).toMatchObject({ status: 100 });
    // The carrier answers the re-driven INVITE: the call goes on as if nothing had happened.
    const outcome = await next.handle(answer(invite!, 200, 'OK', SDP_CARRIER, 'gw'));
    expect(outcome.kind).toBe('stored');
    await next.stop();
  });

  it('a session whose last input was acted on is re-sent only as a retransmission of the same messages', async () => {
    const store = createInMemoryEventStore();
    const sent: SipCommand[] = [];
    const live = crashingEngine(store, () => false, sent);
    const invite = pbxInvite();
    await live.handle(invite);
    await live.handle(answer(invites(sent)[0]!, 200, 'OK', SDP_CARRIER, 'gw'));
    const answered = sent.slice(1 + 1);

    const after: SipCommand[] = [];
    const next = createEngine({
      store,
      config: testConfig(),
      timers: heldTimers,
      send: (c) => after.push(c),
    });
    await next.start();
    // The decision of the last input (the carrier's 200), identical: the adapter absorbs it.
    expect(after).toEqual(answered);
    await next.stop();
  });

  it('looks back only over the window: an older unsent decision is left to the reapers', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T10:00:00Z'));
    const store = createInMemoryEventStore();
    const old = pbxInvite();
    const recent = pbxInvite();
    const sent: SipCommand[] = [];
    const dying = crashingEngine(store, () => true, sent);
    await dying.handle(old);
    vi.setSystemTime(new Date('2026-01-01T10:10:00Z'));
    await dying.handle(recent);

    const after: SipCommand[] = [];
    const next = createEngine({
      store,
      config: testConfig(),
      timers: heldTimers,
      send: (c) => after.push(c),
    });
    await next.start();
    const resent = invites(after);
    expect(resent).toHaveLength(1);
    expect(resent[0]!.callId).toContain(sessionOf(recent));
    await next.stop();
  });

  it('a hang-up stored but not passed on is passed on after the restart', async () => {
    const store = createInMemoryEventStore();
    const sent: SipCommand[] = [];
    const invite = pbxInvite();
    let dead = false;
    const engine = createEngine({
      store,
      config: testConfig(),
      timers: heldTimers,
      send: (c) => {
        if (dead) throw new Error('killed');
        sent.push(c);
      },
    });
    await engine.handle(invite);
    await engine.handle(answer(invites(sent)[0]!, 200, 'OK', SDP_CARRIER, 'gw'));
    const pivotTag = (sent.find((c) => c.kind === 'response' && c.status === 200) as { toTag: string }).toTag;
    dead = true;
    await engine.handle(pbxInDialog(invite, pivotTag, 'BYE', 2));

    const after: SipCommand[] = [];
    const next = createEngine({
      store,
      config: testConfig(),
      timers: heldTimers,
      send: (c) => after.push(c),
    });
    await next.start();
    expect(after.filter((c) => c.kind === 'request').map((c) => (c as SendRequestCommand).method)).toEqual([
      'BYE',
    ]);
    await next.stop();
  });
});

describe('positionBefore', () => {
  it('finds the last event older than a time by binary search', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = createInMemoryEventStore();
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute));
    for (let minute = 0; minute < 20; minute++) {
      vi.setSystemTime(at(minute));
      await store.appendToStream(
        `s-${minute}`,
        [{ id: crypto.randomUUID(), type: 'x', data: {}, metadata: {} }],
        {
          expectedRevision: 'no-stream',
        },
      );
    }
    expect(await positionBefore(store, at(0).getTime())).toBe(0);
    expect(await positionBefore(store, at(7).getTime())).toBe(7);
    expect(await positionBefore(store, at(7).getTime() + 1)).toBe(8);
    expect(await positionBefore(store, at(30).getTime())).toBe(20);
  });
});
