/**
 * The live trunk directory. Loads every `trunk-*` stream, seeds the config's trunks that have no stream
 * yet (`TrunkCreated` with expected revision `no-stream`, so two processes starting together seed once),
 * then keeps itself current: its own appends apply at once, other processes' appends arrive through a
 * `$all` subscription. The engine reads `current()` on every input (`createEngine({ trunks })`), so a
 * change made through the API applies to the next REFER without a restart.
 *
 * The stored trunks win over the config once seeded: editing a trunk in the YAML afterwards changes
 * nothing (a warning says so); change it through the API, which records who and why.
 */

import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { PivotConfig, TrunkConfig } from '../config/index.ts';
import { type PeerLocator, watchName } from '../dns/peers.ts';
import { type AllFollower, followAll } from '../engine/followAll.ts';
import type { PeerHealth } from '../engine/peerHealth.ts';
import { type TrunkDirectory, trunkDirectory } from '../engine/trunks.ts';
import { type Logger, silentLogger } from '../log.ts';
import { trunkSidOf } from '../shared/sids.ts';
import { type EventData, type EventStore, WrongExpectedVersionError } from '../store/port.ts';
import { createStreamFolds } from '../store/streamFolds.ts';
import {
  type Attribution,
  decideTrunkChange,
  evolveTrunk,
  isTrunkEvent,
  TRUNK_STREAM_PREFIX,
  type TrunkChange,
  type TrunkCreated,
  type TrunkEvent,
  type TrunkState,
  trunkEventOf,
  trunkStreamOf,
} from './events.ts';

