/** The in-process bus tells the adapter when the engine could not handle an input, and logs it. */
import { describe, expect, it } from 'vitest';
import { createInProcessBus } from '../../src/bus/inprocess.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { pbxInvite, testConfig } from '../helpers/sipInputs.ts';

describe('in-process bus', () => {
  it('rejects the publish of an input the engine failed on, and logs it as an error', async () => {
    const memory = createInMemoryEventStore();
    let failing = true;
    const store: EventStore = {
      ...memory,
      async appendToStream(...args) {
        if (failing) throw new Error('disk I/O error');
        return memory.appendToStream(...args);
      },
    };
    const logs: { level: string; message: string }[] = [];
    const bus = createInProcessBus({ log: (level, message) => logs.push({ level, message }) });
    const engine = createEngine({
      store,
      config: testConfig(),
      send: (c, a) => bus.engine.sendCommand(c, a),
    });
    await bus.engine.consumeInputs(async (input) => {
      await engine.handle(input);
    });
    const invite = pbxInvite();
    await expect(bus.adapter.publishInput(invite)).rejects.toThrow(/disk I\/O error/);
    expect(logs).toContainEqual({
      level: 'error',
      message: 'in-process bus: the engine did not handle an input',
    });

    failing = false;
    await expect(bus.adapter.publishInput(invite)).resolves.toBeUndefined();
    // The call and its Timer C.
    expect((await memory.readAll()).map((e) => e.type)).toEqual(['CallReceived', 'TimerScheduled']);
  });
});
