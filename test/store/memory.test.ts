import { describe, expect, it } from 'vitest';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { describeEventStoreContract } from './contract.ts';

describeEventStoreContract('in-memory', async () => {
  const store = createInMemoryEventStore();
  return { store, cleanup: () => store.close() };
});

describe('in-memory event store', () => {
  it('starts empty, at position 0, and numbers positions from 1', async () => {
    const store = createInMemoryEventStore();
    expect(await store.headPosition()).toBe(0);
    const result = await store.appendToStream(
      'call-CA1',
      [{ id: 'e1', type: 'CallReceived', data: {}, metadata: {} }],
      {
        expectedRevision: 'no-stream',
      },
    );
    expect(result).toEqual({ nextExpectedRevision: 0, position: 1 });
    await store.close();
  });

  it('keeps history safe from mutation of appended and read objects', async () => {
    const store = createInMemoryEventStore();
    const data = { legs: ['a'] };
    await store.appendToStream('call-CA1', [{ id: 'e1', type: 'CallReceived', data, metadata: {} }], {
      expectedRevision: 'no-stream',
    });
    data.legs.push('mutated after append');
    const [read] = await store.readStream('call-CA1');
    (read!.data as { legs: string[] }).legs.push('mutated after read');

    expect((await store.readAll())[0]!.data).toEqual({ legs: ['a'] });
    await store.close();
  });

  it('refuses an append that repeats only some stored ids', async () => {
    const store = createInMemoryEventStore();
    const event = (id: string) => ({ id, type: 'TimerFired', data: {}, metadata: {} });
    await store.appendToStream('call-CA1', [event('e1')], { expectedRevision: 'no-stream' });

    await expect(
      store.appendToStream('call-CA1', [event('e1'), event('e2')], { expectedRevision: 'any' }),
    ).rejects.toThrow(/already stored/);
    expect((await store.readStream('call-CA1')).map((recorded) => recorded.id)).toEqual(['e1']);
    await store.close();
  });
});
