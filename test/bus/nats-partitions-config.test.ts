/** `bus.partitions` reaches the NATS bus: the stream records it, engines consume that many partitions. */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus } from '../../src/cli/roles.ts';
import { silentLogger } from '../../src/log.ts';
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts';
import { requestInput, waitUntil } from './support.ts';

let server: NatsServer;

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('bus.partitions', () => {
  it('partitions the inputs as configured, and a process configured otherwise refuses to start', async () => {
    const bus = await openBus({ kind: 'nats', url: server.url, partitions: 4 }, silentLogger);
    try {
      const received: string[] = [];
      await bus.engine.consumeInputs(async (input) => {
        received.push(input.callId);
      });
      const calls = Array.from({ length: 12 }, (_, i) => `call-${i}`);
      for (const [i, callId] of calls.entries()) await bus.adapter.publishInput(requestInput(callId, i));
      await waitUntil('every input handled', () => received.length === calls.length);

      const nc = await connect({ servers: server.url });
      try {
        const jsm = await jetstreamManager(nc);
        const stream = await jsm.streams.info('PIVOT_INPUTS');
        expect(stream.config.description).toContain('partitions=4');
        const consumers = await jsm.consumers.list('PIVOT_INPUTS').next();
        expect(consumers.map((c) => c.name).sort()).toEqual(['pivot-p0', 'pivot-p1', 'pivot-p2', 'pivot-p3']);
      } finally {
        await nc.close();
      }

      await expect(openBus({ kind: 'nats', url: server.url, partitions: 8 }, silentLogger)).rejects.toThrow(
        /partitioned 4 ways/,
      );
    } finally {
      await bus.close();
    }
  });
});
