import { describe, expect, it } from 'vitest';
import { billedMinutes, ratePerMinute } from './rates.ts';

describe('ratePerMinute', () => {
  const deck = { '': 0.0045, '+44': 0.011, '+447': 0.05, '+1': 0.002 };

  it.each([
    ['+15550100000', 0.002],
    ['+442071234567', 0.011],
    ['+447700900123', 0.05],
    ['+33142685300', 0.0045],
    ['+4', 0.0045],
    ['+44', 0.011],
  ])('%s -> %s (longest prefix, "" default)', (number, rate) => {
    expect(ratePerMinute(deck, number)).toBe(rate);
  });

  it('does not depend on the order of the deck keys', () => {
    expect(ratePerMinute({ '+447': 0.05, '+44': 0.011, '': 1 }, '+447700900123')).toBe(0.05);
  });

  it('gives 0 when nothing matches and there is no default', () => {
    expect(ratePerMinute({ '+44': 0.011 }, '+15550100000')).toBe(0);
  });

  it('uses a 0 rate when the matching prefix says so', () => {
    expect(ratePerMinute({ '': 1, '+800': 0 }, '+80012345678')).toBe(0);
  });
});

describe('billedMinutes (per started minute)', () => {
  it.each([
    [0, 0],
    [0.2, 1],
    [1, 1],
    [59, 1],
    [60, 1],
    [60.001, 2],
    [61, 2],
    [120, 2],
    [121, 3],
    [3600, 60],
    [-5, 0],
    [Number.NaN, 0],
    [Number.POSITIVE_INFINITY, 0],
  ])('%s s -> %s min', (seconds, minutes) => {
    expect(billedMinutes(seconds)).toBe(minutes);
  });
});
