import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine.ts';
import { checkAll } from '../../src/engine/replay.ts';
import type { SipCommand } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { driveTransfer } from '../helpers/driveTransfer.ts';
import { testConfig } from '../helpers/sipInputs.ts';

/** A store holding one complete blind transfer, stored by the engine with its recorded states. */
async function storedTransfer(): Promise<EventStore> {
  const store = createInMemoryEventStore();
  const sent: SipCommand[] = [];
  const engine = createEngine({ store, config: testConfig(), send: (command) => sent.push(command) });
  await driveTransfer(engine, sent);
  await engine.stop();
  return store;
}

/** A copy of `source` where the recorded state of the event at `position` reads `stateAfter`. */
async function withRecordedState(source: EventStore, position: number, stateAfter: unknown) {
  const copy = createInMemoryEventStore();
  for (const event of await source.readAll()) {
    const metadata = event.position === position ? { ...event.metadata, stateAfter } : event.metadata;
    await copy.appendToStream(
      event.streamName,
      [{ id: event.id, type: event.type, data: event.data, metadata }],
      {
        expectedRevision: 'any',
      },
    );
  }
  return copy;
}

describe('replay --check', () => {
  it('finds no mismatch in what the engine stored', async () => {
    const store = await storedTransfer();
    const result = await checkAll(store);
    expect(result.sessions).toBe(1);
    expect(result.events).toBe((await store.readAll()).length);
    expect(result.mismatches).toEqual([]);
  });

  it('reports each event whose recorded state the machines no longer reach', async () => {
    const store = await storedTransfer();
    const referred = (await store.readAll()).find((event) => event.type === 'ReferReceived')!;
    const tampered = await withRecordedState(store, referred.position, 'somewhereElse');
    const result = await checkAll(tampered);
    expect(result.mismatches).toEqual([
      {
        stream: referred.streamName,
        revision: referred.revision,
        type: 'ReferReceived',
        recorded: 'somewhereElse',
        replayed: referred.metadata.stateAfter,
      },
    ]);
  });

  it('compares nested states as such', async () => {
    const store = await storedTransfer();
    const referred = (await store.readAll()).find((event) => event.type === 'ReferReceived')!;
    const nested = await withRecordedState(store, referred.position, { holding: 'waiting' });
    expect((await checkAll(nested)).mismatches).toHaveLength(1);
  });
});
