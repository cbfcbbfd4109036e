/**
 * The audit view: every trunk change, transfer decision and API key created or revoked, with what,
 * when and why (and who: the API key or operating-system user that made a change). One row per event that is such a change or decision, keyed by its `$all`
 * position, so the view reads in the order things happened.
 */
import type { Database } from 'better-sqlite3';
import type { RecordedEvent } from '../src/store/port.ts';
import type { TrunkEvent } from '../src/trunks/events.ts';
import { compileProjection, defineProjection, type HandledEvent, type Projection } from './api.ts';
import { callTrunks } from './callTrunks.ts';
import type { DataOf } from './types.ts';

const audit = `
CREATE TABLE IF NOT EXISTS audit (
  position     INTEGER PRIMARY KEY,
  at           TEXT    NOT NULL,
  kind         TEXT    NOT NULL,  -- trunk | transfer | key
  action       TEXT    NOT NULL,  -- the event type: TrunkCreated, ReferAccepted, TransferFailed, ...
  trunk_sid    TEXT,
  call_sid     TEXT,
  transfer_sid TEXT,
  what         TEXT    NOT NULL,
  why          TEXT    NOT NULL,
  by           TEXT,
  details      TEXT    NOT NULL   -- JSON: the values the decision was made on
);
CREATE INDEX IF NOT EXISTS audit_by_trunk ON audit (trunk_sid, position);
CREATE INDEX IF NOT EXISTS audit_by_call ON audit (call_sid, position);
CREATE INDEX IF NOT EXISTS audit_by_at ON audit (at);
`;

// Live calls' trunks, and the policy each pending REFER was judged with.
const trunks = callTrunks('audit_call_trunks');

const refers = `
CREATE TABLE IF NOT EXISTS audit_refers (
  transfer_sid TEXT PRIMARY KEY,
  trunk_sid    TEXT,
  refer_to     TEXT NOT NULL,
  policy       TEXT NOT NULL  -- JSON: transferMode, transferCallerId, maxTransfersPerCall
);
`;

interface Row {
  position: number;
  at: string;
  kind: 'trunk' | 'transfer' | 'key';
  action: string;
  trunk_sid: string | null;
  call_sid: string | null;
  transfer_sid: string | null;
  what: string;
  why: string;
  by: string | null;
  details: string;
}

const prepare = (db: Database) => ({
  insert: db.prepare<[Row]>(
    `INSERT OR REPLACE INTO audit (position, at, kind, action, trunk_sid, call_sid, transfer_sid, what, why, by,
       details)
     VALUES (@position, @at, @kind, @action, @trunk_sid, @call_sid, @transfer_sid, @what, @why, @by, @details)`,
  ),
  ...trunks.prepare(db),
  rememberRefer: db.prepare(
    'INSERT OR REPLACE INTO audit_refers (transfer_sid, trunk_sid, refer_to, policy) VALUES (?, ?, ?, ?)',
  ),
  refer: db.prepare<[string], { trunk_sid: string | null; refer_to: string; policy: string }>(
    'SELECT trunk_sid, refer_to, policy FROM audit_refers WHERE transfer_sid = ?',
  ),
  forgetRefer: db.prepare('DELETE FROM audit_refers WHERE transfer_sid = ?'),
});

type Statements = ReturnType<typeof prepare>;

