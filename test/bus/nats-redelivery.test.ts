/**
 * An engine that dies holding an input: the input goes to another engine once `ack_wait` passes, and not
 * before while the first engine is alive, however long its handler takes. A consumer deleted under the
 * engines is recreated. Real nats-server.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { partitionOf } from '../../src/bus/nats/partition.ts';
import { consumerName } from '../../src/bus/nats/subjects.ts';
import type { SipInput } from '../../src/shared/messages.ts';
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts';
import { busFactory, isolated, requestInput, sleep, waitUntil } from './support.ts';

const ACK_WAIT_MS = 2_000;
let server: NatsServer;
let buses: ReturnType<typeof busFactory>;

beforeAll(async () => {
  server = await startNatsServer();
  buses = busFactory(server.url, { partitions: 2, ackWaitMs: ACK_WAIT_MS });
});
afterAll(async () => {
  await buses?.closeAll();
  await server?.stop();
});

it('redelivers the input of a dead engine to the other engine once its ack_wait passes', async () => {
  const adapterSide = (await buses.open()).adapter();
  const doomed = await buses.open({ name: 'doomed' });
  const survivor = await buses.open({ name: 'survivor' });

  const doomedGot: SipInput[] = [];
  await doomed.engine().consumeInputs(async (input) => {
    doomedGot.push(input);
    await new Promise<never>(() => {}); // stuck: never acknowledges
  });
  const first = requestInput('dead-engine@pbx', 0, 'INVITE');
  await adapterSide.publishInput(first);
  await waitUntil('the doomed engine to hold the input', () => doomedGot.length === 1);

  const survivorGot: SipInput[] = [];
  await survivor.engine().consumeInputs(async (input) => {
    survivorGot.push(input);
  });
  const second = requestInput('dead-engine@pbx', 1);
  await adapterSide.publishInput(second);

  // Alive, the doomed engine keeps the input past ack_wait (in-progress acks), and holds up its session.
  // What is asserted is a span of time, so it is waited for; JetStream's own account of the partition
  // then proves it delivered the input once and never again (its server answering is the liveness).
  await sleep(ACK_WAIT_MS + 1_000);
  expect(survivorGot).toEqual([]);
  const jsm = await jetstreamManager(survivor.connection);
  const partition = consumerName(buses.names.subjectPrefix!, partitionOf(first, 2));
  const held = await jsm.consumers.info(buses.names.streamName!, partition);
  expect(held.config.ack_wait).toBe(ACK_WAIT_MS * 1_000_000);
  expect(held).toMatchObject({ num_ack_pending: 1, num_redelivered: 0 });

  await doomed.connection.close(); // the crash: no ack, no nak
  await waitUntil('the redelivery', () => survivorGot.length === 2, 60_000);
  expect(survivorGot).toEqual([first, second]);
  expect(doomedGot).toEqual([first]);
}, 90_000);

it('recreates a partition consumer deleted under a consuming engine', async () => {
  const names = isolated();
  const stream = names.streamName!;
  const consumer = consumerName(names.subjectPrefix!, 0);
  const bus = await buses.open({ ...names, partitions: 1 });
  const handled: string[] = [];
  await bus.engine().consumeInputs(async (input) => {
    handled.push(input.transactionKey);
  });
  const jsm = await jetstreamManager(bus.connection);
  // Delete it under a waiting pull, as an operator would on a running system.
  await waitUntil('a waiting pull', async () => (await jsm.consumers.info(stream, consumer)).num_waiting > 0);
  await jsm.consumers.delete(stream, consumer);
  const input = requestInput('recreated@pbx', 0);
  await bus.adapter().publishInput(input);
  await waitUntil('the input, through the recreated consumer', () => handled.length === 1, 5_000);
  expect(handled).toEqual([input.transactionKey]);
});
