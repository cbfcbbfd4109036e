/**
 * Small aggregates kept in memory by folding their streams, for registries (trunks, API keys) whose
 * every process must agree: load every stream with a prefix from `$all`, fold events in revision order
 * as they arrive (a gap means an event was missed: the stream is read again), and fold what this
 * process appended at once. `$all` is followed by the caller (src/engine/followAll.ts).
 */
import type { Logger } from '../log.ts';
import type { EventStore, RecordedEvent } from './port.ts';

export interface StreamFoldsOptions<S extends { revision: number }, E> {
  store: EventStore;
  /** Streams are `<prefix><sid>`. */
  prefix: string;
  isEvent(recorded: RecordedEvent): boolean;
  eventOf(recorded: RecordedEvent): E;
  evolve(state: S | undefined, event: E, revision: number): S | undefined;
  /** Called after any state changed. */
  onChange?(): void;
  log: Logger;
  /** What the states are, for log lines (`trunk`, `API key`). */
  what: string;
}

export interface StreamFolds<S, E> {
  readonly states: Map<string, S>;
  /** Folds one event from `$all`. */
  observe(recorded: RecordedEvent): void;
  /** Reads one stream again from its start. */
  reload(sid: string): Promise<void>;
  /** Folds events this process appended, the first at `firstRevision`, unless the state moved on. */
  appended(sid: string, events: E[], firstRevision: number): void;
  /** Reads `$all` from the start, folding every matching stream; returns the last position read. */
  loadAll(): Promise<number>;
}

export function createStreamFolds<S extends { revision: number }, E>(
  options: StreamFoldsOptions<S, E>,
): StreamFolds<S, E> {
  const { store, prefix, log } = options;
  const states = new Map<string, S>();
  const changed = () => options.onChange?.();

  async function reload(sid: string): Promise<void> {
    let state: S | undefined;
    for (const recorded of await store.readStream(`${prefix}${sid}`)) {
      state = options.evolve(state, options.eventOf(recorded), recorded.revision);
    }
    if (state) states.set(sid, state);
    changed();
  }

  function observe(recorded: RecordedEvent): void {
    if (!options.isEvent(recorded)) return;
    const sid = recorded.streamName.slice(prefix.length);
    const known = states.get(sid)?.revision ?? -1;
    if (recorded.revision <= known) return;
    if (recorded.revision !== known + 1) {
      void reload(sid).catch((error) =>
        log('error', `${options.what} reload failed`, { sid, error: String(error) }),
      );
      return;
    }
    const next = options.evolve(states.get(sid), options.eventOf(recorded), recorded.revision);
    if (next) states.set(sid, next);
    changed();
  }

  return {
    states,
    observe,
    reload,
    appended(sid, events, firstRevision) {
      events.forEach((event, index) => {
        const revision = firstRevision + index;
        // Another process's event folded in between: `$all` brings ours in order.
        if ((states.get(sid)?.revision ?? -1) !== revision - 1) return;
        const next = options.evolve(states.get(sid), event, revision);
        if (next) states.set(sid, next);
      });
      changed();
    },
    async loadAll() {
      let position = 0;
      for (;;) {
        const page = await store.readAll({ after: position, maxCount: 2000 });
        if (page.length === 0) return position;
        for (const recorded of page) {
          position = recorded.position;
          observe(recorded);
        }
      }
    },
  };
}
