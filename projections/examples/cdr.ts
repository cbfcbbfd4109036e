/**
 * Example projection: call detail records for a billing system, one row per ended call, exported as
 * CSV (RFC 4180, header line, UTF-8, times ISO-8601 UTC) by `cdrCsv`. Load it with
 * `projections: [{ module: projections/examples/cdr.ts }]`; export with
 * `npx tsx projections/examples/cdr-export.ts --views <views.db> [--since ISO] [--until ISO] > cdr.csv`.
 *
 * Columns, in order:
 *   call_sid         the call (CA...)
 *   parent_call_sid  for a call a transfer created: the transferred call; empty otherwise
 *   transfer_sid     for such a call: the transfer (TR...) that created it
 *   trunk_sid        the trunk (TK...)
 *   direction        trunking-terminating (the PBX called out) | trunking-originating (a call to the PBX)
 *   from, to         the parties' numbers as the call log shows them
 *   start_time       when the call arrived (or, for a transfer's call, when the target answered)
 *   answer_time      empty when never answered
 *   end_time
 *   duration         seconds from answer to end, a started second counting; 0 when never answered
 *   status           completed | busy | failed | no-answer | canceled
 *   sip_status       the SIP final status that ended it, when one did
 *   transfers        REFERs accepted on this call
 */
import type { Database } from 'better-sqlite3';
import type { ProjectionDefinition } from '../api.ts';

const cdr = `
CREATE TABLE IF NOT EXISTS cdr (
  call_sid        TEXT    PRIMARY KEY,
  parent_call_sid TEXT,
  transfer_sid    TEXT,
  trunk_sid       TEXT    NOT NULL,
  direction       TEXT    NOT NULL,
  from_number     TEXT    NOT NULL,
  to_number       TEXT    NOT NULL,
  start_time      TEXT    NOT NULL,
  answer_time     TEXT,
  end_time        TEXT,
  duration        INTEGER,
  status          TEXT,
  sip_status      INTEGER,
  transfers       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS cdr_by_end ON cdr (end_time)`;

export const CDR_COLUMNS = [
  'call_sid',
  'parent_call_sid',
  'transfer_sid',
  'trunk_sid',
  'direction',
  'from',
  'to',
  'start_time',
  'answer_time',
  'end_time',
  'duration',
  'status',
  'sip_status',
  'transfers',
] as const;

const prepare = (db: Database) => ({
  start: db.prepare(
    `INSERT OR REPLACE INTO cdr (call_sid, parent_call_sid, transfer_sid, trunk_sid, direction, from_number,
       to_number, start_time, answer_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  answered: db.prepare('UPDATE cdr SET answer_time = ? WHERE call_sid = ? AND answer_time IS NULL'),
  answerTime: db.prepare<[string], { answer_time: string | null }>(
    'SELECT answer_time FROM cdr WHERE call_sid = ?',
  ),
  ended: db.prepare(
    'UPDATE cdr SET end_time = ?, duration = ?, status = ?, sip_status = ? WHERE call_sid = ?',
  ),
  transferred: db.prepare('UPDATE cdr SET transfers = transfers + 1 WHERE call_sid = ?'),
});

const cdrProjection = {
  name: 'cdr',
  version: 1,
  description: 'call detail records, one row per call, for CSV export',
  tables: { cdr },
  prepare,
  handlers: {
    CallReceived({ data: e }, s) {
      s.start.run(e.callSid, null, null, e.trunkSid, e.direction, e.from, e.to, e.at, null);
    },
    ChildCallStarted({ data: e }, s) {
      s.start.run(
        e.callSid,
        e.parentCallSid,
        e.transferSid,
        e.trunkSid,
        e.direction,
        e.from,
        e.to,
        e.at,
        e.at,
      );
    },
    CallAnswered({ data: e }, s) {
      s.answered.run(e.at, e.callSid);
    },
    ReferAccepted({ data: e }, s) {
      s.transferred.run(e.callSid);
    },
    CallEnded({ data: e }, s) {
      const answered = s.answerTime.get(e.callSid)?.answer_time;
      const ms = answered ? Date.parse(e.at) - Date.parse(answered) : 0;
      const duration = Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : 0;
      s.ended.run(e.at, duration, e.status, e.sipStatus ?? null, e.callSid);
    },
  },
} satisfies ProjectionDefinition<ReturnType<typeof prepare>>;

export default cdrProjection;

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
function field(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CDRs of calls that ended in [since, until), oldest first, as CSV with a header line. */
export function cdrCsv(db: Database, range: { since?: string; until?: string } = {}): string {
  const rows = db
    .prepare(
      `SELECT call_sid, parent_call_sid, transfer_sid, trunk_sid, direction, from_number AS "from",
         to_number AS "to", start_time, answer_time, end_time, duration, status, sip_status, transfers
       FROM cdr WHERE end_time IS NOT NULL AND end_time >= ? AND end_time < ? ORDER BY end_time, call_sid`,
    )
    .all(range.since ?? '', range.until ?? '\uffff') as Record<string, unknown>[];
  const lines = [
    CDR_COLUMNS.join(','),
    ...rows.map((row) => CDR_COLUMNS.map((c) => field(row[c])).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}
