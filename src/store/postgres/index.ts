export { createPostgresEventStore, type PostgresEventStoreOptions } from './createPostgresEventStore.ts';
export { schemaNames } from './schema.ts';
