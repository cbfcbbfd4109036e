/**
 * Reads of the read models, shaped as API resources (provider-style property names). The call resource
 * joins the call log with billing (Price / PriceUnit and the billing lines), read at request time.
 */
import type { Database } from 'better-sqlite3';
import { MICROS } from '../../projections/pricing.ts';
import type { Paging } from './paging.ts';

type Row = Record<string, unknown>;

const amount = (micros: unknown) => (typeof micros === 'number' ? micros / MICROS : null);

/** Builds `WHERE a = ? AND b >= ?` from the filters that are set. */
function where(filters: [sql: string, value: unknown][]): { sql: string; params: unknown[] } {
  const set = filters.filter(([, value]) => value !== undefined);
  return {
    sql: set.length > 0 ? `WHERE ${set.map(([sql]) => sql).join(' AND ')}` : '',
    params: set.map(([, value]) => value),
  };
}

export function billingLineResource(row: Row) {
  return {
    CallSid: row.call_sid,
    Line: row.line,
    TrunkSid: row.trunk_sid,
    Day: row.day,
    Kind: row.kind,
    Number: row.number,
    Description: row.description,
    RatePerMinute: row.rate,
    Minutes: row.minutes,
    Amount: amount(row.amount_micros),
    Currency: row.currency,
  };
}

function callResource(row: Row, lines: Row[]) {
  const uri = `/v1/Calls/${row.sid}`;
  return {
    Sid: row.sid,
    ParentCallSid: row.parent_call_sid,
    TransferSid: row.transfer_sid,
    JoinedCallSid: row.joined_call_sid,
    TrunkSid: row.trunk_sid,
    TrunkName: row.trunk_name,
    Direction: row.direction,
    From: row.from_number,
    To: row.to_number,
    CallerId: row.caller_id,
    TargetKind: row.target_kind,
    Status: row.status,
    SipResponseCode: row.sip_status,
    StartTime: row.start_time,
    AnswerTime: row.answer_time,
    EndTime: row.end_time,
    Duration: row.duration,
    Price: amount(row.amount_micros),
    PriceUnit: row.currency ?? null,
    TransfersAccepted: row.transfers,
    BillingLines: lines.map(billingLineResource),
    Uri: uri,
    SubresourceUris: { Events: `${uri}/Events`, Replay: `${uri}/Replay` },
  };
}

export interface CallFilters {
  ParentCallSid?: string;
  TrunkSid?: string;
  Status?: string;
  Direction?: string;
  From?: string;
  To?: string;
  StartTimeAfter?: string;
  StartTimeBefore?: string;
}

const CALL_SELECT = `SELECT c.*, b.amount_micros, b.currency FROM calls c LEFT JOIN billing_calls b ON b.sid = c.sid`;

function linesFor(db: Database, sids: unknown[]): Map<unknown, Row[]> {
  const bySid = new Map<unknown, Row[]>();
  if (sids.length === 0) return bySid;
  const rows = db
    .prepare(
      `SELECT * FROM billing_lines WHERE call_sid IN (${sids.map(() => '?').join(',')}) ORDER BY call_sid, line`,
    )
    .all(...sids) as Row[];
  for (const row of rows) bySid.set(row.call_sid, [...(bySid.get(row.call_sid) ?? []), row]);
  return bySid;
}

export function listCalls(db: Database, filters: CallFilters, paging: Paging) {
  const w = where([
    ['c.parent_call_sid = ?', filters.ParentCallSid],
    ['c.trunk_sid = ?', filters.TrunkSid],
    ['c.status = ?', filters.Status],
    ['c.direction = ?', filters.Direction],
    ['c.from_number = ?', filters.From],
    ['c.to_number = ?', filters.To],
    ['c.start_time >= ?', filters.StartTimeAfter],
    ['c.start_time < ?', filters.StartTimeBefore],
  ]);
  const rows = db
    .prepare(`${CALL_SELECT} ${w.sql} ORDER BY c.start_time DESC, c.sid DESC LIMIT ? OFFSET ?`)
    .all(...w.params, paging.limit, paging.offset) as Row[];
  const lines = linesFor(
    db,
    rows.map((r) => r.sid),
  );
  return rows.map((row) => callResource(row, lines.get(row.sid) ?? []));
}

export function getCall(db: Database, sid: string) {
  const row = db.prepare(`${CALL_SELECT} WHERE c.sid = ?`).get(sid) as Row | undefined;
  if (!row) return undefined;
  return {
    resource: callResource(row, linesFor(db, [sid]).get(sid) ?? []),
    sessionSid: row.session_sid as string,
  };
}

