/**
 * The SQLite writer thread (see writer.ts): its own connection to the file, writing each batch it is
 * sent in one transaction, fsync included, while the main thread goes on serving.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AppendRequest } from '../groupCommit.ts';
import { appendEvents } from './appendEvents.ts';
import { openDatabase } from './openDatabase.ts';
import { prepareStatements } from './statements.ts';
import { toWireError, toWireOutcome } from './wire.ts';
import { createBatchWriter } from './writeBatch.ts';

export type ToWriter = { kind: 'write'; id: number; batch: AppendRequest[] } | { kind: 'close' };
export type FromWriter =
  | { kind: 'ready' }
  | { kind: 'written'; id: number; outcomes: ReturnType<typeof toWireOutcome>[] }
  | { kind: 'failed'; id: number; error: ReturnType<typeof toWireError> }
  | { kind: 'fatal'; error: ReturnType<typeof toWireError> };

const port = parentPort!;
const post = (message: FromWriter) => port.postMessage(message);

try {
  const db = openDatabase((workerData as { path: string }).path);
  const statements = prepareStatements(db);
  const write = createBatchWriter(db, (request, recordedAt) => appendEvents(statements, request, recordedAt));
  port.on('message', (message: ToWriter) => {
    if (message.kind === 'close') {
      db.close();
      port.close();
      return;
    }
    try {
      post({ kind: 'written', id: message.id, outcomes: write(message.batch).map(toWireOutcome) });
    } catch (error) {
      post({ kind: 'failed', id: message.id, error: toWireError(error) });
    }
  });
  post({ kind: 'ready' });
} catch (error) {
  post({ kind: 'fatal', error: toWireError(error) });
}
