/**
 * Child process of the two-process test in postgres.test.ts: appends to shared streams with exact
 * expected revisions and retries on conflict, then reports what it did as one JSON line on stdout.
 * It starts appending only when the parent writes a line to stdin, so both processes overlap.
 */
import { once } from 'node:events';
import { type ExpectedRevision, WrongExpectedVersionError } from '../../src/store/port.ts';
import { createPostgresEventStore } from '../../src/store/postgres/index.ts';

export interface WriterInput {
  url: string;
  schema: string;
  writer: string;
  streams: string[];
  /** Appends per loop. */
  appends: number;
  /** Concurrent append loops inside this process. */
  loops: number;
}

export interface WriterReport {
  writer: string;
  /** Every committed append: its event ids and the revision the store answered. */
  appended: { stream: string; ids: string[]; nextExpectedRevision: number }[];
  conflicts: number;
  otherErrors: string[];
}

const input = JSON.parse(process.argv[2] ?? '{}') as WriterInput;
const store = createPostgresEventStore({ url: input.url, schema: input.schema, poolSize: input.loops });
const report: WriterReport = { writer: input.writer, appended: [], conflicts: 0, otherErrors: [] };

await store.headPosition(); // migrated and connected before the race starts
process.stdout.write('ready\n');
await once(process.stdin, 'data');

async function loop(loopIndex: number): Promise<void> {
  // Each loop keeps its own idea of every stream's revision, so loops of one process conflict too.
  const expected = new Map<string, ExpectedRevision>();
  for (let i = 0; i < input.appends; i++) {
    const stream = input.streams[(i + loopIndex) % input.streams.length]!;
    // Batches of one and two events, so revisions advance by both amounts.
    const ids = Array.from({ length: 1 + (i % 2) }, (_, k) => `${input.writer}-${loopIndex}-${i}-${k}`);
    const events = ids.map((id) => ({
      id,
      type: 'Counted',
      data: { writer: input.writer, i },
      metadata: {},
    }));
    for (;;) {
      try {
        const result = await store.appendToStream(stream, events, {
          expectedRevision: expected.get(stream) ?? 'no-stream',
        });
        expected.set(stream, result.nextExpectedRevision);
        report.appended.push({ stream, ids, nextExpectedRevision: result.nextExpectedRevision });
        break;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) {
          report.otherErrors.push(String(error));
          return;
        }
        report.conflicts++;
        expected.set(stream, error.actual);
      }
    }
  }
}

try {
  await Promise.all(Array.from({ length: input.loops }, (_, k) => loop(k)));
} finally {
  await store.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
