/**
 * Names and migrations of the PostgreSQL event store schema. Every object lives in one PostgreSQL schema
 * (default `public`), so several stores can share a database without seeing each other's events.
 */

export interface SchemaNames {
  /** The bare schema name, as given. */
  schema: string;
  /** Quoted, schema-qualified object names, safe to splice into SQL. */
  streams: string;
  events: string;
  schemaVersion: string;
  positionSequence: string;
  appendFunction: string;
  /** LISTEN/NOTIFY channel that append transactions signal on commit. */
  channel: string;
  /** Key text of the advisory lock every append transaction holds until it commits. */
  appendLockKey: string;
  /** Key text of the advisory lock that serialises migrations of concurrently starting processes. */
  migrateLockKey: string;
}

// Identifiers are spliced into DDL and into the append function's body, so only plain names pass.
const plainIdentifier = /^[a-z_][a-z0-9_]{0,40}$/;

export function schemaNames(schema = 'public'): SchemaNames {
  if (!plainIdentifier.test(schema)) {
    throw new Error(
      `invalid PostgreSQL schema name ${JSON.stringify(schema)}: use [a-z_][a-z0-9_]*, at most 41 chars`,
    );
  }
  const q = (name: string) => `"${schema}"."${name}"`;
  return {
    schema,
    streams: q('streams'),
    events: q('events'),
    schemaVersion: q('schema_version'),
    positionSequence: q('events_position_seq'),
    appendFunction: q('append_batch'),
    channel: `sip_pivot_events_${schema}`,
    appendLockKey: `sip-pivot.append.${schema}`,
    migrateLockKey: `sip-pivot.migrate.${schema}`,
  };
}

export interface Migration {
  version: number;
  description: string;
  sql(names: SchemaNames): string;
}

