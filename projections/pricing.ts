/**
 * What a call costs (docs/architecture.md "Billing"). Pure. The transfer itself is free; each leg is billed per
 * started minute at the trunk's rate deck, longest prefix of the number winning:
 *
 * | original call    | target | child call billed as                                        |
 * |------------------|--------|-------------------------------------------------------------|
 * | terminating A->B | SIP C  | termination (to B) x child duration                         |
 * | terminating A->B | PSTN C | termination (to B) + termination (to C), each x child dur.  |
 * | originating A->B | SIP C  | origination (from A) x child duration                       |
 * | originating A->B | PSTN C | origination (from A) + termination (to C), each x child dur.|
 *
 * An original call is billed as a normal call for its own duration: terminating at the termination
 * rate of `to`, originating at the origination rate of `from`.
 *
 * Amounts are kept in micro-units of the currency (integers), so sums never drift.
 */

import type { Direction } from '../machines/events.ts';
import { billedMinutes, type RateDeck, ratePerMinute } from '../machines/rates.ts';

export interface TrunkRates {
  currency: string;
  origination: RateDeck;
  termination: RateDeck;
}

export interface BillableCall {
  direction: Direction;
  from: string;
  to: string;
  /** Set for a child call (the transferee bridged to a transfer target). */
  targetKind?: 'sip' | 'pstn';
  durationSeconds: number;
}

/** The original call's parties, for a child call: A (`from`) and B (`to`). */
export interface ParentParties {
  direction: Direction;
  from: string;
  to: string;
}

export interface ChargeLine {
  kind: 'termination' | 'origination';
  /** The number the rate was looked up for. */
  number: string;
  /** Why this leg is billed, for people: `termination to B`, `origination from A`, ... */
  description: string;
  ratePerMinute: number;
  minutes: number;
  amountMicros: number;
}

export const MICROS = 1_000_000;

/** A per-minute rate in micro-units (rates are quoted with at most 6 decimals). */
function micros(rate: number): number {
  return Math.round(rate * MICROS);
}

function line(
  rates: TrunkRates,
  kind: ChargeLine['kind'],
  number: string,
  description: string,
  minutes: number,
): ChargeLine {
  const rate = ratePerMinute(kind === 'termination' ? rates.termination : rates.origination, number);
  return { kind, number, description, ratePerMinute: rate, minutes, amountMicros: micros(rate) * minutes };
}

/**
 * The lines a finished call is billed with; none when it never connected (0 minutes). `parent` is the
 * original call of a child call; without it the child's own `from` (the transferee) stands in for B / A.
 */
export function chargesFor(call: BillableCall, rates: TrunkRates, parent?: ParentParties): ChargeLine[] {
  const minutes = billedMinutes(call.durationSeconds);
  if (minutes === 0) return [];
  if (call.targetKind === undefined) {
    return call.direction === 'trunking-terminating'
      ? [line(rates, 'termination', call.to, 'termination to the called number', minutes)]
      : [line(rates, 'origination', call.from, 'origination from the calling number', minutes)];
  }
  const original = parent ?? { direction: call.direction, from: call.from, to: call.from };
  const lines =
    original.direction === 'trunking-terminating'
      ? [
          line(
            rates,
            'termination',
            original.to,
            'transferred call: termination to the original callee',
            minutes,
          ),
        ]
      : [
          line(
            rates,
            'origination',
            original.from,
            'transferred call: origination from the original caller',
            minutes,
          ),
        ];
  if (call.targetKind === 'pstn') {
    lines.push(
      line(rates, 'termination', call.to, 'transferred call: termination to the PSTN target', minutes),
    );
  }
  return lines;
}

/** The sum of lines, in currency units. */
export function totalOf(lines: ChargeLine[]): number {
  return lines.reduce((sum, l) => sum + l.amountMicros, 0) / MICROS;
}
