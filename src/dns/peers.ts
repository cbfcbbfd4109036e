/**
 * Where the pivot's peers are, kept fresh so no request waits for DNS: the carrier's gateways and the
 * trunks' origination URIs are watched (resolved at start-up, then again in the background when their
 * TTL runs out), and a transfer target's name is resolved when a REFER names it, then served from the
 * cache until it expires (an expired answer is still served once while it is refreshed in the
 * background). When a refresh fails because DNS did not answer, the last good answer stays in use; a
 * definite "no such name" replaces it.
 */
import { lookup, Resolver } from 'node:dns/promises';
import { hostAddress } from '../../machines/ip-literal.ts';
import { uriHost } from '../../machines/sip-syntax.ts';
import type { Logger } from '../log.ts';
import { type DnsQueries, type Located, locate } from './rfc3263.ts';

export interface PeerLocator {
  /** The current answer for `uri`, without waiting; undefined when it was never resolved. */
  locate(uri: string): Located | undefined;
  /** The answer for `uri`: the cached one when there is one (refreshed in the background when stale). */
  resolve(uri: string): Promise<Located>;
  /** Keeps `uri` resolved and refreshed; resolves once the first answer is in. */
  watch(uri: string): Promise<Located>;
  stop(): void;
}

export interface PeerLocatorOptions {
  /** DNS servers (`host` or `host:port`, `[v6]:port`); the system's when absent. */
  servers?: string[];
  /** Bounds on how long an answer is used, in seconds (defaults 5 and 3600). */
  minTtlSeconds?: number;
  maxTtlSeconds?: number;
  /** Per-query timeout in ms and tries (node:dns); defaults 2000 and 2. */
  timeoutMs?: number;
  tries?: number;
  log?: Logger;
  /** For tests: the queries to use instead of a Resolver, and the SRV weight draw. */
  dns?: DnsQueries;
  random?: () => number;
  now?: () => number;
  /** Transfer targets' answers kept at most (the oldest go first). */
  maxEntries?: number;
}

interface Entry {
  answer: Located;
  expiresAt: number;
  refreshing?: Promise<Located>;
  watched: boolean;
  timer?: NodeJS.Timeout;
}

const DEFAULT_MAX_ENTRIES = 10_000;

export function createPeerLocator(options: PeerLocatorOptions = {}): PeerLocator {
  const log: Logger = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  const minTtl = options.minTtlSeconds ?? 5;
  const maxTtl = options.maxTtlSeconds ?? 3600;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const dns = options.dns ?? resolverOf(options);
  const entries = new Map<string, Entry>();
  let stopped = false;

  const lifetimeMs = (answer: Located) => {
    // A failure is asked again soon; an IP literal never changes but costs nothing to recheck.
    const seconds = answer.ok ? answer.ttlSeconds : minTtl;
    return Math.min(maxTtl, Math.max(minTtl, Number.isFinite(seconds) ? seconds : maxTtl)) * 1000;
  };

  const store = (uri: string, entry: Entry, fresh: Located) => {
    const keepOld = !fresh.ok && fresh.status === 503 && entry.answer.ok;
    if (keepOld) log('warn', 'dns refresh failed, keeping the last answer', { uri, reason: fresh.reason });
    else if (!fresh.ok && (entry.answer.ok || entry.watched)) {
      log('warn', 'sip peer does not resolve', { uri, status: fresh.status, reason: fresh.reason });
    }
    if (!keepOld) entry.answer = fresh;
    entry.expiresAt = now() + lifetimeMs(fresh);
    if (entry.watched) schedule(uri, entry);
  };

  const refresh = (uri: string, entry: Entry): Promise<Located> => {
    entry.refreshing ??= locate(uri, dns, options.random).then((fresh) => {
      entry.refreshing = undefined;
      if (!stopped) store(uri, entry, fresh);
      return entry.answer;
    });
    return entry.refreshing;
  };

  const schedule = (uri: string, entry: Entry) => {
    clearTimeout(entry.timer);
    if (stopped) return;
    entry.timer = setTimeout(() => void refresh(uri, entry), Math.max(0, entry.expiresAt - now()));
    entry.timer.unref();
  };

  const first = async (uri: string, watched: boolean): Promise<Located> => {
    const pending: Entry = {
      answer: { ok: false, status: 503, reason: `${uri} is being resolved` },
      expiresAt: 0,
      watched,
    };
    entries.set(uri, pending);
    if (!watched && entries.size > maxEntries) {
      for (const [key, entry] of entries) {
        if (entry.watched) continue;
        entries.delete(key);
        break;
      }
    }
    return refresh(uri, pending);
  };

  return {
    locate(uri) {
      const entry = entries.get(uri);
      return entry && entry.expiresAt > 0 ? entry.answer : undefined;
    },
    resolve(uri) {
      const entry = entries.get(uri);
      if (!entry) return first(uri, false);
      if (entry.expiresAt === 0) return entry.refreshing ?? refresh(uri, entry);
      if (entry.expiresAt <= now() && !entry.watched) void refresh(uri, entry);
      return Promise.resolve(entry.answer);
    },
    async watch(uri) {
      const entry = entries.get(uri);
      if (!entry) return first(uri, true);
      entry.watched = true;
      if (entry.expiresAt === 0) return entry.refreshing ?? refresh(uri, entry);
      schedule(uri, entry);
      return entry.answer;
    },
    stop() {
      stopped = true;
      for (const entry of entries.values()) clearTimeout(entry.timer);
    },
  };
}

function resolverOf(options: PeerLocatorOptions): DnsQueries {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 2000, tries: options.tries ?? 2 });
  if (options.servers && options.servers.length > 0) {
    resolver.setServers(options.servers);
    return resolver;
  }
  // With the system's resolver, the system's hosts file counts too, as it did for getaddrinfo.
  return {
    resolveNaptr: (name) => resolver.resolveNaptr(name),
    resolveSrv: (name) => resolver.resolveSrv(name),
    resolve4: (name, ttl) => resolver.resolve4(name, ttl),
    resolve6: (name, ttl) => resolver.resolve6(name, ttl),
    lookup: (name) => lookup(name, { all: true }),
  };
}

/** Watches `uri` when its host is a name (IP literals need no DNS); resolves with the first answer. */
export async function watchName(peers: PeerLocator, uri: string): Promise<Located | undefined> {
  const host = uriHost(uri);
  if (host === undefined || hostAddress(host).kind !== 'name') return undefined;
  return peers.watch(uri);
}
