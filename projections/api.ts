/**
 * The public projection API: how to write a read model in a module of its own (see
 * docs/projections.md). A projection is a name, a version, the tables it owns (name -> DDL), optional
 * prepared statements, and one handler per event type it cares about:
 *
 *   export default defineProjection({
 *     name: 'agentStats',
 *     version: 1,
 *     tables: { agent_stats: 'CREATE TABLE IF NOT EXISTS agent_stats (...)' },
 *     prepare: (db) => ({ bump: db.prepare('...') }),
 *     handlers: {
 *       ReferAccepted(event, sql) { sql.bump.run(event.data.referredBy ?? 'unknown') },
 *     },
 *   });
 *
 * The runner (projections/runner.ts) calls the handlers inside the SQLite transaction that also moves
 * the projection's checkpoint, so rows and checkpoint always agree; handlers are synchronous for that
 * reason. Events reach handlers upcast to today's shape (src/events/catalogue.ts). The built-in call
 * log, transfers, billing and audit projections are written with this same API.
 */
import type { Database } from 'better-sqlite3';
import type { ClientBase } from 'pg';
import type { SessionEvent, SessionEventType } from '../machines/events.ts';
import type { ApiKeyEvent } from '../src/apikeys/events.ts';
import type { RecordedEvent } from '../src/store/port.ts';
import { TRUNK_EVENT_TYPES, type TrunkEvent } from '../src/trunks/events.ts';

/** Every event the pivot stores: calls and transfers, trunk changes, API keys. */
export type PivotEvent = SessionEvent | TrunkEvent | ApiKeyEvent;
export type PivotEventType = PivotEvent['type'];

/** The event interface whose `type` admits T (TransferResponse covers several types). */
type EventOfType<E, T> = E extends { type: infer U } ? (T extends U ? E : never) : never;

/** The stored `data` of an event type: the event minus its `type`. */
export type EventDataOf<T extends PivotEventType> = Omit<EventOfType<PivotEvent, T>, 'type'>;

/** An event as a handler receives it: the recorded event, its data typed and in today's shape. */
export interface ProjectedEvent<T extends string = string, Data = unknown> extends RecordedEvent<T, Data> {
  /** The root call sid of a session stream (`call-<sid>`); undefined for trunk and API key streams. */
  sessionSid: string | undefined;
}

/** Session events reach handlers only from session streams, so their `sessionSid` is always set. */
export type HandledEvent<T extends PivotEventType> = ProjectedEvent<T, EventDataOf<T>> &
  (T extends SessionEventType ? { sessionSid: string } : unknown);

export type Handler<T extends PivotEventType, S> = (
  event: HandledEvent<T>,
  statements: S,
  db: Database,
) => void;

export type Handlers<S> = { [T in PivotEventType]?: Handler<T, S> };

export interface ProjectionDefinition<S = undefined> {
  /** Unique among the loaded projections; letters, digits, `_` and `-`. Names the checkpoint. */
  name: string;
  /** Bump when the tables or a handler change meaning: a read model of another version is rebuilt. */
  version: number;
  /** One line for `pivot projections status` and the docs. */
  description?: string;
  /**
   * The tables it owns: name -> `CREATE TABLE IF NOT EXISTS ...` (and the indexes on it). A rebuild
   * drops exactly these tables and runs these statements again.
   */
  tables: Record<string, string>;
  /** Statements prepared once per database (after the tables exist), passed to every handler. */
  prepare?: (db: Database) => S;
  handlers: Handlers<S>;
}

/**
 * The runner's form of a projection. `defineProjection` builds it; writing one by hand is possible
 * (tests do) but gives up the typed handlers.
 */
export interface Projection {
  name: string;
  version: number;
  description?: string;
  /** Tables this projection owns, dropped when it is rebuilt. */
  tables: string[];
  /** `CREATE TABLE IF NOT EXISTS ...` statements (and their indexes). */
  schema: string;
  /** The event types it has a handler for; the runner skips others. Absent: every type. */
  types?: ReadonlySet<string>;
  apply(db: Database, event: ProjectedEvent): void;
}

/** A handler of a PostgreSQL projection: runs in the transaction that moves its checkpoint. */
export type PostgresHandler<T extends PivotEventType> = (
  event: HandledEvent<T>,
  client: ClientBase,
) => Promise<void>;

/**
 * A projection whose tables live in PostgreSQL (`projections.postgres.url`, or the store's database):
 * the same as a SQLite one, but its handlers are async and get a `pg` client inside the transaction.
 */
