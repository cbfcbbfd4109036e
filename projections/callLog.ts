/**
 * The call log: one row per call, as users know it from a provider's call log. A transferred call has
 * a child call (parent_call_sid = the original call) from the transferee to the target; its caller_id
 * is what the target was shown, chosen by the trunk's transferCallerId. An attended transfer that joined
 * the far parties of two pivot calls records the joined call as a child of the transferred call (A) with
 * joined_call_sid naming the replaced call (B), whose far leg it took over.
 *
 * Times are the engine's (`data.at`): start = CallReceived (or ChildCallStarted), answer = CallAnswered
 * (a child call is answered when it starts), end = CallEnded; duration = end - answer in whole seconds,
 * a started second counting, 0 when never answered. Price lives with billing (projections/billing.ts).
 */
import type { Database } from 'better-sqlite3';
import { compileProjection, defineProjection, type Projection } from './api.ts';
import { secondsBetween, userOf } from './types.ts';

const calls = `
CREATE TABLE IF NOT EXISTS calls (
  sid             TEXT    PRIMARY KEY,
  session_sid     TEXT    NOT NULL,  -- the root call: its stream holds this call's events
  parent_call_sid TEXT,
  transfer_sid    TEXT,              -- for a child call: the transfer that created it
  joined_call_sid TEXT,              -- for a joined call: the replaced call whose far party it joined
  trunk_sid       TEXT    NOT NULL,
  trunk_name      TEXT    NOT NULL,
  direction       TEXT    NOT NULL,  -- trunking-terminating | trunking-originating
  from_number     TEXT    NOT NULL,
  to_number       TEXT    NOT NULL,
  caller_id       TEXT    NOT NULL,  -- what the called party was shown
  target_kind     TEXT,              -- child calls: sip | pstn
  status          TEXT    NOT NULL,  -- ringing | in-progress | completed | busy | failed | no-answer | canceled
  sip_status      INTEGER,           -- the SIP final status that ended it, when one did
  start_time      TEXT    NOT NULL,
  answer_time     TEXT,
  end_time        TEXT,
  duration        INTEGER,           -- seconds, once ended
  transfers       INTEGER NOT NULL DEFAULT 0, -- REFERs accepted on this call
  position        INTEGER NOT NULL   -- $all position of the last event folded into the row
);
CREATE INDEX IF NOT EXISTS calls_by_start ON calls (start_time DESC, sid DESC);
CREATE INDEX IF NOT EXISTS calls_by_parent ON calls (parent_call_sid);
CREATE INDEX IF NOT EXISTS calls_by_joined ON calls (joined_call_sid);
CREATE INDEX IF NOT EXISTS calls_by_trunk ON calls (trunk_sid, start_time DESC);
CREATE INDEX IF NOT EXISTS calls_by_status ON calls (status);
`;

// Caller id the target INVITE carried, kept until the transfer's child call starts.
const callerIds = `
CREATE TABLE IF NOT EXISTS call_log_caller_ids (
  transfer_sid TEXT PRIMARY KEY,
  caller_id    TEXT NOT NULL
);
`;

const prepare = (db: Database) => ({
  insertCall: db.prepare(
    `INSERT OR REPLACE INTO calls (sid, session_sid, parent_call_sid, transfer_sid, joined_call_sid, trunk_sid,
       trunk_name, direction, from_number, to_number, caller_id, target_kind, status, start_time, answer_time, position)
     VALUES (@sid, @session_sid, @parent_call_sid, @transfer_sid, @joined_call_sid, @trunk_sid, @trunk_name, @direction,
       @from_number, @to_number, @caller_id, @target_kind, @status, @start_time, @answer_time, @position)`,
  ),
  answered: db.prepare(
    `UPDATE calls SET status = 'in-progress', answer_time = ?, position = ? WHERE sid = ? AND end_time IS NULL`,
  ),
  answerTime: db.prepare<[string], { answer_time: string | null }>(
    'SELECT answer_time FROM calls WHERE sid = ?',
  ),
  ended: db.prepare(
    `UPDATE calls SET status = ?, sip_status = ?, end_time = ?, duration = ?, position = ? WHERE sid = ?`,
  ),
  referAccepted: db.prepare('UPDATE calls SET transfers = transfers + 1, position = ? WHERE sid = ?'),
  rememberCallerId: db.prepare(
    'INSERT OR REPLACE INTO call_log_caller_ids (transfer_sid, caller_id) VALUES (?, ?)',
  ),
  callerId: db.prepare<[string], { caller_id: string }>(
    'SELECT caller_id FROM call_log_caller_ids WHERE transfer_sid = ?',
  ),
  forgetCallerId: db.prepare('DELETE FROM call_log_caller_ids WHERE transfer_sid = ?'),
});

export const callLogDefinition = defineProjection({
  name: 'callLog',
  // 2: a joined call (attended transfer) names the replaced call in joined_call_sid.
  version: 2,
  description: 'one row per call, parent and child calls, as a provider call log shows them',
  tables: { calls, call_log_caller_ids: callerIds },
  prepare,
  handlers: {
    CallReceived({ data: e, sessionSid, position }, s) {
      s.insertCall.run({
        sid: e.callSid,
        session_sid: sessionSid,
        parent_call_sid: null,
        transfer_sid: null,
        joined_call_sid: null,
        trunk_sid: e.trunkSid,
        trunk_name: e.trunkName,
        direction: e.direction,
        from_number: e.from,
        to_number: e.to,
        caller_id: e.from,
        target_kind: null,
        status: 'ringing',
        start_time: e.at,
        answer_time: null,
        position,
      });
    },
    ChildCallStarted({ data: e, sessionSid, position }, s) {
      const shown = s.callerId.get(e.transferSid)?.caller_id;
      s.forgetCallerId.run(e.transferSid);
      s.insertCall.run({
        sid: e.callSid,
        session_sid: sessionSid,
        parent_call_sid: e.parentCallSid,
        transfer_sid: e.transferSid,
        joined_call_sid: e.joinedCallSid ?? null,
        trunk_sid: e.trunkSid,
        trunk_name: e.trunkName,
        direction: e.direction,
        from_number: e.from,
        to_number: e.to,
        caller_id: shown ?? e.from,
        target_kind: e.targetKind,
        status: 'in-progress',
        start_time: e.at,
        answer_time: e.at,
        position,
      });
    },
    CallAnswered({ data: e, position }, s) {
      s.answered.run(e.at, position, e.callSid);
    },
    CallEnded({ data: e, position }, s) {
      const answeredAt = s.answerTime.get(e.callSid)?.answer_time;
      const duration = answeredAt ? secondsBetween(answeredAt, e.at) : 0;
      s.ended.run(e.status, e.sipStatus ?? null, e.at, duration, position, e.callSid);
    },
    ReferAccepted({ data: e, position }, s) {
      s.referAccepted.run(position, e.callSid);
    },
    TargetInvited({ data: e }, s) {
      s.rememberCallerId.run(e.transferSid, userOf(e.from.uri));
    },
    TransferFailed({ data: e }, s) {
      s.forgetCallerId.run(e.transferSid);
    },
  },
});

export const callLogProjection: Projection = compileProjection(callLogDefinition);
