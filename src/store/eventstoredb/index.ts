export { createEventStoreDbStore, type EventStoreDbOptions } from './createEventStoreDbStore.ts';
