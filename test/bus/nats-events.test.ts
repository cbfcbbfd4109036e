/** Events published on NATS subjects `<prefix>.events.<type>`, once per position. Real nats-server. */
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSITION_HEADER, startEventPublisher } from '../../src/api/publishEvents.ts';
import { startReadSide } from '../../src/api/start.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts';
import { US_NUMBER } from '../projections/drive.ts';
import { world } from '../projections/support.ts';
import { waitUntil } from './support.ts';

let server: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

/** Every message of the stream: subject and position header, in stream order. */
async function streamed(name: string): Promise<{ subject: string; position: number; type: string }[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(name);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(name, { seq });
    out.push({
      subject: m!.subject,
      position: Number(m!.header.get(POSITION_HEADER)),
      type: m!.json<{ Type: string }>().Type,
    });
  }
  return out;
}

describe('nats: events published by type', () => {
  it('publishes each event on <prefix>.events.<type>; two publishers and a restart store each position once', async () => {
    const id = randomUUID().slice(0, 8);
    const names = { subjectPrefix: `t${id}`, streamName: `E_${id}` };
    const store = createInMemoryEventStore();
    const w = await world({ store });
    const live: { subject: string; position: number }[] = [];
    const sub = nc.subscribe(`t${id}.events.>`, {
      callback: (_e, m) => {
        live.push({ subject: m.subject, position: Number(m.headers?.get(POSITION_HEADER)) });
      },
    });
    await nc.flush();

    const call = await w.driver.terminating({ to: US_NUMBER });
    await call.answer();
    const sessionEvents = async () =>
      (await store.readAll({})).filter((e) => !e.streamName.startsWith('apikey-'));

    const one = await startEventPublisher({ servers: server.url, store, ...names });
    const two = await startEventPublisher({ servers: server.url, store, ...names });
    let expected = await sessionEvents();
    await waitUntil('both publishers caught up', () =>
      [one, two].every((p) => p.position() === expected.at(-1)!.position),
    );
    expect(await streamed(names.streamName)).toEqual(
      expected.map((e) => ({ subject: `t${id}.events.${e.type}`, position: e.position, type: e.type })),
    );
    // Core NATS subscribers may see a copy from each publisher: the position header de-duplicates.
    const positions = () => [...new Set(live.map((m) => m.position))].sort((a, b) => a - b);
    await waitUntil('live copies', () => positions().length === expected.length);
    expect(positions()).toEqual(expected.map((e) => e.position));
    expect(live.every((m) => m.subject.startsWith(`t${id}.events.`))).toBe(true);

    // Stopped, events keep coming; a new publisher resumes after the stream's last position.
    await one.stop();
    await two.stop();
    await call.hangup('customer');
    const three = await startEventPublisher({ servers: server.url, store, ...names });
    expected = await sessionEvents();
    await waitUntil('resumed', () => three.position() === expected.at(-1)!.position);
    expect((await streamed(names.streamName)).map((m) => m.position)).toEqual(
      expected.map((e) => e.position),
    );
    await three.stop();
    sub.unsubscribe();
    await w.close();
  });

  it('`pivot api` with the NATS bus publishes on pivot.events.<type> into PIVOT_EVENTS', async () => {
    const store = createInMemoryEventStore();
    const w = await world({ store });
    const config = { ...w.config, bus: { kind: 'nats' as const, url: server.url } };
    const side = await startReadSide({ config, store, port: 0, publishEvents: true });
    const call = await w.driver.terminating({ to: US_NUMBER });
    await call.reject(486, 'Busy Here');
    const expected = (await store.readAll({})).filter((e) => !e.streamName.startsWith('apikey-'));
    await waitUntil('published', async () => (await streamed('PIVOT_EVENTS')).length === expected.length);
    expect((await streamed('PIVOT_EVENTS')).map((m) => [m.subject, m.position])).toEqual(
      expected.map((e) => [`pivot.events.${e.type}`, e.position]),
    );
    await side.stop();
    await w.close();
  });
});
