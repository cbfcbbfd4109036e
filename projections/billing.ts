/**
 * Billing: per-call lines priced by projections/pricing.ts when a call ends, a per-call total (what the
 * call log shows as Price / PriceUnit) and a per-trunk, per-day summary (the day of the call's start,
 * UTC). Rates come from the trunk's events (`TrunkCreated` carries the rate deck), so a rebuild prices
 * every call as it was priced live; trunks stored before trunks were event-sourced fall back to the
 * config's rates when the projection is built with them.
 */
import type { Database } from 'better-sqlite3';
import { compileProjection, defineProjection, type Projection, type ProjectionDefinition } from './api.ts';
import { type ChargeLine, chargesFor, type ParentParties, type TrunkRates } from './pricing.ts';
import { type DataOf, secondsBetween } from './types.ts';

const billingRates = `
CREATE TABLE IF NOT EXISTS billing_rates (
  trunk_sid   TEXT PRIMARY KEY,
  currency    TEXT NOT NULL,
  origination TEXT NOT NULL, -- JSON rate deck
  termination TEXT NOT NULL
);
`;

const billingCalls = `
CREATE TABLE IF NOT EXISTS billing_calls (
  sid             TEXT    PRIMARY KEY,
  parent_call_sid TEXT,
  trunk_sid       TEXT    NOT NULL,
  direction       TEXT    NOT NULL,
  from_number     TEXT    NOT NULL,
  to_number       TEXT    NOT NULL,
  target_kind     TEXT,
  day             TEXT    NOT NULL,  -- UTC day of the start, YYYY-MM-DD
  start_time      TEXT    NOT NULL,
  answer_time     TEXT,
  end_time        TEXT,
  duration        INTEGER,
  minutes         INTEGER,           -- started minutes of the call's own duration
  amount_micros   INTEGER,           -- null until the call ends, or when no rates are known
  currency        TEXT
);
`;

const billingLines = `
CREATE TABLE IF NOT EXISTS billing_lines (
  call_sid      TEXT    NOT NULL,
  line          INTEGER NOT NULL,
  trunk_sid     TEXT    NOT NULL,
  day           TEXT    NOT NULL,
  kind          TEXT    NOT NULL,  -- termination | origination
  number        TEXT    NOT NULL,
  description   TEXT    NOT NULL,
  rate          REAL    NOT NULL,  -- per minute
  minutes       INTEGER NOT NULL,
  amount_micros INTEGER NOT NULL,
  currency      TEXT    NOT NULL,
  PRIMARY KEY (call_sid, line)
);
CREATE INDEX IF NOT EXISTS billing_lines_by_trunk_day ON billing_lines (trunk_sid, day);
`;

const billingDaily = `
CREATE TABLE IF NOT EXISTS billing_daily (
  trunk_sid     TEXT    NOT NULL,
  day           TEXT    NOT NULL,
  currency      TEXT    NOT NULL,
  calls         INTEGER NOT NULL,  -- calls with at least one billed line
  legs          INTEGER NOT NULL,  -- billed lines
  minutes       INTEGER NOT NULL,  -- sum of the lines' minutes
  amount_micros INTEGER NOT NULL,
  PRIMARY KEY (trunk_sid, day, currency)
);
`;

interface CallRow {
  sid: string;
  parent_call_sid: string | null;
  trunk_sid: string;
  direction: ParentParties['direction'];
  from_number: string;
  to_number: string;
  target_kind: 'sip' | 'pstn' | null;
  day: string;
  answer_time: string | null;
  end_time: string | null;
}

const prepare = (db: Database) => ({
  upsertRates: db.prepare(
    `INSERT INTO billing_rates (trunk_sid, currency, origination, termination) VALUES (?, ?, ?, ?)
     ON CONFLICT (trunk_sid) DO UPDATE SET currency = excluded.currency, origination = excluded.origination,
       termination = excluded.termination`,
  ),
  rates: db.prepare<[string], { currency: string; origination: string; termination: string }>(
    'SELECT currency, origination, termination FROM billing_rates WHERE trunk_sid = ?',
  ),
  insertCall: db.prepare(
    `INSERT OR REPLACE INTO billing_calls (sid, parent_call_sid, trunk_sid, direction, from_number, to_number,
       target_kind, day, start_time, answer_time)
     VALUES (@sid, @parent_call_sid, @trunk_sid, @direction, @from_number, @to_number, @target_kind, @day,
       @start_time, @answer_time)`,
  ),
  answered: db.prepare('UPDATE billing_calls SET answer_time = ? WHERE sid = ? AND end_time IS NULL'),
  call: db.prepare<[string], CallRow>('SELECT * FROM billing_calls WHERE sid = ?'),
  ended: db.prepare(
    `UPDATE billing_calls SET end_time = ?, duration = ?, minutes = ?, amount_micros = ?, currency = ?
     WHERE sid = ?`,
  ),
  insertLine: db.prepare(
    `INSERT OR REPLACE INTO billing_lines (call_sid, line, trunk_sid, day, kind, number, description, rate,
       minutes, amount_micros, currency)
     VALUES (@call_sid, @line, @trunk_sid, @day, @kind, @number, @description, @rate, @minutes,
       @amount_micros, @currency)`,
  ),
  addDaily: db.prepare(
    `INSERT INTO billing_daily (trunk_sid, day, currency, calls, legs, minutes, amount_micros)
     VALUES (@trunk_sid, @day, @currency, 1, @legs, @minutes, @amount_micros)
     ON CONFLICT (trunk_sid, day, currency) DO UPDATE SET calls = calls + 1, legs = legs + excluded.legs,
       minutes = minutes + excluded.minutes, amount_micros = amount_micros + excluded.amount_micros`,
  ),
});

