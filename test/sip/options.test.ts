import { afterEach, describe, expect, it } from 'vitest';
import { describeSipp, runSipp } from '../helpers/sipp.ts';
import { type Harness, startAdapter } from './support.ts';

describe('OPTIONS outside a dialog', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`is answered 200 with Allow by the adapter itself over ${transport}`, async () => {
      harness = await startAdapter();
      const sipp = runSipp({ scenario: 'options.xml', remote: `127.0.0.1:${harness.port}`, transport });
      const result = await sipp.done;
      expect(result.code, describeSipp(result)).toBe(0);
      expect(result.messages).toContain(
        'Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY, INFO, PRACK, UPDATE',
      );
      // Answered here, not by the engine.
      expect(harness.inputs).toEqual([]);
    });
  }
});
