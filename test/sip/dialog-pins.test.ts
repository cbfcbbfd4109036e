import { describe, expect, it } from 'vitest';
import type { SipEndpoint } from '../../src/shared/messages.ts';
import { createDialogPins } from '../../src/sip/dialogPins.ts';

const pbx: SipEndpoint = { transport: 'tcp', host: '192.0.2.10', port: 40_001 };
const other: SipEndpoint = { transport: 'tcp', host: '192.0.2.10', port: 40_002 };

describe('dialog pins', () => {
  it('hold a connection until every dialog on it is released', () => {
    const pins = createDialogPins({ now: () => 0, maxAgeMs: 1_000, maxDialogs: 10 });
    pins.pin('a', pbx);
    pins.pin('b', pbx);
    expect([pins.holds(pbx), pins.holds(other)]).toEqual([true, false]);
    pins.release('a');
    expect(pins.holds(pbx)).toBe(true);
    pins.release('b');
    expect(pins.holds(pbx)).toBe(false);
    expect(pins.size).toBe(0);
  });

  it('let go of a dialog after the hard cap, whether or not its BYE was seen', () => {
    let now = 0;
    const pins = createDialogPins({ now: () => now, maxAgeMs: 1_000, maxDialogs: 10 });
    pins.pin('a', pbx);
    now = 999;
    expect(pins.holds(pbx)).toBe(true);
    now = 1_000;
    expect(pins.holds(pbx)).toBe(false);
    expect(pins.size).toBe(0);
  });

  it('remember at most maxDialogs dialogs, forgetting the oldest', () => {
    const pins = createDialogPins({ now: () => 0, maxAgeMs: 1_000, maxDialogs: 2 });
    pins.pin('a', pbx);
    pins.pin('b', other);
    pins.pin('c', other);
    expect(pins.size).toBe(2);
    expect([pins.holds(pbx), pins.holds(other)]).toEqual([false, true]);
  });
});