/** A refused trunk operation, naming the field at fault. */
export class TrunkError extends Error {
  override readonly name = 'TrunkError';
  constructor(
    readonly code: 'not-found' | 'conflict',
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TrunkRegistry {
  /** The directory the engine classifies with: every trunk as it stands now. */
  current(): TrunkDirectory;
  list(): TrunkState[];
  get(sid: string): TrunkState | undefined;
  create(trunk: TrunkConfig, attribution?: Attribution): Promise<TrunkState>;
  /** Appends one event per field that changes (all in one append); a no-op change appends nothing. */
  update(sid: string, change: TrunkChange, attribution?: Attribution): Promise<TrunkState>;
  /** Position in `$all` up to which trunk changes are known. */
  position(): number;
  stop(): Promise<void>;
}

export interface TrunkRegistryOptions {
  store: EventStore;
  config: PivotConfig;
  log?: Logger;
  clock?: () => Date;
  /** Follow `$all` for changes made by other processes (default true). */
  follow?: boolean;
  /** First wait before following `$all` again after the subscription failed (default 1000 ms). */
  retryMs?: number;
  /** Locates host names in trunks' `originationUri` (and the carrier's), kept fresh in the background. */
  peers?: PeerLocator;
  /** Which gateways answer their health checks: the others leave the rotation. */
  health?: PeerHealth;
}

function toEventData(event: TrunkEvent, correlationId: string): EventData {
  const { type, ...data } = event;
  return { id: randomUUID(), type, data, metadata: { correlationId } };
}

/**
 * Whether two JSON values are the same, whatever the order of their object keys: a store may give
 * objects back with their keys reordered (PostgreSQL's jsonb sorts them, e.g. a rate deck's prefixes),
 * so comparing serialized text would report a difference that is not one. Array order counts; a key
 * whose value is `undefined` counts as absent, as in JSON. Pure.
 */
export function sameJson(a: object, b: object): boolean {
  // The JSON round trip drops `undefined` keys; isDeepStrictEqual ignores key order, not array order.
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

function sameConfig(a: TrunkConfig, b: TrunkConfig): boolean {
  return sameJson(a, b);
}

export async function startTrunkRegistry(options: TrunkRegistryOptions): Promise<TrunkRegistry> {
  const { store, config } = options;
  const log = options.log ?? silentLogger;
  const clock = options.clock ?? (() => new Date());
  let directory: TrunkDirectory = trunkDirectory(config, options.peers, options.health);
  let follower: AllFollower | undefined;
  const folds = createStreamFolds<TrunkState, TrunkEvent>({
    store,
    prefix: TRUNK_STREAM_PREFIX,
    isEvent: isTrunkEvent,
    eventOf: trunkEventOf,
    evolve: evolveTrunk,
    onChange: () => refresh(),
    log,
    what: 'trunk',
  });
  const trunks = folds.states;
  const { reload } = folds;
  function refresh(): void {
    const list = [...trunks.values()].map((t) => t.config);
    // Until something is stored (never after start) the config's trunks stand in.
    const next = list.length > 0 ? list : config.trunks;
    directory = trunkDirectory({ ...config, trunks: next }, options.peers, options.health);
    // A trunk created or changed with an origination host name is located from now on.
    if (options.peers) for (const trunk of next) void watchName(options.peers, trunk.originationUri);
  }

  async function append(sid: string, events: TrunkEvent[], expectedRevision: number | 'no-stream') {
    const correlationId = `api;${randomUUID()}`;
    const data = events.map((event) => toEventData(event, correlationId));
    const result = await store.appendToStream(trunkStreamOf(sid), data, { expectedRevision });
    folds.appended(sid, events, result.nextExpectedRevision - events.length + 1);
  }

  function assertUnique(trunk: TrunkConfig): void {
    for (const other of trunks.values()) {
      if (other.config.domain.toLowerCase() === trunk.domain.toLowerCase()) {
        throw new TrunkError(
          'conflict',
          'domain',
          `domain ${trunk.domain} is already trunk ${other.config.name}'s`,
        );
      }
      const shared = trunk.numbers.find((n) => other.config.numbers.includes(n));
      if (shared) {
        throw new TrunkError(
          'conflict',
          'numbers',
          `number ${shared} is already on trunk ${other.config.name}`,
        );
      }
    }
  }

  function created(
    trunk: TrunkConfig,
    source: TrunkCreated['source'],
    attribution: Attribution,
  ): TrunkCreated {
    return {
      type: 'TrunkCreated',
      trunkSid: trunkSidOf(trunk.name),
      at: clock().toISOString(),
      source,
      ...trunk,
      ...(attribution.reason ? { reason: attribution.reason } : {}),
      ...(attribution.by ? { by: attribution.by } : {}),
    };
  }

  // Load what is stored: every trunk stream, wherever it sits in `$all`.
  let position = await folds.loadAll();

  // Seed the config's trunks that were never stored.
  for (const trunk of config.trunks) {
    const sid = trunkSidOf(trunk.name);
    const stored = trunks.get(sid);
    if (stored) {
      if (!sameConfig(stored.config, trunk)) {
        log(
          'warn',
          'trunk differs from the config file; the stored trunk applies (change it through the API)',
          {
            trunk: trunk.name,
            sid,
          },
        );
      }
      continue;
    }
    try {
      await append(
        sid,
        [created(trunk, 'config', { reason: 'seeded from the configuration file' })],
        'no-stream',
      );
      log('info', 'trunk seeded from the config', { trunk: trunk.name, sid });
    } catch (error) {
      // Another process seeded it between our read and our append: take theirs.
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      await reload(sid);
    }
  }
  refresh();

  if (options.follow ?? true) {
    // A failed subscription is opened again (with a back-off): a trunk changed by another process
    // afterwards must still reach this one.
    follower = followAll({
      store,
      after: position,
      name: 'trunk registry',
      log,
      ...(options.retryMs ? { firstRetryMs: options.retryMs } : {}),
      onEvent: (recorded) => {
        position = recorded.position;
        folds.observe(recorded);
      },
    });
  }

  return {
    current: () => directory,
    list: () => [...trunks.values()].sort((a, b) => a.config.name.localeCompare(b.config.name)),
    get: (sid) => trunks.get(sid),
    position: () => position,

    async create(trunk, attribution = {}) {
      const sid = trunkSidOf(trunk.name);
      if (trunks.has(sid)) throw new TrunkError('conflict', 'name', `trunk ${trunk.name} already exists`);
      assertUnique(trunk);
      try {
        await append(sid, [created(trunk, 'api', attribution)], 'no-stream');
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) {
          await reload(sid);
          throw new TrunkError('conflict', 'name', `trunk ${trunk.name} already exists`);
        }
        throw error;
      }
      return trunks.get(sid)!;
    },

    async update(sid, change, attribution = {}) {
      for (let attempt = 1; ; attempt++) {
        const state = trunks.get(sid);
        if (!state) throw new TrunkError('not-found', 'sid', `no trunk ${sid}`);
        const events = decideTrunkChange(state, change, attribution, clock().toISOString());
        if (events.length === 0) return state;
        try {
          await append(sid, events, state.revision);
          return trunks.get(sid)!;
        } catch (error) {
          // Someone else changed the trunk first: decide again on what they left.
          if (!(error instanceof WrongExpectedVersionError) || attempt >= 3) throw error;
          await reload(sid);
        }
      }
    },

    async stop() {
      await follower?.stop();
    },
  };
}