function trunkRow(event: RecordedEvent): Row {
  const e = { ...(event.data as object), type: event.type } as TrunkEvent;
  const base = {
    position: event.position,
    at: e.at,
    kind: 'trunk' as const,
    action: e.type,
    trunk_sid: e.trunkSid,
    call_sid: null,
    transfer_sid: null,
    by: e.by ?? null,
  };
  const why = e.reason ?? 'no reason given';
  switch (e.type) {
    case 'TrunkCreated': {
      const { type: _, at: _a, reason: _r, by: _b, ...details } = e;
      return {
        ...base,
        what: `trunk ${e.name} created (transferMode ${e.transferMode}, transferCallerId ${e.transferCallerId})`,
        why:
          e.reason ??
          (e.source === 'config' ? 'seeded from the configuration file' : 'created through the API'),
        details: JSON.stringify(details),
      };
    }
    case 'TrunkTransferModeChanged':
      return {
        ...base,
        what: `trunk ${e.name}: transferMode ${e.previous} -> ${e.transferMode}`,
        why,
        details: JSON.stringify({ previous: e.previous, transferMode: e.transferMode }),
      };
    case 'TrunkCallerIdModeChanged':
      return {
        ...base,
        what: `trunk ${e.name}: transferCallerId ${e.previous} -> ${e.transferCallerId}`,
        why,
        details: JSON.stringify({ previous: e.previous, transferCallerId: e.transferCallerId }),
      };
    case 'TrunkAclChanged':
      return {
        ...base,
        what: `trunk ${e.name}: acl ${e.previous.join(',')} -> ${e.acl.join(',')}`,
        why,
        details: JSON.stringify({ previous: e.previous, acl: e.acl }),
      };
    case 'TrunkTransferLimitChanged':
      return {
        ...base,
        what: `trunk ${e.name}: maxTransfersPerCall ${e.previous} -> ${e.maxTransfersPerCall}`,
        why,
        details: JSON.stringify({ previous: e.previous, maxTransfersPerCall: e.maxTransfersPerCall }),
      };
    case 'TrunkCpsLimitChanged':
      return {
        ...base,
        what: `trunk ${e.name}: cpsLimit ${e.previous ?? 'none'} -> ${e.cpsLimit ?? 'none'}`,
        why,
        details: JSON.stringify({ previous: e.previous, cpsLimit: e.cpsLimit }),
      };
    case 'TrunkTlsClientChanged':
      return {
        ...base,
        what: `trunk ${e.name}: tlsClient ${clientText(e.previous)} -> ${clientText(e.tlsClient)}`,
        why,
        details: JSON.stringify({ previous: e.previous, tlsClient: e.tlsClient }),
      };
  }
}

function clientText(client: { fingerprints?: string[]; names?: string[] } | null): string {
  if (!client) return 'none';
  return [...(client.fingerprints ?? []), ...(client.names ?? [])].join(',');
}

const RELEASED_BECAUSE: Record<DataOf<'TargetReleased'>['why'], string> = {
  'late-answer': 'the target answered after the transfer had failed (its 200 crossed the CANCEL)',
  'reconnect-refused': 'the transferee refused to be reconnected to the target',
  'transferee-hung-up': 'the transferee hung up while being reconnected to the target',
};

/** Adds the audit row of a transfer decision; returns the REFER it decided on, when known. */
function transferRow(
  s: Statements,
  event: HandledEvent<
    'ReferAccepted' | 'ReferRejected' | 'TransferCompleted' | 'TargetReleased' | 'TransferFailed'
  >,
  what: string,
  why: string,
  details: object,
) {
  const e = event.data;
  const refer = s.refer.get(e.transferSid);
  const row: Row = {
    position: event.position,
    at: e.at,
    kind: 'transfer',
    action: event.type,
    trunk_sid: refer?.trunk_sid ?? s.trunkOf.get(e.callSid)?.trunk_sid ?? null,
    call_sid: e.callSid,
    transfer_sid: e.transferSid,
    what,
    why,
    by: null,
    details: JSON.stringify({ ...(refer ? { policy: JSON.parse(refer.policy) } : {}), ...details }),
  };
  s.insert.run(row);
  return refer;
}

const trunkChange = (event: RecordedEvent, s: Statements) => {
  s.insert.run(trunkRow(event));
};

/** An API key created or revoked: never its secret or its hash, only who holds which role. */
function keyRow(event: HandledEvent<'ApiKeyCreated' | 'ApiKeyRevoked'>, what: string, details: object): Row {
  const e = event.data;
  return {
    position: event.position,
    at: e.at,
    kind: 'key',
    action: event.type,
    trunk_sid: null,
    call_sid: null,
    transfer_sid: null,
    what,
    why: 'no reason given',
    by: e.by ?? null,
    details: JSON.stringify(details),
  };
}

