/**
 * Transfers: one row per REFER the pivot decided on — who referred whom to what, the outcome
 * (pending | completed | failed | rejected), the target's final status and the two latencies users ask
 * about: REFER -> 202 (ReferAccepted.at - ReferReceived.at, the engine's decision time) and
 * REFER -> answer (TargetAnswered.at - ReferReceived.at, what the far party waited on hold).
 */
import type { Database } from 'better-sqlite3';
import { compileProjection, defineProjection, type Projection } from './api.ts';
import { callTrunks } from './callTrunks.ts';
import { millisBetween, userOf } from './types.ts';

const transfers = `
CREATE TABLE IF NOT EXISTS transfers (
  sid                TEXT    PRIMARY KEY,
  call_sid           TEXT    NOT NULL,
  session_sid        TEXT    NOT NULL,
  trunk_sid          TEXT,
  child_call_sid     TEXT,              -- once completed
  kind               TEXT    NOT NULL,  -- blind | attended (the Refer-To carried Replaces)
  replaced_call_sid  TEXT,              -- attended: the pivot call the Replaces named, when it is one
  referred_by        TEXT,
  refer_to           TEXT    NOT NULL,  -- the Refer-To URI (as accepted; as received when rejected)
  target_kind        TEXT,              -- sip | pstn
  target_uri         TEXT,              -- Request-URI of the target INVITE
  caller_id          TEXT,              -- what the target was shown (transferCallerId)
  transfer_mode      TEXT    NOT NULL,  -- the trunk policy in force when the REFER arrived
  transfer_caller_id TEXT    NOT NULL,
  outcome            TEXT    NOT NULL,  -- pending | completed | failed | rejected
  refer_status       INTEGER,           -- 202, or the status the REFER was refused with
  target_status      INTEGER,           -- the target's final status (408 when it never answered)
  rejection_reason   TEXT,
  failure_reason     TEXT,
  refer_time         TEXT    NOT NULL,
  accept_time        TEXT,
  answer_time        TEXT,
  end_time           TEXT,
  refer_to_202_ms    INTEGER,
  refer_to_answer_ms INTEGER,
  position           INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_by_call ON transfers (call_sid);
CREATE INDEX IF NOT EXISTS transfers_by_trunk ON transfers (trunk_sid, refer_time DESC);
CREATE INDEX IF NOT EXISTS transfers_by_time ON transfers (refer_time DESC, sid DESC);
`;

// Which trunk each live call is on (REFER events name the call, not the trunk).
const trunks = callTrunks('transfer_call_trunks');

const prepare = (db: Database) => ({
  ...trunks.prepare(db),
  insert: db.prepare(
    `INSERT OR REPLACE INTO transfers (sid, call_sid, session_sid, trunk_sid, kind, replaced_call_sid, referred_by,
       refer_to, transfer_mode, transfer_caller_id, outcome, refer_time, position)
     VALUES (@sid, @call_sid, @session_sid, @trunk_sid, @kind, @replaced_call_sid, @referred_by, @refer_to, @transfer_mode,
       @transfer_caller_id, 'pending', @refer_time, @position)`,
  ),
  referTime: db.prepare<[string], { refer_time: string }>('SELECT refer_time FROM transfers WHERE sid = ?'),
  accepted: db.prepare(
    `UPDATE transfers SET refer_status = 202, accept_time = @at, refer_to = @refer_to, target_kind = @kind,
       referred_by = coalesce(@referred_by, referred_by), refer_to_202_ms = @ms, position = @position
     WHERE sid = @sid`,
  ),
  rejected: db.prepare(
    `UPDATE transfers SET outcome = 'rejected', refer_status = ?, rejection_reason = ?, end_time = ?,
       position = ? WHERE sid = ?`,
  ),
  invited: db.prepare('UPDATE transfers SET target_uri = ?, caller_id = ?, position = ? WHERE sid = ?'),
  // A 200 that crosses the CANCEL arrives after the transfer failed; the pivot ACKs and BYEs it, and
  // the row keeps the status the transfer failed with.
  answered: db.prepare(
    `UPDATE transfers SET target_status = ?, answer_time = ?, refer_to_answer_ms = ?, position = ?
     WHERE sid = ? AND outcome = 'pending'`,
  ),
  targetFailed: db.prepare('UPDATE transfers SET target_status = ?, position = ? WHERE sid = ?'),
  completed: db.prepare(
    `UPDATE transfers SET outcome = 'completed', child_call_sid = ?,
       replaced_call_sid = coalesce(?, replaced_call_sid), end_time = ?, position = ? WHERE sid = ?`,
  ),
  failed: db.prepare(
    `UPDATE transfers SET outcome = 'failed', target_status = coalesce(target_status, ?), failure_reason = ?,
       end_time = ?, position = ? WHERE sid = ?`,
  ),
});

export const transfersDefinition = defineProjection({
  name: 'transfers',
  // 2: a late 200 after the transfer failed no longer overwrites its target status.
  // 3: the kind (blind | attended) and the replaced call of an attended transfer.
  version: 3,
  description: 'one row per REFER: parties, outcome, target status, REFER -> 202 and REFER -> answer latency',
  tables: { transfers, transfer_call_trunks: trunks.table },
  prepare,
  handlers: {
    ...trunks.handlers,
    ReferReceived({ data: e, sessionSid, position }, s) {
      s.insert.run({
        sid: e.transferSid,
        call_sid: e.callSid,
        session_sid: sessionSid,
        trunk_sid: s.trunkOf.get(e.callSid)?.trunk_sid ?? null,
        kind: e.replaces ? 'attended' : 'blind',
        replaced_call_sid: e.replaced?.callSid ?? null,
        referred_by: e.referredBy ?? null,
        refer_to: e.referTo.join(', '),
        transfer_mode: e.policy.transferMode,
        transfer_caller_id: e.policy.transferCallerId,
        refer_time: e.at,
        position,
      });
    },
    ReferAccepted({ data: e, position }, s) {
      const referredAt = s.referTime.get(e.transferSid)?.refer_time ?? e.at;
      s.accepted.run({
        sid: e.transferSid,
        at: e.at,
        refer_to: e.referTo,
        kind: e.targetKind,
        referred_by: e.referredBy ?? null,
        ms: millisBetween(referredAt, e.at),
        position,
      });
    },
    ReferRejected({ data: e, position }, s) {
      s.rejected.run(e.status, e.reason, e.at, position, e.transferSid);
    },
    TargetInvited({ data: e, position }, s) {
      s.invited.run(e.uri, userOf(e.from.uri), position, e.transferSid);
    },
    TargetAnswered({ data: e, position }, s) {
      const referredAt = s.referTime.get(e.transferSid)?.refer_time ?? e.at;
      s.answered.run(e.status, e.at, millisBetween(referredAt, e.at), position, e.transferSid);
    },
    TargetFailed({ data: e, position }, s) {
      s.targetFailed.run(e.status, position, e.transferSid);
    },
    TransferCompleted({ data: e, position }, s) {
      s.completed.run(e.childCallSid, e.joinedCallSid ?? null, e.at, position, e.transferSid);
    },
    TransferFailed({ data: e, position }, s) {
      const why = [
        e.reason,
        e.transferorGone ? 'transferor hung up' : '',
        e.transfereeGone ? 'transferee hung up' : '',
      ]
        .filter(Boolean)
        .join('; ');
      s.failed.run(e.status, why, e.at, position, e.transferSid);
    },
  },
});

export const transfersProjection: Projection = compileProjection(transfersDefinition);
