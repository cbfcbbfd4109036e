/**
 * Per-session order across engine processes: inputs of a few sessions, interleaved, consumed by two
 * engine sides on two connections with random handler delays. Real nats-server.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts';
import { busFactory, requestInput, sleep, waitUntil } from './support.ts';

let server: NatsServer;
const buses = () => factory;
let factory: ReturnType<typeof busFactory>;

beforeAll(async () => {
  server = await startNatsServer();
  factory = busFactory(server.url, { partitions: 4 });
});
afterAll(async () => {
  await buses()?.closeAll();
  await server?.stop();
});

it('hands each session its inputs in publish order, one at a time, across two engines', async () => {
  const sessions = Array.from({ length: 8 }, (_, s) => `order-${s}@pbx`);
  const perSession = 20;
  const adapterSide = (await buses().open()).adapter();

  const handled = new Map<string, number[]>(sessions.map((session) => [session, []]));
  const busy = new Set<string>();
  const overlaps: string[] = [];
  const work = { e1: 0, e2: 0 };
  for (const engineName of ['e1', 'e2'] as const) {
    const engineSide = (await buses().open({ name: engineName })).engine();
    await engineSide.consumeInputs(async (input) => {
      if (busy.has(input.callId)) overlaps.push(`${input.callId} #${input.cseq.seq}`);
      busy.add(input.callId);
      await sleep(Math.random() * 8);
      handled.get(input.callId)!.push(input.cseq.seq - 1);
      work[engineName]++;
      busy.delete(input.callId);
    });
  }

  // Interleaved: the n-th input of every session, then the (n+1)-th of every session...
  for (let n = 0; n < perSession; n++) {
    for (const session of sessions) await adapterSide.publishInput(requestInput(session, n));
  }
  const total = sessions.length * perSession;
  await waitUntil('every input', () => work.e1 + work.e2 === total, 25_000);

  const expected = Array.from({ length: perSession }, (_, n) => n);
  for (const session of sessions) expect(handled.get(session), session).toEqual(expected);
  expect(overlaps).toEqual([]);
  expect(work.e1).toBeGreaterThan(0);
  expect(work.e2).toBeGreaterThan(0);
}, 35_000);
