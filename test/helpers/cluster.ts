/**
 * A real distributed pivot for tests and benchmarks, every role its own OS process:
 *
 *   nats-server (JetStream, free port)  <-  `pivot sip` (one)  ->  `pivot engine` (N, default 2)
 *                                                                   |
 *                                       PostgreSQL on 127.0.0.1:5432, a fresh database per cluster
 *
 * The configuration is written to a temp file (store postgres, bus nats) with the trunk and carrier
 * settings of test/e2e/pivot.ts, so the SIPp parties of test/e2e/parties.ts work unchanged: the carrier
 * on 127.0.0.2, the PBX and transfer targets on 127.0.0.1.
 *
 *   const cluster = await startCluster({ carrierPort, engines: 2 });
 *   try {
 *     const agent = pbx(cluster.sipAddress, { ... });   // SIPp parties as in test/e2e
 *     await cluster.kill(0);                            // SIGKILL engine 0 in the middle
 *     await cluster.restartNats(2_000);                 // nats-server down for 2 s, same store dir
 *     await cluster.settle();                           // bus drained, store quiet
 *     const events = await cluster.events();            // every call-* event, in position order
 *   } catch (error) {
 *     console.error(cluster.output());                  // what each process printed
 *     throw error;
 *   } finally {
 *     await cluster.dispose();                          // every process ended, database dropped
 *   }
 *
 * `mode: 'all-in-one'` runs one `pivot serve` process on the same PostgreSQL store instead (its bus is
 * in-process; nats-server is not started), for comparisons.
 *
 * Processes are started as `node --import tsx src/cli/main.ts <role> --config FILE` (one process each,
 * no wrapper, so a signal reaches the pivot itself). Each process's stdout and stderr are kept (the last
 * MB) for `output()`. Children still running when the test process exits are SIGKILLed.
 *
 * Needs nats-server and sipp on PATH (`sh scripts/ensure-tools.sh`) and PostgreSQL with trust auth on
 * 127.0.0.1:5432 (`PIVOT_TEST_PG_URL` overrides the admin URL, as in test/store/postgres.test.ts).
 * No vitest import: bench/ uses this too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import type { PivotConfig } from '../../src/config/index.ts';
import { type PivotOptions, pivotConfig, type StoredEvent } from '../e2e/pivot.ts';
import { type NatsServer, startNatsServer } from './natsServer.ts';
import { freePort } from './sipp.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const INSTALL = 'sudo apt-get update && sudo apt-get install -y sip-tester nats-server';
const OUTPUT_LIMIT = 1_000_000;

export interface ClusterOptions extends Omit<PivotOptions, 'log'> {
  /** `pivot engine` processes (split mode). Default 2. */
  engines?: number;
  /** `split` (default): `pivot sip` + N `pivot engine` over NATS; `all-in-one`: one `pivot serve`. */
  mode?: 'split' | 'all-in-one';
  /** PostgreSQL URL of a database the cluster's database is created from. Default PIVOT_TEST_PG_URL or local. */
  adminUrl?: string;
  /** Longest wait for one process to say it is ready. Default 60 s (tsx compiles on start). */
  readyTimeoutMs?: number;
  /** Extra environment for the pivot processes. */
  env?: Record<string, string>;
  /** The checkout whose `src/cli/main.ts` the pivot processes run (another version of the code). Default this one. */
  root?: string;
  /** Node options before the script, e.g. `--cpu-prof` (which NODE_OPTIONS does not take). */
  nodeArgs?: string[];
  /** `bus.partitions` (split mode); the bus's default when absent. */
  partitions?: number;
}

/** A stored event of a call session, with what the tests check for duplicates and gaps. */
export interface ClusterEvent extends StoredEvent {
  id: string;
  position: number;
  // biome-ignore lint/suspicious/noExplicitAny: metadata is checked field by field in tests.
  metadata: Record<string, any>;
}

export type Role = 'sip' | 'engine' | 'serve';

export interface PivotProcess {
  role: Role;
  /** Engines are numbered from 0 in start order; the adapter and `serve` are 0. */
  index: number;
  pid: number | undefined;
  /** Resolves with the exit code (or 128 + signal number style text) when the process ends. */
  exited: Promise<string>;
  readonly running: boolean;
  /** Everything it printed so far (stdout and stderr, the last MB). */
  output(): string;
}

