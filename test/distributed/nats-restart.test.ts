/**
 * nats-server restarts in the middle of a load of transfers: the adapter's publishes wait and retry
 * (same message id, so JetStream keeps each input once), the engines reconnect and pull again, inputs
 * JetStream acknowledged survive on its file store, and commands sent while the server was down are
 * recovered by SIP retransmission. No transfer may be lost: every call ends, every transfer completes.
 */
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/sipp.ts';
import {
  aThirdOfTheCallsStored,
  callsAround,
  clusterPerTest,
  expectEveryTransferDone,
  transferLoad,
} from './support.ts';

const startCluster = clusterPerTest();

const CALLS = 30;
const DOWN_MS = 2_000;

describe('nats-server restart under load', () => {
  it(`nats-server down ${DOWN_MS} ms during ${CALLS} transfers: no transfer lost, every call ended, nothing doubled`, async () => {
    const carrierPort = await freePort();
    const running = await startCluster({ carrierPort, engines: 2 });
    let restart = { from: 0, to: 0 };

    const result = await transferLoad(running, {
      calls: CALLS,
      rate: 5,
      carrierPort,
      async during() {
        await aThirdOfTheCallsStored(running, CALLS);
        const from = Date.now();
        await running.restartNats(DOWN_MS);
        restart = { from, to: Date.now() };
      },
    });

    expect(running.engines().map((e) => e.running)).toEqual([true, true]);
    expect(running.processes().every((p) => p.running)).toBe(true);
    // Every pivot process lost the server and came back to it.
    for (const p of running.processes()) {
      expect(p.output(), `${p.role} #${p.index}`).toContain('"message":"nats: reconnected"');
    }
    await running.settle({ quietMs: 2_000, timeoutMs: 90_000 });
    const events = await running.events();

    // The outage hit calls in progress, and calls were still being placed after it.
    const around = callsAround(events, restart.from, restart.to);
    expect(around.inProgress, 'calls in progress when nats-server went down').toBeGreaterThan(0);
    expect(around.receivedAfter).toBeGreaterThan(0);

    expectEveryTransferDone(events, result, CALLS);
  }, 300_000);
});
