import { Worker } from 'node:worker_threads';
import type { AppendOutcome, AppendRequest } from '../groupCommit.ts';
import { fromWireError, fromWireOutcome } from './wire.ts';
import type { FromWriter, ToWriter } from './writerThread.ts';

/**
 * Writes group-commit batches on a thread of their own. With `synchronous=FULL` every commit waits for
 * an fsync; on the main thread that wait stops SIP, timers and every other call for its whole length.
 * Here the main thread goes on while a batch commits, and the appends that arrive meanwhile form the
 * next batch. An append still resolves only once its transaction is committed and fsynced.
 */
export interface BatchWriterThread {
  write(batch: AppendRequest[]): Promise<AppendOutcome[]>;
  close(): Promise<void>;
}

// The thread loads the writer module the way this module was loaded: compiled JavaScript as is,
// TypeScript sources (a checkout run through tsx, tests) through tsx's loader registered in the thread.
const bootstrap = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})();
`;

export function startWriterThread(path: string): BatchWriterThread {
  const typescript = import.meta.url.endsWith('.ts');
  const entry = new URL(`./writerThread.${typescript ? 'ts' : 'js'}`, import.meta.url).href;
  const worker = new Worker(bootstrap, {
    eval: true,
    workerData: { path, entry, tsx: typescript ? import.meta.resolve('tsx/esm/api') : undefined },
  });
  const waiting = new Map<
    number,
    { resolve(outcomes: AppendOutcome[]): void; reject(error: unknown): void }
  >();
  let nextId = 0;
  let broken: Error | undefined;
  // An idle writer does not keep the process alive (a tool that never closes its store still exits);
  // one with a batch to write does, or a process awaiting only its append would exit under it.
  let writing = 0;
  worker.unref();
  const begin = () => {
    if (writing++ === 0) worker.ref();
  };
  const end = () => {
    if (--writing === 0) worker.unref();
  };

  const failAll = (error: Error) => {
    broken ??= error;
    for (const { reject } of waiting.values()) reject(broken);
    waiting.clear();
  };
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  worker.on('message', (message: FromWriter) => {
    if (message.kind === 'ready') return markReady();
    if (message.kind === 'fatal') {
      failAll(fromWireError(message.error));
      return markReady();
    }
    const pending = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.kind === 'written') pending?.resolve(message.outcomes.map(fromWireOutcome));
    else pending?.reject(fromWireError(message.error));
  });
  worker.on('error', (error) => {
    failAll(error);
    markReady();
  });
  const exited = new Promise<void>((resolve) =>
    worker.on('exit', () => {
      failAll(new Error(`the SQLite writer of ${path} stopped`));
      markReady();
      resolve();
    }),
  );

  return {
    async write(batch) {
      begin();
      try {
        await ready;
        if (broken) throw broken;
        const id = nextId++;
        return await new Promise<AppendOutcome[]>((resolve, reject) => {
          waiting.set(id, { resolve, reject });
          worker.postMessage({ kind: 'write', id, batch } satisfies ToWriter);
        });
      } finally {
        end();
      }
    },
    async close() {
      worker.ref();
      await ready;
      if (!broken) worker.postMessage({ kind: 'close' } satisfies ToWriter);
      await exited;
    },
  };
}
