/** Opens the event store the configuration names. */
import type { StoreConfig } from '../config/index.ts';
import { esdbConnectionString } from './eventstoredb/connectionString.ts';
import { createEventStoreDbStore } from './eventstoredb/index.ts';
import { createInMemoryEventStore } from './memory.ts';
import type { EventStore } from './port.ts';
import { createPostgresEventStore } from './postgres/index.ts';
import { createSqliteEventStore } from './sqlite.ts';

export function openStore(config: StoreConfig): EventStore {
  switch (config.kind) {
    case 'sqlite':
      return createSqliteEventStore({ path: config.path });
    case 'memory':
      return createInMemoryEventStore();
    case 'postgres':
      return createPostgresEventStore({ url: config.url });
    case 'eventstoredb':
      return createEventStoreDbStore({ url: esdbConnectionString(config) });
  }
}
