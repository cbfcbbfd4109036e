/**
 * Example projection: transfer statistics per agent, the agent being who the PBX named in the REFER's
 * Referred-By header (its user part: `sip:2001@pbx` -> `2001`; `unknown` when the REFER had none).
 *
 * Load it with `projections: [{ module: projections/examples/agent-stats.ts }]` and query it with
 * `SELECT * FROM agent_transfers ORDER BY requested DESC` in the views database. It only imports
 * types from the pivot, as a projection kept outside the pivot's source would.
 *
 * agent_transfers: agent, requested (REFERs received), accepted (202), rejected (refused), completed
 * (the target answered and the parties were bridged), failed (accepted but not completed), to_pstn /
 * to_sip (accepted, by target kind), answered (targets that answered), answer_ms_total (sum of REFER ->
 * target answer, so answer_ms_total / answered is the mean wait on hold), first_refer_at, last_refer_at.
 */
import type { Database } from 'better-sqlite3';
import type { ProjectionDefinition } from '../api.ts';

const agentTransfers = `
CREATE TABLE IF NOT EXISTS agent_transfers (
  agent           TEXT    PRIMARY KEY,
  requested       INTEGER NOT NULL DEFAULT 0,
  accepted        INTEGER NOT NULL DEFAULT 0,
  rejected        INTEGER NOT NULL DEFAULT 0,
  completed       INTEGER NOT NULL DEFAULT 0,
  failed          INTEGER NOT NULL DEFAULT 0,
  to_pstn         INTEGER NOT NULL DEFAULT 0,
  to_sip          INTEGER NOT NULL DEFAULT 0,
  answered        INTEGER NOT NULL DEFAULT 0,
  answer_ms_total INTEGER NOT NULL DEFAULT 0,
  first_refer_at  TEXT    NOT NULL,
  last_refer_at   TEXT    NOT NULL
)`;

// Which agent asked for each transfer still in flight (later events name the transfer, not the agent).
const pending = `
CREATE TABLE IF NOT EXISTS agent_transfer_refers (
  transfer_sid TEXT PRIMARY KEY,
  agent        TEXT NOT NULL,
  refer_time   TEXT NOT NULL
)`;

/** The user part of a Referred-By value (`"Alice" <sip:2001@pbx;x=y>` -> `2001`). */
export function agentOf(referredBy: string | undefined): string {
  if (!referredBy) return 'unknown';
  const match = /(?:sips?|tel):([^@;>]+)/i.exec(referredBy);
  return match?.[1] ?? referredBy;
}

const prepare = (db: Database) => ({
  requested: db.prepare(
    `INSERT INTO agent_transfers (agent, requested, first_refer_at, last_refer_at) VALUES (?, 1, ?, ?)
     ON CONFLICT (agent) DO UPDATE SET requested = requested + 1, last_refer_at = excluded.last_refer_at`,
  ),
  remember: db.prepare(
    'INSERT OR REPLACE INTO agent_transfer_refers (transfer_sid, agent, refer_time) VALUES (?, ?, ?)',
  ),
  refer: db.prepare<[string], { agent: string; refer_time: string }>(
    'SELECT agent, refer_time FROM agent_transfer_refers WHERE transfer_sid = ?',
  ),
  forget: db.prepare('DELETE FROM agent_transfer_refers WHERE transfer_sid = ?'),
  accepted: db.prepare(
    `UPDATE agent_transfers SET accepted = accepted + 1, to_pstn = to_pstn + ?, to_sip = to_sip + ?
     WHERE agent = ?`,
  ),
  rejected: db.prepare('UPDATE agent_transfers SET rejected = rejected + 1 WHERE agent = ?'),
  answered: db.prepare(
    'UPDATE agent_transfers SET answered = answered + 1, answer_ms_total = answer_ms_total + ? WHERE agent = ?',
  ),
  completed: db.prepare('UPDATE agent_transfers SET completed = completed + 1 WHERE agent = ?'),
  failed: db.prepare('UPDATE agent_transfers SET failed = failed + 1 WHERE agent = ?'),
});

type Statements = ReturnType<typeof prepare>;

/** A transfer's end, counted by `outcome` against the agent who asked for it; then forgotten. */
function ended(s: Statements, transferSid: string, outcome: 'rejected' | 'completed' | 'failed'): void {
  const refer = s.refer.get(transferSid);
  if (refer) s[outcome].run(refer.agent);
  s.forget.run(transferSid);
}

const agentStats = {
  name: 'agentStats',
  version: 1,
  description: 'transfers per agent (Referred-By): requested, accepted, rejected, completed, failed',
  tables: { agent_transfers: agentTransfers, agent_transfer_refers: pending },
  prepare,
  handlers: {
    ReferReceived({ data: e }, s) {
      const agent = agentOf(e.referredBy);
      s.requested.run(agent, e.at, e.at);
      s.remember.run(e.transferSid, agent, e.at);
    },
    ReferAccepted({ data: e }, s) {
      const refer = s.refer.get(e.transferSid);
      if (refer) s.accepted.run(e.targetKind === 'pstn' ? 1 : 0, e.targetKind === 'sip' ? 1 : 0, refer.agent);
    },
    ReferRejected({ data: e }, s) {
      ended(s, e.transferSid, 'rejected');
    },
    TargetAnswered({ data: e }, s) {
      const refer = s.refer.get(e.transferSid);
      if (!refer) return;
      const waited = Math.max(0, Date.parse(e.at) - Date.parse(refer.refer_time));
      s.answered.run(Number.isFinite(waited) ? waited : 0, refer.agent);
    },
    TransferCompleted({ data: e }, s) {
      ended(s, e.transferSid, 'completed');
    },
    TransferFailed({ data: e }, s) {
      ended(s, e.transferSid, 'failed');
    },
  },
} satisfies ProjectionDefinition<Statements>;

export default agentStats;
