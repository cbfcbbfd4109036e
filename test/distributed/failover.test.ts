/**
 * An engine dies in the middle of a load of transfers: `pivot sip` + two `pivot engine` processes over
 * NATS JetStream on PostgreSQL, SIPp placing and transferring calls at a rate, and engine 0 killed while
 * calls are in every stage. The surviving engine takes over the dead one's inputs (JetStream redelivers
 * what it held unacknowledged) and its timers (it follows the store), so every call ends, every
 * transfer completes, and nothing is stored twice or lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Cluster, type ClusterEvent, startCluster } from '../helpers/cluster.ts';
import { freePort } from '../helpers/sipp.ts';
import {
  integrityProblems,
  type LoadResult,
  lostRequests,
  outcomes,
  partyProblems,
  printOutputOnFailure,
  sippSummary,
  transferLoad,
  waitUntil,
} from './support.ts';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.dispose();
  cluster = undefined;
});

const CALLS = 30;
const RATE = 5;

function summaryOf(result: LoadResult): string {
  return Object.entries(result)
    .map(([name, r]) => sippSummary(name, r))
    .join('; ');
}

/** What every load must leave behind, whatever happened to the engines during it. */
function expectEveryTransferDone(events: ClusterEvent[], result: LoadResult, calls: number): void {
  const summary = summaryOf(result);
  // Nothing doubled, no revision gap, and every request the parties sent stored once.
  expect(integrityProblems(events)).toEqual([]);
  expect(lostRequests(events, result.pbx, result.carrier, result.target)).toEqual([]);
  // Every call ended and every transfer completed, exactly once each.
  const seen = outcomes(events);
  expect(
    { roots: seen.roots, children: seen.children, transfers: seen.transferOutcomes },
    `${summary}\n${seen.stuck.join('\n')}`,
  ).toEqual({
    roots: { completed: calls },
    children: { completed: calls },
    transfers: { completed: calls },
  });
  // SIPp's own view: every call of every party ran to its end, none aborted (no tolerance). The
  // adapter sends no unasked-for copy (repeated request, response and ACK commands are absorbed), and
  // the PBX (test/sipp/distributed-pbx.xml) accepts what RFC 3261 allows around an outage: a final
  // response re-sent for its retransmitted request, a provisional response the pivot never relayed.
  expect(partyProblems(result, calls, 0)).toEqual([]);
}

async function storedCount(running: Cluster, type: string): Promise<number> {
  return (await running.events()).filter((e) => e.type === type).length;
}

describe('engine failover under load', () => {
  it.each([
    { how: 'SIGKILL', freezeMs: 0 },
    { how: 'a 2 s hang (SIGSTOP), then SIGKILL', freezeMs: 2_000 },
  ])(
    `$how of one of two engines during ${CALLS} transfers: every call ends, every transfer completes, nothing lost or doubled`,
    async ({ freezeMs }) => {
      const carrierPort = await freePort();
      cluster = await startCluster({ carrierPort, engines: 2 });
      printOutputOnFailure(cluster);
      const running = cluster;
      let killedAt = 0;

      const result = await transferLoad(running, {
        calls: CALLS,
        rate: RATE,
        carrierPort,
        async during() {
          // A third of the calls in: some finished, some mid-transfer, most not started.
          await waitUntil('a third of the calls stored', async () => {
            return (await storedCount(running, 'CallReceived')) >= CALLS / 3;
          });
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
      const at = (type: string) =>
        new Map(events.filter((e) => e.type === type).map((e) => [e.data.callSid, Date.parse(e.data.at)]));
      const received = at('CallReceived');
      const ended = at('CallEnded');
      const spanning = [...received].filter(([sid, t]) => t < killedAt && (ended.get(sid) ?? 0) > killedAt);
      expect(spanning.length, 'calls in progress when the engine died').toBeGreaterThan(0);
      expect([...received.values()].filter((t) => t > killedAt).length).toBeGreaterThan(0);

      expectEveryTransferDone(events, result, CALLS);
    },
    300_000,
  );

  it('the surviving engine fires the timers the dead one scheduled: every BYE fallback once', async () => {
    const carrierPort = await freePort();
    const calls = 10;
    // The PBX never hangs up after a transfer: the pivot must BYE it byeFallbackSeconds later.
    cluster = await startCluster({ carrierPort, engines: 2, transfer: { byeFallbackSeconds: 4 } });
    printOutputOnFailure(cluster);
    const running = cluster;
    let killedAt = 0;
    const result = await transferLoad(running, {
      calls,
      rate: 5,
      carrierPort,
      afterTransfer: 'hung_up',
      async during() {
        // Kill once some fallbacks are scheduled and none has fired yet.
        await waitUntil('fallback timers scheduled', async () => {
          const events = await running.events();
          const completed = events.filter((e) => e.type === 'TransferCompleted').length;
          return completed >= 3 && !events.some((e) => e.type === 'TimerFired');
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
    // Some were scheduled before the kill (possibly by the dead engine) and fired after it.
    expect(scheduled.filter((e) => Date.parse(e.data.at) < killedAt).length).toBeGreaterThan(0);
    expect(fired.every((e) => Date.parse(e.data.at) > killedAt)).toBe(true);
    for (const timer of fired) {
      const due = Date.parse(scheduled.find((s) => s.data.timerId === timer.data.timerId)!.data.dueAt);
      expect(Date.parse(timer.data.at)).toBeGreaterThanOrEqual(due);
    }
    expectEveryTransferDone(events, result, calls);
  }, 300_000);
});
