/**
 * The pivot under test, in this process: `startPivot` with a config built in code (free SIP port, a
 * temporary SQLite store, the carrier on 127.0.0.2, the PBX on 127.0.0.1), and a reader for what it
 * stored, straight from the SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type RunningPivot, startPivot } from '../../src/cli/serve.ts';
import { type PivotConfig, type PivotConfigInput, parseConfig } from '../../src/config/index.ts';
import type { Logger } from '../../src/log.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import {
  createTestKey,
  forgetAuthorization,
  rememberAuthorization,
  type TestKey,
} from '../helpers/apiKeys.ts';
import { withoutReaperTimers } from '../helpers/sipInputs.ts';
import { freePort } from '../helpers/sipp.ts';

export const CARRIER_IP = '127.0.0.2';
export const TRUNK_DOMAIN = 'acme.pstn.pivot.test';

type TrunkInput = PivotConfigInput['trunks'][number];

export interface PivotOptions {
  /** Where the carrier SIPp listens (on 127.0.0.2). */
  carrierPort: number;
  /** Where origination calls go (the PBX's UAS on 127.0.0.1); unused by termination tests. */
  pbxPort?: number;
  trunk?: Partial<TrunkInput>;
  transfer?: { noAnswerTimeoutSeconds?: number; byeFallbackSeconds?: number };
  /** Timer C (config `sip.timerCSeconds`); 181 s when unset. */
  timerCSeconds?: number;
  /** The ACK timeout (config `sip.ackTimeoutSeconds`); 32 s when unset. */
  ackTimeoutSeconds?: number;
  /** Logs warnings and errors to stderr when set (the pivot is silent by default). */
  log?: Logger;
  /** More trunks after `acme` (each with its own domain and numbers). */
  extraTrunks?: TrunkInput[];
  credentialLists?: PivotConfigInput['credentialLists'];
  carrierSources?: string[];
  /** The carrier's gateways in order, instead of the one at `carrierPort`. */
  carrierUris?: string[];
  /** `sip.sourceLimit`; load benches turn it off, since one SIPp process is one source. */
  sourceLimit?: false;
  /** The SIP trace settings (config `trace`); on with its defaults when absent. */
  trace?: PivotConfigInput['trace'];
  /** `sip.unknownSourceLimit`: the budget shared by sources outside the ACLs and the carrier. */
  unknownSourceLimit?: { ratePerSecond: number; burst: number } | false;
  /** `carrier.credentials`: what the pivot answers the carrier's digest challenges with. */
  carrierCredentials?: { username: string; password: string };
  /** `sip.tls`: the TLS listener's port, certificate and key, and the CA peers are verified with. */
  tls?: NonNullable<PivotConfigInput['sip']['tls']> & { port: number };
  /** `sip.host` and `sip.publicHost` (default 127.0.0.1 both), e.g. `::` and `[::1]` for IPv6. */
  sipHost?: string;
  publicHost?: string;
  /** `healthChecks.intervalSeconds`: OPTIONS to every carrier gateway and origination address. */
  healthCheckSeconds?: number;
  /** `dns.servers` (e.g. a test dnsmasq), with answers refreshed every second. */
  dnsServers?: string[];
}

export interface StoredEvent {
  type: string;
  stream: string;
  revision: number;
  // biome-ignore lint/suspicious/noExplicitAny: event payloads are checked field by field in tests.
  data: any;
}

export interface PivotUnderTest {
  port: number;
  address: string;
  /** The HTTP API's base URL (`http://127.0.0.1:<port>`, a free port): projections and read models. */
  httpUrl: string;
  /** An admin key stored before start; `readModel(httpUrl)` uses it. */
  apiKey: TestKey;
  config: PivotConfig;
  dbPath: string;
  /** The running engine: its pending timers, and firing one now instead of at its due time. */
  engine: RunningPivot['engine'];
  /** Stops the pivot (queued inputs finish first); safe to call twice. */
  stop(): Promise<void>;
  /**
   * Stops the pivot, then reads the calls' events (streams `call-*`) from the SQLite file, in order,
   * without the reaper timers' TimerScheduled/TimerCanceled that every call has (reapers.test.ts).
   */
  events(): Promise<StoredEvent[]>;
  /** The same with the reaper timers' events. */
  allEvents(): Promise<StoredEvent[]>;
  /** Stops it and removes its temporary directory. */
  dispose(): Promise<void>;
}

