/**
 * nats-server restarts in the middle of a load of transfers: the adapter's publishes wait and retry
 * (same message id, so JetStream keeps each input once), the engines reconnect and pull again, inputs
 * JetStream acknowledged survive on its file store, and commands sent while the server was down are
 * recovered by SIP retransmission. No transfer may be lost: every call ends, every transfer completes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../helpers/cluster.ts';
import { freePort } from '../helpers/sipp.ts';
import {
  integrityProblems,
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
const DOWN_MS = 2_000;

describe('nats-server restart under load', () => {
  it(`nats-server down ${DOWN_MS} ms during ${CALLS} transfers: no transfer lost, every call ended, nothing doubled`, async () => {
    const carrierPort = await freePort();
    cluster = await startCluster({ carrierPort, engines: 2 });
    printOutputOnFailure(cluster);
    const running = cluster;
    let restart = { from: 0, to: 0 };

    const result = await transferLoad(running, {
      calls: CALLS,
      rate: 5,
      carrierPort,
      async during() {
        await waitUntil('a third of the calls stored', async () => {
          const events = await running.events();
          return events.filter((e) => e.type === 'CallReceived').length >= CALLS / 3;
        });
        const from = Date.now();
        await running.restartNats(DOWN_MS);
        restart = { from, to: Date.now() };
      },
    });
    const summary = Object.entries(result)
      .map(([name, r]) => sippSummary(name, r))
      .join('; ');

    expect(running.engines().map((e) => e.running)).toEqual([true, true]);
    expect(running.processes().every((p) => p.running)).toBe(true);
    // Every pivot process lost the server and came back to it.
    for (const p of running.processes()) {
      expect(p.output(), `${p.role} #${p.index}`).toContain('"message":"nats: reconnected"');
    }
    await running.settle({ quietMs: 2_000, timeoutMs: 90_000 });
    const events = await running.events();

    // The outage hit calls in progress, and calls were still being placed after it.
    const at = (type: string) =>
      new Map(events.filter((e) => e.type === type).map((e) => [e.data.callSid, Date.parse(e.data.at)]));
    const received = at('CallReceived');
    const ended = at('CallEnded');
    expect(
      [...received].filter(([sid, t]) => t < restart.from && (ended.get(sid) ?? 0) > restart.from).length,
      'calls in progress when nats-server went down',
    ).toBeGreaterThan(0);
    expect([...received.values()].filter((t) => t > restart.to).length).toBeGreaterThan(0);

    expect(integrityProblems(events)).toEqual([]);
    expect(lostRequests(events, result.pbx, result.carrier, result.target)).toEqual([]);
    const seen = outcomes(events);
    expect(
      { roots: seen.roots, children: seen.children, transfers: seen.transferOutcomes },
      `${summary}\n${seen.stuck.join('\n')}`,
    ).toEqual({
      roots: { completed: CALLS },
      children: { completed: CALLS },
      transfers: { completed: CALLS },
    });
    // SIPp's own view: every call of every party ran to its end, none aborted (no tolerance). The
    // adapter sends no unasked-for copy (repeated request, response and ACK commands are absorbed), and
    // the PBX (test/sipp/distributed-pbx.xml) accepts what RFC 3261 allows around an outage: a final
    // response re-sent for its retransmitted request, a provisional response the pivot never relayed.
    expect(partyProblems(result, CALLS, 0)).toEqual([]);
  }, 300_000);
});