export interface PostgresProjectionDefinition {
  name: string;
  version: number;
  description?: string;
  database: 'postgres';
  /** name -> `CREATE TABLE IF NOT EXISTS ...` (PostgreSQL), indexes separated by `;`. */
  tables: Record<string, string>;
  handlers: { [T in PivotEventType]?: PostgresHandler<T> };
}

export function definePostgresProjection(
  definition: PostgresProjectionDefinition,
): PostgresProjectionDefinition {
  return definition;
}

export const isPostgresDefinition = (definition: unknown): definition is PostgresProjectionDefinition =>
  typeof definition === 'object' &&
  definition !== null &&
  (definition as { database?: unknown }).database === 'postgres';

const SESSION_PREFIX = 'call-';

/** The root call sid of a session stream (`call-<sid>`), or undefined for other streams. */
export function sessionSidOf(event: Pick<RecordedEvent, 'streamName'>): string | undefined {
  return event.streamName.startsWith(SESSION_PREFIX)
    ? event.streamName.slice(SESSION_PREFIX.length)
    : undefined;
}

/** Event types of the other aggregates; every other type is a session event. */
export const NON_SESSION_TYPES: ReadonlySet<string> = new Set<string>([
  ...TRUNK_EVENT_TYPES,
  ...(['ApiKeyCreated', 'ApiKeyRevoked'] satisfies ApiKeyEvent['type'][]),
]);

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Why a projection definition cannot run, naming the field (empty when it can). */
export function problemsOf(definition: unknown, knownTypes?: ReadonlySet<string>): string[] {
  if (typeof definition !== 'object' || definition === null)
    return ['expected a projection definition object'];
  const d = definition as Partial<ProjectionDefinition<unknown>>;
  const problems: string[] = [];
  if (typeof d.name !== 'string' || !NAME.test(d.name))
    problems.push('name: expected letters, digits, "_" or "-", starting with a letter');
  if (typeof d.version !== 'number' || !Number.isInteger(d.version) || d.version < 1)
    problems.push('version: expected a positive integer');
  if (typeof d.tables !== 'object' || d.tables === null || Object.keys(d.tables).length === 0) {
    problems.push('tables: expected at least one table name -> CREATE TABLE statement');
  } else {
    for (const [table, ddl] of Object.entries(d.tables)) {
      if (!TABLE.test(table)) problems.push(`tables.${table}: expected an SQL identifier`);
      if (table.toLowerCase() === 'projection_checkpoints')
        problems.push(`tables.${table}: reserved for the runner`);
      if (typeof ddl !== 'string' || !ddl.includes(table))
        problems.push(`tables.${table}: expected a CREATE TABLE statement for ${table}`);
    }
  }
  if (d.prepare !== undefined && typeof d.prepare !== 'function')
    problems.push('prepare: expected a function');
  if (typeof d.handlers !== 'object' || d.handlers === null) {
    problems.push('handlers: expected an object of event type -> function');
  } else {
    for (const [type, handler] of Object.entries(d.handlers)) {
      if (typeof handler !== 'function') problems.push(`handlers.${type}: expected a function`);
      if (knownTypes && !knownTypes.has(type))
        problems.push(`handlers.${type}: no such event type (see GET /v1/Events/Schema)`);
    }
  }
  return problems;
}

/** Types a projection definition; returns it unchanged. */
export function defineProjection<S = undefined>(
  definition: ProjectionDefinition<S>,
): ProjectionDefinition<S> {
  return definition;
}

/** The runner's form of a definition: statements prepared once per database, one lookup per event. */
export function compileProjection<S>(definition: ProjectionDefinition<S>): Projection {
  const problems = problemsOf(definition);
  if (problems.length > 0) throw new Error(`projection ${String(definition?.name)}: ${problems.join('; ')}`);
  const prepared = new WeakMap<Database, S>();
  const handlers = definition.handlers as Record<string, Handler<PivotEventType, S> | undefined>;
  const prepare = definition.prepare;
  return {
    name: definition.name,
    version: definition.version,
    ...(definition.description !== undefined ? { description: definition.description } : {}),
    tables: Object.keys(definition.tables),
    schema: Object.values(definition.tables).join(';\n'),
    types: new Set(Object.keys(handlers)),
    apply(db, event) {
      const handler = handlers[event.type];
      if (!handler) return;
      const session = 'sessionSid' in event ? event.sessionSid : sessionSidOf(event);
      if (session === undefined && !NON_SESSION_TYPES.has(event.type)) return;
      let statements = prepared.get(db);
      if (statements === undefined && prepare) {
        statements = prepare(db);
        prepared.set(db, statements);
      }
      handler(event as HandledEvent<PivotEventType>, statements as S, db);
    },
  };
}