export function pivotConfig(port: number, dbPath: string, options: PivotOptions): PivotConfig {
  return parseConfig({
    sip: {
      host: options.sipHost ?? '127.0.0.1',
      port,
      publicHost: options.publicHost ?? '127.0.0.1',
      ...(options.sourceLimit === false ? { sourceLimit: false as const } : {}),
      ...(options.unknownSourceLimit !== undefined ? { unknownSourceLimit: options.unknownSourceLimit } : {}),
      ...(options.timerCSeconds !== undefined ? { timerCSeconds: options.timerCSeconds } : {}),
      ...(options.ackTimeoutSeconds !== undefined ? { ackTimeoutSeconds: options.ackTimeoutSeconds } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    },
    http: { host: '127.0.0.1', port: 0 },
    store: { kind: 'sqlite', path: dbPath },
    bus: { kind: 'inprocess' },
    carrier: {
      uri: options.carrierUris ?? `sip:${CARRIER_IP}:${options.carrierPort}`,
      ...(options.carrierSources ? { sources: options.carrierSources } : {}),
      ...(options.carrierCredentials ? { credentials: options.carrierCredentials } : {}),
    },
    ...(options.credentialLists ? { credentialLists: options.credentialLists } : {}),
    ...(options.trace ? { trace: options.trace } : {}),
    ...(options.dnsServers ? { dns: { servers: options.dnsServers, minTtlSeconds: 1 } } : {}),
    ...(options.healthCheckSeconds ? { healthChecks: { intervalSeconds: options.healthCheckSeconds } } : {}),
    transfer: { noAnswerTimeoutSeconds: 30, byeFallbackSeconds: 32, ...options.transfer },
    trunks: [
      {
        name: 'acme',
        domain: TRUNK_DOMAIN,
        acl: ['127.0.0.1/32'],
        originationUri: `sip:127.0.0.1:${options.pbxPort ?? 5070}`,
        numbers: ['+15550100000'],
        transferMode: 'enable-all',
        transferCallerId: 'from-transferee',
        maxTransfersPerCall: 5,
        rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045 } },
        ...options.trunk,
      },
      ...(options.extraTrunks ?? []),
    ],
  } satisfies PivotConfigInput);
}

export async function startTestPivot(options: PivotOptions): Promise<PivotUnderTest> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pivot-e2e-'));
  const dbPath = path.join(dir, 'pivot.db');
  const port = await freePort();
  const config = pivotConfig(port, dbPath, options);
  const keyStore = createSqliteEventStore({ path: dbPath });
  const apiKey = await createTestKey(keyStore).finally(() => keyStore.close());
  const running = await startPivot(config, options.log ?? (() => {}));
  rememberAuthorization(running.http.url, apiKey.authorization);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= running.stop().finally(() => forgetAuthorization(running.http.url));
    return stopped;
  };
  return {
    port,
    address: `127.0.0.1:${port}`,
    httpUrl: running.http.url,
    apiKey,
    config,
    dbPath,
    engine: running.engine,
    stop,
    async events() {
      await stop();
      return withoutReaperTimers(readStoredEvents(dbPath));
    },
    async allEvents() {
      await stop();
      return readStoredEvents(dbPath);
    },
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The events of every call session (not trunks' or others' streams), in position order. */
export function readStoredEvents(dbPath: string): StoredEvent[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db
      .prepare<[], { type: string; stream: string; revision: number; data: string }>(
        "SELECT type, stream, revision, data FROM events WHERE stream LIKE 'call-%' ORDER BY position",
      )
      .all();
    return rows.map((row) => ({ ...row, data: JSON.parse(row.data) }));
  } finally {
    db.close();
  }
}

/** The event types of one call (root or child), in stored order. */
export function typesOf(events: StoredEvent[], callSid: string): string[] {
  return events.filter((e) => e.data.callSid === callSid).map((e) => e.type);
}

/** The first event of a type; throws with the stored types when there is none. */
export function the(events: StoredEvent[], type: string): StoredEvent {
  const found = events.find((e) => e.type === type);
  if (!found) throw new Error(`no ${type} stored; got ${events.map((e) => e.type).join(', ')}`);
  return found;
}
