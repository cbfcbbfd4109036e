/**
 * Commands reach their adapter even when it is not subscribed at the moment they are sent: around a
 * nats-server restart an engine's buffered commands can reach the server before the adapter has
 * re-subscribed, and core NATS drops a message nobody listens to. SIP retransmission cannot recover
 * such a loss (the adapter absorbs the peer's retransmissions, JetStream drops repeated inputs), so
 * the bus delivers commands at least once: re-sent until an adapter acknowledges them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SipCommand } from '../../src/shared/messages.ts';
import { busFactory, requestCommand, responseCommand, sleep, waitUntil } from '../bus/support.ts';
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts';

let server: NatsServer;
let buses: ReturnType<typeof busFactory>;

beforeAll(async () => {
  server = await startNatsServer();
  buses = busFactory(server.url);
});
afterAll(async () => {
  await buses?.closeAll();
  await server?.stop();
});

it('delivers a command sent before its adapter subscribed, once, when the adapter subscribes', async () => {
  const engineSide = (await buses.open()).engine();
  engineSide.sendCommand(responseCommand('late', 1), 'late');
  engineSide.sendCommand(requestCommand(2), undefined); // to any adapter: there is none yet
  await sleep(1_500);

  const got: SipCommand[] = [];
  await (await buses.open()).adapter().onCommand('late', (command) => got.push(command));
  await waitUntil('the commands sent before the adapter was there', () => got.length >= 2, 15_000);
  await sleep(3_000); // a command delivered twice would show up by now
  expect(got).toEqual(expect.arrayContaining([responseCommand('late', 1), requestCommand(2)]));
  expect(got).toHaveLength(2);
}, 30_000);
