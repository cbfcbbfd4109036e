/**
 * The peers' health shared over NATS by the SIP edges: of two adapters, one pings at a time (the other
 * stands by while the snapshot is renewed), and the other takes over once the first stops. A process
 * following the snapshot sees the same peers. Real nats-server; the pings are captured, not sent.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { followPeerHealth, startEdgeHealthChecks } from '../../src/cli/peerChecks.ts';
import { silentLogger } from '../../src/log.ts';
import type { SipCommand } from '../../src/shared/messages.ts';
import { pivotConfig } from '../e2e/pivot.ts';
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts';
import { busFactory, waitUntil } from './support.ts';

let server: NatsServer;
let buses: ReturnType<typeof busFactory>;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  server = await startNatsServer();
});
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await buses?.closeAll();
});
afterAll(async () => {
  await server?.stop();
});

async function edge(adapterId: string) {
  buses ??= busFactory(server.url);
  const bus = await (await buses.open()).peerStates();
  const config = pivotConfig(5060, ':memory:', { carrierPort: 5099, healthCheckSeconds: 1 });
  const checks = await startEdgeHealthChecks({
    config: { ...config, healthChecks: { intervalSeconds: 1 } },
    bus,
    log: silentLogger,
  });
  const sent: SipCommand[] = [];
  checks.start({ adapterId, execute: (command) => sent.push(command) });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await checks.stop();
  };
  stops.push(stop);
  /** Rounds of pings so far (each round's OPTIONS share a CSeq). */
  const rounds = () =>
    new Set(sent.map((command) => (command.kind === 'request' ? command.cseq.seq : 0))).size;
  return { adapterId, bus, rounds, stop };
}

it('one of two adapters pings at a time; the other takes over when it stops', async () => {
  buses = busFactory(server.url);
  const edges = [await edge('sip-one'), await edge('sip-two')];
  const writer = async () => (await edges[0]!.bus.latest())?.snapshot.by;
  await waitUntil('a first snapshot', async () => (await writer()) !== undefined);
  const first = await writer();
  const leader = edges.find((each) => each.adapterId === first)!;
  const other = edges.find((each) => each !== leader)!;

  // Both may ping in their very first turn; from the next one on, only the writer does.
  const settled = leader.rounds() + 2;
  await waitUntil('two more rounds of the writer', () => leader.rounds() >= settled, 15_000);
  const standing = other.rounds();
  await waitUntil('three more rounds of the writer', () => leader.rounds() >= settled + 3, 15_000);
  expect(other.rounds()).toBe(standing);
  expect(await writer()).toBe(leader.adapterId);

  const followed = await followPeerHealth(other.bus);
  stops.push(() => followed.close());
  expect(followed.health.statuses().map((peer) => peer.destination)).toContainEqual({
    transport: 'udp',
    host: '127.0.0.2',
    port: 5099,
  });

  await leader.stop();
  await waitUntil('the other adapter pinging', () => other.rounds() > standing, 15_000);
  await waitUntil('its snapshot', async () => (await writer()) === other.adapterId, 15_000);
}, 60_000);
