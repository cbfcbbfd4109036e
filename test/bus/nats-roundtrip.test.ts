/** The NATS bus carries inputs and commands intact, to the right place, once. Real nats-server. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/bus/nats/partition.ts';
import type { SipCommand, SipInput } from '../../src/shared/messages.ts';
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts';
import { busFactory, requestCommand, requestInput, responseCommand, sleep, waitUntil } from './support.ts';

let server: NatsServer;
let buses: ReturnType<typeof busFactory>;

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  await buses?.closeAll();
});

describe('nats bus: inputs', () => {
  it('delivers the inputs an adapter publishes to an engine with their JSON intact', async () => {
    buses = busFactory(server.url);
    const adapterSide = (await buses.open()).adapter();
    const engineSide = (await buses.open()).engine();
    const received: SipInput[] = [];
    await engineSide.consumeInputs(async (input) => {
      received.push(input);
    });
    const sent = [requestInput('call-a', 0, 'INVITE'), requestInput('call-b', 1), requestInput('call-a', 2)];
    for (const input of sent) await adapterSide.publishInput(input);
    await waitUntil('three inputs', () => received.length === 3);
    const byKey = (inputs: SipInput[]) =>
      [...inputs].sort((x, y) => x.transactionKey.localeCompare(y.transactionKey));
    expect(byKey(received)).toEqual(byKey(sent));
  });

  it('stores a repeated input (same key) once', async () => {
    buses = busFactory(server.url);
    const adapterSide = (await buses.open()).adapter();
    const engineSide = (await buses.open()).engine();
    const received: string[] = [];
    await engineSide.consumeInputs(async (input) => {
      received.push(input.transactionKey);
    });
    const first = requestInput('call-dup', 0);
    const retransmission = { ...first, receivedAt: new Date().toISOString() };
    await adapterSide.publishInput(first);
    await adapterSide.publishInput(retransmission);
    await adapterSide.publishInput(first);
    // The same session's next input comes after in the same partition: once it is handled, any
    // duplicate would have been handled too.
    const next = requestInput('call-dup', 1);
    await adapterSide.publishInput(next);
    await waitUntil('the next input', () => received.includes(next.transactionKey));
    expect(received).toEqual([first.transactionKey, next.transactionKey]);
  });

  it('puts every input of a session in one partition', () => {
    const partitions = new Set(
      Array.from({ length: 20 }, (_, n) => partitionOf(requestInput('call-p', n), 16)),
    );
    expect(partitions.size).toBe(1);
    const spread = new Set(Array.from({ length: 64 }, (_, n) => partitionOf(requestInput(`c${n}`, 0), 16)));
    expect(spread.size).toBeGreaterThan(8);
    for (const partition of spread) expect(partition).toBeGreaterThanOrEqual(0);
    for (const partition of spread) expect(partition).toBeLessThan(16);
  });

  it('refuses to join a stream partitioned differently', async () => {
    buses = busFactory(server.url);
    await buses.open({ partitions: 16 });
    await expect(buses.open({ partitions: 8 })).rejects.toThrow(/partitioned 16 ways/);
  });
});

describe('nats bus: commands', () => {
  it('sends a command to the adapter it names, and an `any` command to exactly one adapter', async () => {
    buses = busFactory(server.url);
    const engineSide = (await buses.open()).engine();
    const got: Record<string, SipCommand[]> = { a1: [], a2: [] };
    for (const id of ['a1', 'a2'] as const) {
      const adapterSide = (await buses.open()).adapter();
      await adapterSide.onCommand(id, (command) => got[id]!.push(command));
    }

    engineSide.sendCommand(responseCommand('a2', 1), 'a1'); // a response goes where its transaction is
    engineSide.sendCommand(requestCommand(2), 'a1');
    await waitUntil('the addressed commands', () => got.a1!.length === 1 && got.a2!.length === 1);
    expect(got.a2).toEqual([responseCommand('a2', 1)]);
    expect(got.a1).toEqual([requestCommand(2)]);

    got.a1 = [];
    got.a2 = [];
    const anyCount = 40;
    for (let n = 0; n < anyCount; n++) engineSide.sendCommand(requestCommand(100 + n), undefined);
    await waitUntil('the `any` commands', () => got.a1!.length + got.a2!.length >= anyCount);
    await sleep(300); // a command delivered twice would show up by now
    const branches = [...got.a1!, ...got.a2!].map((command) =>
      command.kind === 'request' ? command.branch : '',
    );
    expect(branches).toHaveLength(anyCount);
    expect(new Set(branches).size).toBe(anyCount);
    // A queue group, not a broadcast: both adapters took a share.
    expect(got.a1!.length).toBeGreaterThan(0);
    expect(got.a2!.length).toBeGreaterThan(0);
  });
});