function transferResource(row: Row) {
  return {
    Sid: row.sid,
    CallSid: row.call_sid,
    Kind: row.kind,
    ReplacedCallSid: row.replaced_call_sid,
    ChildCallSid: row.child_call_sid,
    TrunkSid: row.trunk_sid,
    ReferredBy: row.referred_by,
    ReferTo: row.refer_to,
    TargetKind: row.target_kind,
    TargetUri: row.target_uri,
    CallerId: row.caller_id,
    TransferMode: row.transfer_mode,
    TransferCallerId: row.transfer_caller_id,
    Outcome: row.outcome,
    ReferStatus: row.refer_status,
    TargetStatus: row.target_status,
    RejectionReason: row.rejection_reason,
    FailureReason: row.failure_reason,
    ReferTime: row.refer_time,
    AcceptTime: row.accept_time,
    AnswerTime: row.answer_time,
    EndTime: row.end_time,
    Refer202Ms: row.refer_to_202_ms,
    ReferAnswerMs: row.refer_to_answer_ms,
    Uri: `/v1/Transfers/${row.sid}`,
  };
}

export function getTransfer(db: Database, sid: string) {
  const row = db.prepare('SELECT * FROM transfers WHERE sid = ?').get(sid) as Row | undefined;
  return row ? transferResource(row) : undefined;
}

export function listTransfers(
  db: Database,
  filters: { CallSid?: string; TrunkSid?: string; Outcome?: string },
  paging: Paging,
) {
  const w = where([
    ['call_sid = ?', filters.CallSid],
    ['trunk_sid = ?', filters.TrunkSid],
    ['outcome = ?', filters.Outcome],
  ]);
  return (
    db
      .prepare(`SELECT * FROM transfers ${w.sql} ORDER BY refer_time DESC, sid DESC LIMIT ? OFFSET ?`)
      .all(...w.params, paging.limit, paging.offset) as Row[]
  ).map(transferResource);
}

export interface BillingFilters {
  TrunkSid?: string;
  StartDate?: string;
  EndDate?: string;
  CallSid?: string;
}

export function billingSummary(db: Database, filters: BillingFilters) {
  const w = where([
    ['trunk_sid = ?', filters.TrunkSid],
    ['day >= ?', filters.StartDate],
    ['day <= ?', filters.EndDate],
  ]);
  const days = db
    .prepare(`SELECT * FROM billing_daily ${w.sql} ORDER BY day, trunk_sid, currency`)
    .all(...w.params) as Row[];
  const totals = db
    .prepare(
      `SELECT trunk_sid, currency, sum(calls) AS calls, sum(legs) AS legs, sum(minutes) AS minutes,
         sum(amount_micros) AS amount_micros
       FROM billing_daily ${w.sql} GROUP BY trunk_sid, currency ORDER BY trunk_sid, currency`,
    )
    .all(...w.params) as Row[];
  return {
    Days: days.map((d) => ({
      TrunkSid: d.trunk_sid,
      Day: d.day,
      Currency: d.currency,
      Calls: d.calls,
      Legs: d.legs,
      Minutes: d.minutes,
      Amount: amount(d.amount_micros),
    })),
    Totals: totals.map((t) => ({
      TrunkSid: t.trunk_sid,
      Currency: t.currency,
      Calls: t.calls,
      Legs: t.legs,
      Minutes: t.minutes,
      Amount: amount(t.amount_micros),
    })),
  };
}

export function listBillingLines(db: Database, filters: BillingFilters, paging: Paging) {
  const w = where([
    ['trunk_sid = ?', filters.TrunkSid],
    ['call_sid = ?', filters.CallSid],
    ['day >= ?', filters.StartDate],
    ['day <= ?', filters.EndDate],
  ]);
  return (
    db
      .prepare(`SELECT * FROM billing_lines ${w.sql} ORDER BY day DESC, call_sid DESC, line LIMIT ? OFFSET ?`)
      .all(...w.params, paging.limit, paging.offset) as Row[]
  ).map(billingLineResource);
}

export interface AuditFilters {
  TrunkSid?: string;
  CallSid?: string;
  Kind?: string;
  After?: string;
  Before?: string;
}

export function listAudit(db: Database, filters: AuditFilters, paging: Paging) {
  const w = where([
    ['trunk_sid = ?', filters.TrunkSid],
    ['call_sid = ?', filters.CallSid],
    ['kind = ?', filters.Kind],
    ['at >= ?', filters.After],
    ['at < ?', filters.Before],
  ]);
  return (
    db
      .prepare(`SELECT * FROM audit ${w.sql} ORDER BY position DESC LIMIT ? OFFSET ?`)
      .all(...w.params, paging.limit, paging.offset) as Row[]
  ).map((row) => ({
    Position: row.position,
    At: row.at,
    Kind: row.kind,
    Action: row.action,
    TrunkSid: row.trunk_sid,
    CallSid: row.call_sid,
    TransferSid: row.transfer_sid,
    JoinedCallSid: row.joined_call_sid,
    What: row.what,
    Why: row.why,
    By: row.by,
    Details: JSON.parse(row.details as string),
  }));
}