export interface Cluster {
  /** host:port of the pivot's SIP listener (UDP and TCP), for SIPp's remote argument. */
  sipAddress: string;
  sipPort: number;
  config: PivotConfig;
  configPath: string;
  /** URL of the cluster's own database. */
  databaseUrl: string;
  /** The nats-server (undefined in all-in-one mode). */
  nats: NatsServer | undefined;
  /** Every pivot process started so far (killed ones included), adapter first. */
  processes(): PivotProcess[];
  /** Engine processes, by index. */
  engines(): PivotProcess[];
  /** Starts one more `pivot engine` (split mode); resolves with its index once it consumes inputs. */
  addEngine(): Promise<number>;
  /** Signals engine `index` (default SIGKILL) and resolves once it has exited. */
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Stops nats-server, waits `downMs`, starts it again on the same port and store dir. */
  restartNats(downMs?: number): Promise<void>;
  /**
   * Waits until the cluster is quiet: no input waiting or unacknowledged on the bus and no new event in
   * the store for `quietMs` (default 1 s). Rejects after `timeoutMs` (default 60 s).
   */
  settle(options?: { quietMs?: number; timeoutMs?: number }): Promise<void>;
  /**
   * The input stream's counters since the cluster started (split mode): inputs published (once each,
   * duplicates dropped), deliveries to engines, redeliveries among them (an engine died or stalled
   * holding an input, or failed it), inputs not yet delivered and delivered but unacknowledged. A
   * nats-server restart keeps them (file storage).
   */
  busStats(): Promise<{
    published: number;
    delivered: number;
    redelivered: number;
    pending: number;
    ackPending: number;
  }>;
  /** Sends SIGSTOP to engine `index`: it hangs, holding its connections and whatever inputs it has. */
  freeze(index: number): void;
  /** The events of every `call-*` stream, in position order, read from PostgreSQL. */
  events(): Promise<ClusterEvent[]>;
  /** What each process printed (the tail of it), labelled; print it when a test fails. */
  output(options?: { lines?: number }): string;
  /** Terminates every process (SIGTERM, SIGKILL after 5 s), stops nats-server, drops the database. */
  dispose(): Promise<void>;
}

/** The tools the cluster and its SIPp parties need, or an error naming the install command. */
export function assertTools(): void {
  const missing = [
    ['nats-server', process.env.NATS_SERVER_BIN],
    ['sipp', process.env.SIPP_BIN],
  ].filter(([name, override]) => !(override ? existsSync(override) : onPath(name!)));
  if (missing.length > 0) {
    throw new Error(
      `cluster: ${missing.map(([name]) => name).join(' and ')} not found; install with:\n  ${INSTALL}\n` +
        '(or run `sh scripts/ensure-tools.sh`, which `npm test` does)',
    );
  }
}

function onPath(name: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  return dirs.some((dir) => dir && existsSync(path.join(dir, name)));
}

function withDatabase(base: string, name: string): string {
  const parsed = new URL(base);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** Children alive when the test process exits (a timed-out hook, a crash): killed, never orphaned. */
const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

interface Launched extends PivotProcess {
  child: ChildProcess;
  text: string;
}

const READY: Record<Role, string> = {
  sip: '"message":"sip adapter serving"',
  engine: '"message":"engine consuming inputs"',
  serve: '"message":"sip-pivot serving"',
};

function launch(
  role: Role,
  index: number,
  configPath: string,
  env: Record<string, string>,
  readyTimeoutMs: number,
  root = ROOT,
  nodeArgs: string[] = [],
): { process: Launched; ready: Promise<void> } {
  const main = path.join(root, 'src', 'cli', 'main.ts');
  const args = [...nodeArgs, '--import', 'tsx', main, role, '--config', configPath];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  alive.add(child);
  let exitedWith: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      alive.delete(child);
      exitedWith = signal ?? String(code);
      resolve(exitedWith);
    });
    child.once('error', (error) => {
      alive.delete(child);
      exitedWith = `spawn error: ${error.message}`;
      resolve(exitedWith);
    });
  });
  const launched: Launched = {
    role,
    index,
    pid: child.pid,
    child,
    exited,
    text: '',
    get running() {
      return exitedWith === undefined;
    },
    output: () => launched.text,
  };
  const ready = new Promise<void>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      reject(new Error(`cluster: pivot ${role} #${index} not ready within ${readyTimeoutMs} ms`));
    }, readyTimeoutMs);
    const onData = (chunk: Buffer) => {
      launched.text = (launched.text + chunk.toString()).slice(-OUTPUT_LIMIT);
      if (!done && launched.text.includes(READY[role])) {
        done = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((how) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`cluster: pivot ${role} #${index} exited (${how}) before ready:\n${launched.text}`));
    });
  });
  return { process: launched, ready };
}