type Statements = ReturnType<typeof prepare>;

export interface BillingProjectionOptions {
  /** Rates for trunks with no `TrunkCreated` before their calls (by TrunkSid), e.g. from the config. */
  fallbackRates?: Record<string, TrunkRates>;
}

function ratesOf(s: Statements, trunkSid: string, fallback: BillingProjectionOptions['fallbackRates']) {
  const row = s.rates.get(trunkSid);
  if (row) {
    return {
      currency: row.currency,
      origination: JSON.parse(row.origination),
      termination: JSON.parse(row.termination),
    } as TrunkRates;
  }
  return fallback?.[trunkSid];
}

function bill(s: Statements, e: DataOf<'CallEnded'>, options: BillingProjectionOptions): void {
  const call = s.call.get(e.callSid);
  if (!call || call.end_time) return;
  const duration = call.answer_time ? secondsBetween(call.answer_time, e.at) : 0;
  const rates = ratesOf(s, call.trunk_sid, options.fallbackRates);
  const parent = call.parent_call_sid ? s.call.get(call.parent_call_sid) : undefined;
  const lines: ChargeLine[] = rates
    ? chargesFor(
        {
          direction: call.direction,
          from: call.from_number,
          to: call.to_number,
          durationSeconds: duration,
          ...(call.target_kind ? { targetKind: call.target_kind } : {}),
        },
        rates,
        parent ? { direction: parent.direction, from: parent.from_number, to: parent.to_number } : undefined,
      )
    : [];
  const amount = lines.reduce((sum, l) => sum + l.amountMicros, 0);
  const minutes = lines.length > 0 ? lines[0]!.minutes : 0;
  s.ended.run(e.at, duration, minutes, rates ? amount : null, rates?.currency ?? null, call.sid);
  if (!rates || lines.length === 0) return;
  lines.forEach((l, index) => {
    s.insertLine.run({
      call_sid: call.sid,
      line: index + 1,
      trunk_sid: call.trunk_sid,
      day: call.day,
      kind: l.kind,
      number: l.number,
      description: l.description,
      rate: l.ratePerMinute,
      minutes: l.minutes,
      amount_micros: l.amountMicros,
      currency: rates.currency,
    });
  });
  s.addDaily.run({
    trunk_sid: call.trunk_sid,
    day: call.day,
    currency: rates.currency,
    legs: lines.length,
    minutes: lines.reduce((sum, l) => sum + l.minutes, 0),
    amount_micros: amount,
  });
}

export function createBillingDefinition(
  options: BillingProjectionOptions = {},
): ProjectionDefinition<Statements> {
  return defineProjection({
    name: 'billing',
    version: 1,
    description: 'per-call priced lines, per-call totals and per-trunk daily summaries',
    tables: {
      billing_rates: billingRates,
      billing_calls: billingCalls,
      billing_lines: billingLines,
      billing_daily: billingDaily,
    },
    prepare,
    handlers: {
      TrunkCreated({ data: e }, s) {
        s.upsertRates.run(
          e.trunkSid,
          e.rates.currency,
          JSON.stringify(e.rates.origination),
          JSON.stringify(e.rates.termination),
        );
      },
      CallReceived({ data: e }, s) {
        s.insertCall.run({
          sid: e.callSid,
          parent_call_sid: null,
          trunk_sid: e.trunkSid,
          direction: e.direction,
          from_number: e.from,
          to_number: e.to,
          target_kind: null,
          day: e.at.slice(0, 10),
          start_time: e.at,
          answer_time: null,
        });
      },
      ChildCallStarted({ data: e }, s) {
        s.insertCall.run({
          sid: e.callSid,
          parent_call_sid: e.parentCallSid,
          trunk_sid: e.trunkSid,
          direction: e.direction,
          from_number: e.from,
          to_number: e.to,
          target_kind: e.targetKind,
          day: e.at.slice(0, 10),
          start_time: e.at,
          answer_time: e.at,
        });
      },
      CallAnswered({ data: e }, s) {
        s.answered.run(e.at, e.callSid);
      },
      CallEnded({ data: e }, s) {
        bill(s, e, options);
      },
    },
  });
}

export function createBillingProjection(options: BillingProjectionOptions = {}): Projection {
  return compileProjection(createBillingDefinition(options));
}

/** Billing without fallback rates: every trunk's rates come from its events. */
export const billingProjection = createBillingProjection();
