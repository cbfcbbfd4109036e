/**
 * A projection's own map from live calls to their trunk, for projections whose other events (REFER,
 * transfer outcomes) name the call but not the trunk. Each projection keeps its own table, so it
 * rebuilds alone.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Handlers } from './api.ts';

export interface CallTrunkStatements {
  rememberTrunk: Statement<[string, string]>;
  trunkOf: Statement<[string], { trunk_sid: string }>;
  forgetTrunk: Statement<[string]>;
}

export function callTrunks(table: string) {
  return {
    table: `
CREATE TABLE IF NOT EXISTS ${table} (
  call_sid  TEXT PRIMARY KEY,
  trunk_sid TEXT NOT NULL
);
`,
    prepare: (db: Database): CallTrunkStatements => ({
      rememberTrunk: db.prepare(`INSERT OR REPLACE INTO ${table} (call_sid, trunk_sid) VALUES (?, ?)`),
      trunkOf: db.prepare(`SELECT trunk_sid FROM ${table} WHERE call_sid = ?`),
      forgetTrunk: db.prepare(`DELETE FROM ${table} WHERE call_sid = ?`),
    }),
    /** A call (root or child) is remembered when it starts and forgotten when it ends. */
    handlers: {
      CallReceived({ data: e }, s) {
        s.rememberTrunk.run(e.callSid, e.trunkSid);
      },
      ChildCallStarted({ data: e }, s) {
        s.rememberTrunk.run(e.callSid, e.trunkSid);
      },
      CallEnded({ data: e }, s) {
        s.forgetTrunk.run(e.callSid);
      },
    } satisfies Handlers<CallTrunkStatements>,
  };
}
