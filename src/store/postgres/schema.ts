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
  /**
   * Key text of the advisory lock an append transaction holds only while it draws its transaction id
   * and its block of positions (never until its commit), so positions follow transaction ids.
   */
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

/** The variables `appendOne` works with, declared by every version of the append function. */
const appendOneVariables = `  v_stream    text;
  v_expected  text;
  v_count     int;
  v_ids       text[];
  v_found     int;
  v_distinct  int;
  v_previous  bigint;`;

/**
 * One append of the append function's loop (append `i`, its events from `v_offset` on in the flat
 * arrays), the same in every version. First the id check: every id already stored is a retry of an
 * append that succeeded, answered as it was and written nothing; only some is an id reused. Then the
 * expected-revision check, which is the write itself: the conditional UPDATE / INSERT .. ON CONFLICT
 * only matches when the stream is where the caller expects it, so there is no read-then-write window,
 * and UNIQUE (stream, revision) backs it up. `v_previous` is then the stream's last revision before
 * the append, NULL on a conflict; `appended` stores the events.
 */
function appendOne(n: SchemaNames, appended: string): string {
  return `    v_stream := p_streams[i];
    v_expected := p_expected[i];
    v_count := p_counts[i];
    v_ids := p_ids[v_offset + 1 : v_offset + v_count];
    v_previous := NULL;
    out_index := i;
    out_revision := NULL;
    out_position := NULL;

    SELECT count(*), max(e.revision), max(e.position) INTO v_found, out_revision, out_position
      FROM ${n.events} e WHERE e.stream = v_stream AND e.event_id = ANY (v_ids);
    SELECT count(DISTINCT x) INTO v_distinct FROM unnest(v_ids) AS x;

    IF v_found = v_distinct THEN
      out_status := 'duplicate';
    ELSIF v_found > 0 OR v_distinct < v_count THEN
      out_status := 'id-reused';
      out_revision := NULL;
      out_position := NULL;
    ELSE
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
${appended}
      END IF;
    END IF;`;
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
${appendOneVariables}
  v_first_pos bigint;
  v_notify    bigint;
BEGIN
  -- Commit-ordered positions: see createPostgresEventStore.ts. Held until this transaction commits.
  PERFORM pg_advisory_xact_lock(hashtext('${n.appendLockKey}'));

  FOR i IN 1 .. coalesce(cardinality(p_streams), 0) LOOP
    IF p_counts[i] < 1 OR p_expected[i] NOT IN ('any', 'no-stream', 'stream-exists', 'exact') THEN
      RAISE EXCEPTION 'append % to %: % events, expected %', i, p_streams[i], p_counts[i], p_expected[i];
    END IF;

    -- Under the append lock no other transaction writes, so the id check cannot go stale before the
    -- insert; it also sees the appends earlier in this group.
${appendOne(
  n,
  `        -- Reserve a block of positions (safe under the append lock: no other nextval runs meanwhile),
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
        v_notify := out_position;`,
)}

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
  {
    version: 2,
    description: 'parallel appends: transaction id per event, positions drawn in transaction id order',
    sql: (n) => `
-- Rows stored before this version were committed long ago: 0 is below every reader's horizon.
ALTER TABLE ${n.events} ADD COLUMN transaction_id xid8 NOT NULL DEFAULT '0';
ALTER TABLE ${n.events} ALTER COLUMN transaction_id SET DEFAULT pg_current_xact_id();

-- Same arguments and answers as version 1 (see there); what changed is how appends meet each other.
-- No lock is held until commit: appends of different streams insert and commit in parallel. What keeps
-- $all gap-free for readers (read.ts) is that an append draws its transaction id and its whole block
-- of positions at once, under a lock held for those two steps only: positions then grow with
-- transaction ids, and a reader that shows only rows of transactions older than the oldest one still
-- running (pg_snapshot_xmin) can never show a position above one that is yet to commit.
-- Streams are taken in name order, so two batches touching the same streams cannot deadlock.
CREATE OR REPLACE FUNCTION ${n.appendFunction}(
  p_streams text[], p_expected text[], p_expected_revisions bigint[], p_counts int[],
  p_ids text[], p_types text[], p_data jsonb[], p_metadata jsonb[]
) RETURNS TABLE (out_index int, out_status text, out_revision bigint, out_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_appends   int := coalesce(cardinality(p_streams), 0);
  v_total     int := coalesce(cardinality(p_ids), 0);
  v_offsets   int[];
  v_offset    int;
${appendOneVariables}
  v_xid       xid8;
  v_first_pos bigint;
  v_notify    bigint;
  i           int;
BEGIN
  -- Where each append's events start in the flat arrays.
  v_offsets := array_fill(0, ARRAY[greatest(v_appends, 1)]);
  v_offset := 0;
  FOR k IN 1 .. v_appends LOOP
    v_offsets[k] := v_offset;
    IF p_counts[k] < 1 OR p_expected[k] NOT IN ('any', 'no-stream', 'stream-exists', 'exact') THEN
      RAISE EXCEPTION 'append % to %: % events, expected %', k, p_streams[k], p_counts[k], p_expected[k];
    END IF;
    v_offset := v_offset + p_counts[k];
  END LOOP;
  IF v_offset <> v_total THEN
    RAISE EXCEPTION 'append counts add up to %, but % events were sent', v_offset, v_total;
  END IF;
  IF v_appends = 0 THEN
    RETURN;
  END IF;

  -- A session-level lock, released right away: nothing between lock and unlock can fail short of the
  -- connection itself, which releases it too.
  PERFORM pg_advisory_lock(hashtext('${n.appendLockKey}'));
  v_xid := pg_current_xact_id();
  v_first_pos := nextval('${n.positionSequence}');
  IF v_total > 1 THEN
    PERFORM setval('${n.positionSequence}', v_first_pos + v_total - 1);
  END IF;
  PERFORM pg_advisory_unlock(hashtext('${n.appendLockKey}'));

  FOR i IN SELECT u.ord FROM unnest(p_streams) WITH ORDINALITY AS u (stream, ord) ORDER BY u.stream, u.ord LOOP
    v_offset := v_offsets[i];
    -- A retry racing its own first try (still uncommitted) is not seen by the id check; it then meets
    -- that try's row lock on the stream and ends as a conflict or a unique violation, and the caller's
    -- retry finds it stored. The conditional write waits for a concurrent writer of the same stream and
    -- re-checks after its commit. A conflict leaves its reserved positions unused: a hole, which
    -- readers step over.
${appendOne(
  n,
  `        INSERT INTO ${n.events} (position, stream, revision, event_id, type, data, metadata, transaction_id)
          SELECT v_first_pos + v_offset + b.ord - 1, v_stream, v_previous + b.ord, b.id, b.type, b.data,
                 b.metadata, v_xid
            FROM unnest(v_ids, p_types[v_offset + 1 : v_offset + v_count], p_data[v_offset + 1 : v_offset + v_count],
                        p_metadata[v_offset + 1 : v_offset + v_count])
                 WITH ORDINALITY AS b (id, type, data, metadata, ord);
        out_status := 'appended';
        out_revision := v_previous + v_count;
        out_position := v_first_pos + v_offset + v_count - 1;
        v_notify := greatest(v_notify, out_position);`,
)}

    RETURN NEXT;
  END LOOP;

  IF v_notify IS NOT NULL THEN
    PERFORM pg_notify('${n.channel}', v_notify::text);
  END IF;
END
$fn$;
`,
  },
];