/**
 * Applied in version order, each once, recorded in `schema_version`. Never edit a released migration:
 * add a new version (e.g. `CREATE OR REPLACE FUNCTION` to change the append function).
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'streams, events, group append function',
    sql: (n) => `
CREATE TABLE ${n.streams} (
  stream   text   PRIMARY KEY,
  revision bigint NOT NULL CHECK (revision >= 0)
);

-- Positions come from this sequence (starting at 1; 0 means "before the first event").
CREATE SEQUENCE ${n.positionSequence} AS bigint START WITH 1;

CREATE TABLE ${n.events} (
  position    bigint      PRIMARY KEY DEFAULT nextval('${n.positionSequence}'),
  stream      text        NOT NULL,
  revision    bigint      NOT NULL CHECK (revision >= 0),
  event_id    text        NOT NULL,
  type        text        NOT NULL,
  data        jsonb       NOT NULL,
  metadata    jsonb       NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream, revision),
  UNIQUE (stream, event_id)
);
ALTER SEQUENCE ${n.positionSequence} OWNED BY ${n.events}.position;

-- Appends a group of appends (to one or several streams) in one call: one round trip, one transaction
-- (the autocommit transaction of the calling statement), one WAL flush. Each append i is
-- p_streams[i] with p_counts[i] events, taken in order from the flat event arrays, and is checked on
-- its own: a refused append writes nothing and does not affect the others.
-- p_expected[i]: 'any' | 'no-stream' | 'stream-exists' | 'exact' (then p_expected_revisions[i]).
-- One row per append, in order: out_status
--   'appended'  out_revision = the stream's new last revision, out_position = position of its last event;
--   'duplicate' every id already in the stream (a retry): the original revision and position;
--   'conflict'  out_revision = the stream's actual revision (-1 = no stream);
--   'id-reused' some but not all ids already stored, or an id twice in the append.
CREATE FUNCTION ${n.appendFunction}(
  p_streams text[], p_expected text[], p_expected_revisions bigint[], p_counts int[],
  p_ids text[], p_types text[], p_data jsonb[], p_metadata jsonb[]
) RETURNS TABLE (out_index int, out_status text, out_revision bigint, out_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_offset    int := 0;
  v_stream    text;
  v_expected  text;
  v_count     int;
  v_ids       text[];
  v_found     int;
  v_distinct  int;
  v_previous  bigint;
  v_first_pos bigint;
  v_notify    bigint;
BEGIN
  -- Commit-ordered positions: see createPostgresEventStore.ts. Held until this transaction commits.
  PERFORM pg_advisory_xact_lock(hashtext('${n.appendLockKey}'));

  FOR i IN 1 .. coalesce(cardinality(p_streams), 0) LOOP
    v_stream := p_streams[i];
    v_expected := p_expected[i];
    v_count := p_counts[i];
    v_ids := p_ids[v_offset + 1 : v_offset + v_count];
    v_previous := NULL;
    out_index := i;
    out_revision := NULL;
    out_position := NULL;
    IF v_count < 1 OR v_expected NOT IN ('any', 'no-stream', 'stream-exists', 'exact') THEN
      RAISE EXCEPTION 'append % to %: % events, expected %', i, v_stream, v_count, v_expected;
    END IF;

    -- Under the append lock no other transaction writes, so this check cannot go stale before the
    -- insert; it also sees the appends earlier in this group.
    SELECT count(*), max(e.revision), max(e.position) INTO v_found, out_revision, out_position
      FROM ${n.events} e WHERE e.stream = v_stream AND e.event_id = ANY (v_ids);
    SELECT count(DISTINCT x) INTO v_distinct FROM unnest(v_ids) AS x;

    IF v_found = v_distinct THEN
      -- A retry of an append that already succeeded: answer what it answered, write nothing.
      out_status := 'duplicate';
    ELSIF v_found > 0 OR v_distinct < v_count THEN
      out_status := 'id-reused';
      out_revision := NULL;
      out_position := NULL;
    ELSE
      -- The expected-revision check is the write itself: the conditional UPDATE / INSERT .. ON
      -- CONFLICT only matches when the stream is where the caller expects it, so there is no
      -- read-then-write window even without the advisory lock; UNIQUE (stream, revision) backs it up.
      IF v_expected = 'no-stream' THEN
        INSERT INTO ${n.streams} AS s (stream, revision) VALUES (v_stream, v_count - 1)
          ON CONFLICT (stream) DO NOTHING
          RETURNING -1 INTO v_previous;
      ELSIF v_expected = 'stream-exists' THEN
        UPDATE ${n.streams} AS s SET revision = s.revision + v_count WHERE s.stream = v_stream
          RETURNING s.revision - v_count INTO v_previous;
      ELSIF v_expected = 'any' THEN
        INSERT INTO ${n.streams} AS s (stream, revision) VALUES (v_stream, v_count - 1)
          ON CONFLICT (stream) DO UPDATE SET revision = s.revision + v_count
          RETURNING s.revision - v_count INTO v_previous;
      ELSE
        UPDATE ${n.streams} AS s SET revision = s.revision + v_count
          WHERE s.stream = v_stream AND s.revision = p_expected_revisions[i]
          RETURNING s.revision - v_count INTO v_previous;
      END IF;

      IF v_previous IS NULL THEN
        out_status := 'conflict';
        SELECT s.revision INTO out_revision FROM ${n.streams} s WHERE s.stream = v_stream;
        out_revision := coalesce(out_revision, -1);
        out_position := NULL;
      ELSE
        -- Reserve a block of positions (safe under the append lock: no other nextval runs meanwhile),
        -- so positions and revisions follow the batch order without relying on INSERT .. SELECT order.
        v_first_pos := nextval('${n.positionSequence}');
        IF v_count > 1 THEN
          PERFORM setval('${n.positionSequence}', v_first_pos + v_count - 1);
        END IF;
        INSERT INTO ${n.events} (position, stream, revision, event_id, type, data, metadata)
          SELECT v_first_pos + b.ord - 1, v_stream, v_previous + b.ord, b.id, b.type, b.data, b.metadata
            FROM unnest(v_ids, p_types[v_offset + 1 : v_offset + v_count], p_data[v_offset + 1 : v_offset + v_count],
                        p_metadata[v_offset + 1 : v_offset + v_count])
                 WITH ORDINALITY AS b (id, type, data, metadata, ord);
        out_status := 'appended';
        out_revision := v_previous + v_count;
        out_position := v_first_pos + v_count - 1;
        v_notify := out_position;
      END IF;
    END IF;

    RETURN NEXT;
    v_offset := v_offset + v_count;
  END LOOP;

  IF v_offset <> coalesce(cardinality(p_ids), 0) THEN
    RAISE EXCEPTION 'append counts add up to %, but % events were sent', v_offset, cardinality(p_ids);
  END IF;
  -- Delivered to listeners only when (and if) this transaction commits.
  IF v_notify IS NOT NULL THEN
    PERFORM pg_notify('${n.channel}', v_notify::text);
  END IF;
END
$fn$;
`,
  },
];
