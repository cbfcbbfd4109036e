/** Opens the event store the configuration names. */
import type { StoreConfig } from '../config/index.ts';
import { esdbConnectionString } from './eventstoredb/connectionString.ts';
import { createEventStoreDbStore } from './eventstoredb/index.ts';
import { createInMemoryEventStore } from './memory.ts';
import type { EventStore } from './port.ts';
import { createPostgresEventStore } from './postgres/index.ts';
import { createSqliteEventStore } from './sqlite.ts';

export interface OpenStoreOptions {
  /**
   * For the processes that serve calls (`serve`, `engine`): SQLite commits on a writer thread, so their
   * fsyncs do not stop the main thread. Short-lived commands leave it off and start no thread.
   */
  serving?: boolean;
}

export function openStore(config: StoreConfig, options: OpenStoreOptions = {}): EventStore {
  switch (config.kind) {
    case 'sqlite':
      return createSqliteEventStore({ path: config.path, writerThread: options.serving === true });
    case 'memory':
      return createInMemoryEventStore();
    case 'postgres':
      return createPostgresEventStore({ url: config.url });
    case 'eventstoredb':
      return createEventStoreDbStore({ url: esdbConnectionString(config) });
  }
}
