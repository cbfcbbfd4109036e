/**
 * nats-server restarted in the middle of a stream of publishes: nothing is lost, the publishes made
 * during the outage complete once the server is back, and the engine side resumes. Real nats-server.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts';
import { busFactory, requestInput, waitUntil } from './support.ts';

const OUTAGE_MS = 2_000;
let server: NatsServer;
let buses: ReturnType<typeof busFactory>;

beforeAll(async () => {
  server = await startNatsServer();
  // One publish attempt is much shorter than the outage: only retrying gets the inputs through.
  buses = busFactory(server.url, {
    partitions: 4,
    ackWaitMs: 2_000,
    publishAttemptTimeoutMs: 500,
    publishTimeoutMs: 15_000,
  });
});
afterAll(async () => {
  await buses?.closeAll();
  await server?.stop();
});

it('loses no input across a nats-server restart', async () => {
  const adapterBus = await buses.open({ name: 'adapter' });
  const adapterSide = adapterBus.adapter();
  const engineSide = (await buses.open({ name: 'engine' })).engine();
  const handled = new Set<string>();
  await engineSide.consumeInputs(async (input) => {
    handled.add(input.transactionKey);
  });
  const inputs = Array.from({ length: 60 }, (_, n) => requestInput(`restart-${n % 6}@pbx`, n));

  for (const input of inputs.slice(0, 20)) await adapterSide.publishInput(input);

  const disconnected = (async () => {
    for await (const status of adapterBus.connection.status()) if (status.type === 'disconnect') return;
  })();
  const restarted = server.restart(OUTAGE_MS);
  await disconnected;
  // Published while the server is down: none can be acknowledged before it is back.
  let restartDone = false;
  let settledDuringOutage = 0;
  const duringOutage = inputs.slice(20, 40).map((input) =>
    adapterSide.publishInput(input).finally(() => {
      if (!restartDone) settledDuringOutage++;
    }),
  );
  await restarted;
  restartDone = true;
  const outcomes = await Promise.allSettled(duringOutage);
  expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
  expect(settledDuringOutage).toBe(0);

  for (const input of inputs.slice(40)) await adapterSide.publishInput(input);

  await waitUntil('every input', () => handled.size === inputs.length, 15_000);
  expect([...handled].sort()).toEqual(inputs.map((input) => input.transactionKey).sort());
}, 35_000);
