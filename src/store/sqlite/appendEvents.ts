import { SqliteError } from 'better-sqlite3';
import type { AppendRequest } from '../groupCommit.ts';
import { type AppendResult, revisionMatches, WrongExpectedVersionError } from '../port.ts';
import { toInsertValues } from './rows.ts';
import type { Statements } from './statements.ts';

/**
 * One append, checked and written inside the caller's transaction (a savepoint of a group commit).
 * Throws WrongExpectedVersionError on a revision mismatch; the caller rolls back to the savepoint.
 */
export function appendEvents(
  statements: Statements,
  request: AppendRequest,
  recordedAt: string,
): AppendResult {
  const { stream, events, expectedRevision } = request;

  const retried = findRetriedAppend(statements, request);
  if (retried) return retried;

  const last = statements.lastRevision.get(stream)?.revision ?? null;
  const actual = last ?? 'no-stream';
  if (!revisionMatches(expectedRevision, actual)) {
    throw new WrongExpectedVersionError(stream, expectedRevision, actual);
  }

  let revision = last ?? -1;
  let position = 0;
  for (const event of events) {
    revision++;
    try {
      position = Number(
        statements.insert.run(...toInsertValues(stream, revision, event, recordedAt)).lastInsertRowid,
      );
    } catch (error) {
      if (error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new Error(`stream ${stream}: event id ${event.id} is already stored`, { cause: error });
      }
      throw error;
    }
  }
  return { nextExpectedRevision: revision, position };
}

/**
 * A retry of a committed append stores every id already: answer what the first try got. Some but not
 * all ids stored is a caller bug, not a retry, and is refused.
 */
function findRetriedAppend(
  statements: Statements,
  { stream, events }: AppendRequest,
): AppendResult | undefined {
  let found = 0;
  let last: AppendResult | undefined;
  for (const event of events) {
    const stored = statements.findEvent.get(stream, event.id);
    if (!stored) continue;
    found++;
    if (!last || stored.revision > last.nextExpectedRevision) {
      last = { nextExpectedRevision: stored.revision, position: stored.position };
    }
  }
  if (found === events.length) return last;
  if (found > 0) throw new Error(`stream ${stream}: some event ids of this append are already stored`);
  return undefined;
}