function terminate(launched: Launched, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (!launched.running) return launched.exited.then(() => {});
  const killer = setTimeout(() => launched.child.kill('SIGKILL'), graceMs);
  launched.child.kill(signal);
  // A frozen (SIGSTOPped) process only acts on a signal once it runs again.
  if (signal !== 'SIGKILL') launched.child.kill('SIGCONT');
  return launched.exited.then(() => clearTimeout(killer));
}

/** The bus's inputs stream; the peers' health (PIVOT_PEERS) keeps its last message for good. */
const isInputStream = (stream: { config: { name: string } }) => stream.config.name === 'PIVOT_INPUTS';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  assertTools();
  const mode = options.mode ?? 'split';
  const engineCount = options.engines ?? 2;
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const adminUrl = options.adminUrl ?? process.env.PIVOT_TEST_PG_URL ?? DEFAULT_ADMIN_URL;
  const database = `pivot_cluster_${randomBytes(6).toString('hex')}`;
  const databaseUrl = withDatabase(adminUrl, database);
  const dir = mkdtempSync(path.join(tmpdir(), 'pivot-cluster-'));
  const configPath = path.join(dir, 'pivot.yaml');
  const launched: Launched[] = [];
  let nats: NatsServer | undefined;
  let databaseCreated = false;
  let disposed: Promise<void> | undefined;

  const admin = new pg.Client({ connectionString: adminUrl });
  const dispose = () => {
    disposed ??= (async () => {
      // Adapter first (no new inputs), then the engines, all at once.
      await Promise.all(launched.map((p) => terminate(p)));
      await nats?.stop().catch(() => {});
      if (databaseCreated) {
        const client = new pg.Client({ connectionString: adminUrl });
        try {
          await client.connect();
          await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        } finally {
          await client.end().catch(() => {});
        }
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return disposed;
  };

  try {
    try {
      await admin.connect();
    } catch (error) {
      throw new Error(
        `cluster: cannot reach PostgreSQL at ${adminUrl} (${String(error)}); start it with trust auth on ` +
          '127.0.0.1:5432 or set PIVOT_TEST_PG_URL',
      );
    }
    try {
      await admin.query(`CREATE DATABASE ${database}`);
      databaseCreated = true;
    } finally {
      await admin.end().catch(() => {});
    }
    if (mode === 'split') nats = await startNatsServer();

    const sipPort = await freePort();
    const base = pivotConfig(sipPort, path.join(dir, 'unused.db'), { ...options, log: undefined });
    const config: PivotConfig = {
      ...base,
      store: { kind: 'postgres', url: databaseUrl },
      bus: nats
        ? { kind: 'nats', url: nats.url, ...(options.partitions ? { partitions: options.partitions } : {}) }
        : { kind: 'inprocess' },
      projections: { path: path.join(dir, 'views.db') },
    };
    // JSON is YAML: the file goes through the same loader and validation as any pivot.yaml.
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const env = { ...options.env };

    const startProcess = async (role: Role, index: number) => {
      const { process: started, ready } = launch(
        role,
        index,
        configPath,
        env,
        readyTimeoutMs,
        options.root,
        options.nodeArgs,
      );
      launched.push(started);
      await ready;
    };
    let enginesStarted = 0;
    const addEngine = async () => {
      if (mode !== 'split') throw new Error('cluster: engines are only added in split mode');
      const index = enginesStarted++;
      await startProcess('engine', index);
      return index;
    };

    if (mode === 'split') {
      // Engines first: they create the schema, the trunks and the consumers before inputs arrive.
      await Promise.all(Array.from({ length: engineCount }, () => addEngine()));
      await startProcess('sip', 0);
    } else {
      await startProcess('serve', 0);
    }

    const engines = () => launched.filter((p) => p.role === 'engine').sort((a, b) => a.index - b.index);

    async function busIdle(): Promise<boolean> {
      if (!nats) return true;
      const nc = await connect({ servers: nats.url, reconnect: false, timeout: 2_000 });
      try {
        const jsm = await jetstreamManager(nc);
        const streams = await jsm.streams.list().next();
        for (const stream of streams.filter(isInputStream)) {
          if (stream.state.messages > 0) return false;
          const consumers = await jsm.consumers.list(stream.config.name).next();
          if (consumers.some((c) => c.num_ack_pending > 0 || c.num_pending > 0)) return false;
        }
        return true;
      } finally {
        await nc.close();
      }
    }

    async function busStats() {
      const stats = { published: 0, delivered: 0, redelivered: 0, pending: 0, ackPending: 0 };
      if (!nats) return stats;
      const nc = await connect({ servers: nats.url, reconnect: false, timeout: 2_000 });
      try {
        const jsm = await jetstreamManager(nc);
        for (const stream of (await jsm.streams.list().next()).filter(isInputStream)) {
          stats.published += stream.state.last_seq;
          for (const c of await jsm.consumers.list(stream.config.name).next()) {
            stats.delivered += c.delivered.consumer_seq;
            stats.pending += c.num_pending;
            stats.ackPending += c.num_ack_pending;
          }
        }
        // Each input goes to one partition's consumer: deliveries beyond one per input are redeliveries.
        stats.redelivered = Math.max(
          0,
          stats.delivered - (stats.published - stats.pending - stats.ackPending),
        );
        return stats;
      } finally {
        await nc.close();
      }
    }

    async function head(): Promise<number> {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ head: string | null }>(
          'SELECT max(position)::text AS head FROM events',
        );
        return Number(rows[0]?.head ?? 0);
      } catch {
        return 0; // not migrated yet
      } finally {
        await client.end();
      }
    }

    return {
      sipAddress: `127.0.0.1:${sipPort}`,
      sipPort,
      config,
      configPath,
      databaseUrl,
      nats,
      processes: () => [...launched],
      engines,
      addEngine,
      async kill(index, signal = 'SIGKILL') {
        const engine = engines()[index];
        if (!engine) throw new Error(`cluster: no engine #${index}`);
        await terminate(engine, signal);
      },
      freeze(index) {
        const engine = engines()[index];
        if (!engine?.running) throw new Error(`cluster: no running engine #${index}`);
        engine.child.kill('SIGSTOP');
      },
      async restartNats(downMs = 0) {
        if (!nats) throw new Error('cluster: no nats-server in all-in-one mode');
        await nats.restart(downMs);
      },
      async settle({ quietMs = 1_000, timeoutMs = 60_000 } = {}) {
        const deadline = Date.now() + timeoutMs;
        let last = -1;
        let quietSince = Date.now();
        for (;;) {
          const now = await head();
          let idle = false;
          try {
            idle = await busIdle();
          } catch {
            idle = false; // nats-server restarting
          }
          if (now !== last || !idle) {
            last = now;
            quietSince = Date.now();
          } else if (Date.now() - quietSince >= quietMs) {
            return;
          }
          if (Date.now() > deadline) {
            throw new Error(`cluster: not quiet within ${timeoutMs} ms (bus idle: ${idle}, head ${now})`);
          }
          await sleep(200);
        }
      },
      busStats,
      async events() {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          const { rows } = await client.query<{
            position: string;
            stream: string;
            revision: string;
            event_id: string;
            type: string;
            // biome-ignore lint/suspicious/noExplicitAny: jsonb columns.
            data: any;
            // biome-ignore lint/suspicious/noExplicitAny: jsonb columns.
            metadata: any;
          }>(
            `SELECT position, stream, revision, event_id, type, data, metadata FROM events
             WHERE stream LIKE 'call-%' ORDER BY position`,
          );
          return rows.map((row) => ({
            id: row.event_id,
            position: Number(row.position),
            stream: row.stream,
            revision: Number(row.revision),
            type: row.type,
            data: row.data,
            metadata: row.metadata,
          }));
        } finally {
          await client.end();
        }
      },
      output({ lines = 80 } = {}) {
        return launched
          .map((p) => {
            const all = p.text.split('\n');
            const tail = all.slice(-lines).join('\n');
            const state = p.running ? `pid ${p.pid}, running` : `pid ${p.pid}, exited`;
            return `===== pivot ${p.role} #${p.index} (${state}; last ${lines} of ${all.length} lines)\n${tail}`;
          })
          .join('\n');
      },
      dispose,
    };
  } catch (error) {
    const printed = launched.map((p) => `===== pivot ${p.role} #${p.index}\n${p.text}`).join('\n');
    await dispose().catch(() => {});
    throw printed ? new Error(`${String(error)}\n${printed}`, { cause: error }) : error;
  }
}