export const auditDefinition = defineProjection({
  name: 'audit',
  // 2: target legs released after a failed or broken transfer are listed. 3: API keys are listed.
  version: 3,
  description: 'every trunk change, transfer decision and API key change: what, when, why and who',
  tables: { audit, audit_call_trunks: trunks.table, audit_refers: refers },
  prepare,
  handlers: {
    TrunkCreated: trunkChange,
    TrunkTransferModeChanged: trunkChange,
    TrunkCallerIdModeChanged: trunkChange,
    TrunkAclChanged: trunkChange,
    TrunkTransferLimitChanged: trunkChange,
    TrunkCpsLimitChanged: trunkChange,
    TrunkTlsClientChanged: trunkChange,
    ApiKeyCreated(event, s) {
      const e = event.data;
      const named = e.name ? ` (${e.name})` : '';
      s.insert.run(
        keyRow(event, `API key ${e.keySid} created, role ${e.role}${named}`, {
          keySid: e.keySid,
          role: e.role,
          name: e.name ?? null,
        }),
      );
    },
    ApiKeyRevoked(event, s) {
      const e = event.data;
      s.insert.run(keyRow(event, `API key ${e.keySid} revoked`, { keySid: e.keySid }));
    },
    ...trunks.handlers,
    ReferReceived({ data: e }, s) {
      const { transferMode, transferCallerId, maxTransfersPerCall } = e.policy;
      s.rememberRefer.run(
        e.transferSid,
        s.trunkOf.get(e.callSid)?.trunk_sid ?? null,
        e.referTo.join(', '),
        JSON.stringify({ transferMode, transferCallerId, maxTransfersPerCall }),
      );
    },
    ReferAccepted(event, s) {
      const e = event.data;
      const policy = s.refer.get(e.transferSid)?.policy;
      const mode = policy ? (JSON.parse(policy) as { transferMode: string }).transferMode : 'unknown';
      transferRow(
        s,
        event,
        `REFER to ${e.referTo} accepted (${e.targetKind} target)`,
        `transferMode ${mode} allows ${e.targetKind} targets`,
        { referTo: e.referTo, targetKind: e.targetKind, referredBy: e.referredBy ?? null },
      );
    },
    ReferRejected(event, s) {
      const e = event.data;
      const referTo = s.refer.get(e.transferSid)?.refer_to ?? '(unknown)';
      transferRow(s, event, `REFER to ${referTo} refused with ${e.status}`, e.reason, { status: e.status });
      s.forgetRefer.run(e.transferSid);
    },
    TransferCompleted(event, s) {
      const e = event.data;
      transferRow(
        s,
        event,
        `transfer completed: child call ${e.childCallSid} from ${e.transfereeNumber} to ${e.targetNumber}`,
        'the target answered',
        { childCallSid: e.childCallSid, targetKind: e.targetKind, targetNumber: e.targetNumber },
      );
      s.forgetRefer.run(e.transferSid);
    },
    TargetReleased(event, s) {
      const e = event.data;
      transferRow(s, event, 'target leg released with BYE', RELEASED_BECAUSE[e.why], { why: e.why });
    },
    TransferFailed(event, s) {
      const e = event.data;
      const gone = [
        e.transferorGone ? 'the transferor hung up' : '',
        e.transfereeGone ? 'the transferee hung up' : '',
      ]
        .filter(Boolean)
        .join(', ');
      transferRow(
        s,
        event,
        `transfer failed with ${e.status}`,
        gone ? `${e.reason}; ${gone}` : `target: ${e.status} ${e.reason}`,
        {
          status: e.status,
          reason: e.reason,
          transferorGone: e.transferorGone,
          transfereeGone: e.transfereeGone,
        },
      );
      s.forgetRefer.run(e.transferSid);
    },
  },
});

export const auditProjection: Projection = compileProjection(auditDefinition);
