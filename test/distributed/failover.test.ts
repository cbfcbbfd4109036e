/**
 * An engine dies in the middle of a load of transfers: `pivot sip` + two `pivot engine` processes over
 * NATS JetStream on PostgreSQL, SIPp placing and transferring calls at a rate, and engine 0 killed while
 * calls are in every stage. The surviving engine takes over the dead one's inputs (JetStream redelivers
 * what it held unacknowledged) and its timers (it follows the store), so every call ends, every
 * transfer completes, and nothing is stored twice or lost.
 */
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/sipp.ts';
import {
  aThirdOfTheCallsStored,
  callsAround,
  clusterPerTest,
  expectEveryTransferDone,
  transferLoad,
  waitUntil,
} from './support.ts';

const startCluster = clusterPerTest();

const CALLS = 30;
const RATE = 5;

describe('engine failover under load', () => {
  it.each([
    { how: 'SIGKILL', freezeMs: 0 },
    { how: 'a 2 s hang (SIGSTOP), then SIGKILL', freezeMs: 2_000 },
  ])(
    `$how of one of two engines during ${CALLS} transfers: every call ends, every transfer completes, nothing lost or doubled`,
    async ({ freezeMs }) => {
      const carrierPort = await freePort();
      const running = await startCluster({ carrierPort, engines: 2 });
      let killedAt = 0;

      const result = await transferLoad(running, {
        calls: CALLS,
        rate: RATE,
        carrierPort,
        async during() {
          // A third of the calls in: some finished, some mid-transfer, most not started.
          await aThirdOfTheCallsStored(running, CALLS);
          killedAt = Date.now();
          if (freezeMs > 0) {
            // Hung, the engine keeps its connection: JetStream goes on handing it inputs it never acks.
            running.freeze(0);
            await new Promise((resolve) => setTimeout(resolve, freezeMs));
          }
          await running.kill(0, 'SIGKILL');
        },
      });

      expect(running.engines().map((e) => e.running)).toEqual([false, true]);
      await running.settle({ quietMs: 2_000, timeoutMs: 90_000 });
      const events = await running.events();
      const bus = await running.busStats();
      expect(bus).toMatchObject({ pending: 0, ackPending: 0 });
      if (freezeMs > 0)
        expect(bus.redelivered, 'inputs the hung engine held, redelivered').toBeGreaterThan(0);

      // The kill hit a load in progress: calls started before it and ended after it, others started after.
      const around = callsAround(events, killedAt);
      expect(around.inProgress, 'calls in progress when the engine died').toBeGreaterThan(0);
      expect(around.receivedAfter).toBeGreaterThan(0);

      expectEveryTransferDone(events, result, CALLS);
    },
    300_000,
  );

  it('the surviving engine fires the timers the dead one scheduled: every BYE fallback once', async () => {
    const carrierPort = await freePort();
    const calls = 10;
    // The PBX never hangs up after a transfer: the pivot must BYE it byeFallbackSeconds later.
    const running = await startCluster({ carrierPort, engines: 2, transfer: { byeFallbackSeconds: 4 } });
    let killedAt = 0;
    /** Fallback timers stored before the kill and not yet due then: engine 0 cannot fire them. */
    let storedBeforeKill: Array<{ timerId: string; dueAt: number }> = [];
    const result = await transferLoad(running, {
      calls,
      rate: 5,
      carrierPort,
      afterTransfer: 'hung_up',
      async during() {
        // Kill once some fallbacks are stored that are not due for a while yet (the kill takes moments).
        await waitUntil('fallback timers scheduled', async () => {
          storedBeforeKill = (await running.events())
            .filter((e) => e.type === 'TimerScheduled' && e.data.name === 'bye-fallback')
            .map((e) => ({ timerId: e.data.timerId, dueAt: Date.parse(e.data.dueAt) }));
          return storedBeforeKill.some((timer) => timer.dueAt > Date.now() + 1_000);
        });
        killedAt = Date.now();
        await running.kill(0, 'SIGKILL');
      },
    });
    await running.settle({ quietMs: 2_000, timeoutMs: 90_000 });
    const events = await running.events();

    const scheduled = events.filter((e) => e.type === 'TimerScheduled' && e.data.name === 'bye-fallback');
    const fired = events.filter((e) => e.type === 'TimerFired' && e.data.name === 'bye-fallback');
    expect(scheduled).toHaveLength(calls);
    expect(fired.map((e) => e.data.timerId).sort()).toEqual(scheduled.map((e) => e.data.timerId).sort());
    // Those stored before the kill and due after it fired after it: by the surviving engine.
    const dueAfterKill = storedBeforeKill.filter((timer) => timer.dueAt > killedAt).map((t) => t.timerId);
    expect(dueAfterKill.length).toBeGreaterThan(0);
    const firedAfterKill = fired.filter((e) => dueAfterKill.includes(e.data.timerId));
    expect(firedAfterKill.map((e) => e.data.timerId).sort()).toEqual([...dueAfterKill].sort());
    expect(firedAfterKill.every((e) => Date.parse(e.data.at) > killedAt)).toBe(true);
    for (const timer of fired) {
      const due = Date.parse(scheduled.find((s) => s.data.timerId === timer.data.timerId)!.data.dueAt);
      expect(Date.parse(timer.data.at)).toBeGreaterThanOrEqual(due);
    }
    expectEveryTransferDone(events, result, calls);
  }, 300_000);
});
