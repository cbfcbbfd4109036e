/**
 * The trunk and API key registries keep following `$all` after their subscription fails: a change made
 * afterwards by another process (its own store connection on the same SQLite file) still reaches them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApiKeyRegistry } from '../../src/apikeys/registry.ts';
import { trunkSidOf } from '../../src/shared/sids.ts';
import type { AllSubscription, EventStore } from '../../src/store/port.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { startTrunkRegistry } from '../../src/trunks/registry.ts';
import { until } from '../helpers/until.ts';
import { billingConfig } from '../projections/drive.ts';

/** The store, except that its first `$all` subscription fails as soon as it is read. */
function failingOnce(store: EventStore): EventStore & { failures: number } {
  const wrapped = {
    ...store,
    failures: 0,
    subscribeToAll(options: Parameters<EventStore['subscribeToAll']>[0]): AllSubscription {
      if (wrapped.failures > 0) return store.subscribeToAll(options);
      wrapped.failures++;
      return {
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.reject(new Error('connection to the store lost')),
        }),
        close: async () => {},
      };
    },
  };
  return wrapped;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function sqliteFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pivot-resubscribe-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'pivot.db');
}

function openStore(path: string): EventStore {
  const store = createSqliteEventStore({ path, pollIntervalMs: 20 });
  cleanups.push(() => store.close());
  return store;
}

describe('registries resubscribe after a failed $all subscription', () => {
  it('a trunk changed by another process after the failure is seen', async () => {
    const path = sqliteFile();
    const config = billingConfig();
    const trunk = config.trunks[0]!;
    const sid = trunkSidOf(trunk.name);
    const store = failingOnce(openStore(path));
    const registry = await startTrunkRegistry({ store, config, retryMs: 10 });
    cleanups.push(() => registry.stop());
    await until(() => store.failures === 1);
    expect(registry.get(sid)?.config.transferMode).not.toBe('sip-only');

    const other = await startTrunkRegistry({ store: openStore(path), config, follow: false });
    cleanups.push(() => other.stop());
    await other.update(sid, { transferMode: 'sip-only' }, { reason: 'fraud spike' });

    await until(() => registry.get(sid)?.config.transferMode === 'sip-only');
    expect(registry.current().byDomain(trunk.domain)?.transferMode).toBe('sip-only');
  });

  it('an API key revoked by another process after the failure is seen as revoked', async () => {
    const path = sqliteFile();
    const store = failingOnce(openStore(path));
    const other = await startApiKeyRegistry({ store: openStore(path), follow: false });
    cleanups.push(() => other.stop());
    const { key } = await other.create({ role: 'read', name: 'dashboard' });

    const registry = await startApiKeyRegistry({ store, retryMs: 10 });
    cleanups.push(() => registry.stop());
    await until(() => store.failures === 1);
    expect(registry.get(key.sid)?.revokedAt).toBeNull();

    await other.revoke(key.sid);
    await until(() => registry.get(key.sid)?.revokedAt != null);
    expect(registry.active().map((k) => k.sid)).not.toContain(key.sid);
  });
});

describe('trunk cpsLimit through the registry', () => {
  it("a trunk seeded from the config keeps its cpsLimit in the stored trunk and the engine's directory", async () => {
    const path = sqliteFile();
    const base = billingConfig();
    const config = { ...base, trunks: [{ ...base.trunks[0]!, cpsLimit: 5 }] };
    const registry = await startTrunkRegistry({ store: openStore(path), config, follow: false });
    cleanups.push(() => registry.stop());
    // Another process starting on the same file reads it back from the store, not from its config.
    const other = await startTrunkRegistry({ store: openStore(path), config: base, follow: false });
    cleanups.push(() => other.stop());
    const sid = trunkSidOf(config.trunks[0]!.name);
    expect(other.get(sid)?.config.cpsLimit).toBe(5);
    expect(other.current().byDomain(config.trunks[0]!.domain)?.cpsLimit).toBe(5);
  });
});
