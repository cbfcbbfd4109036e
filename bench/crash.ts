/**
 * kill -9 under load: SIPp blind-transfers `--count` calls at `--rate` through `pivot serve` (its own
 * process, SQLite store), the pivot is killed with SIGKILL halfway through and started again at once on
 * the same port and store, and when SIPp is done the store is checked:
 *
 * - no session stuck: every root call has ended, or has a pending timer that will end it (a reaper:
 *   Timer C, the ACK timeout, the call limit; or a transfer's timers). A call with neither would stay
 *   up forever (the reported case: a lone CallReceived whose INVITE never reached the carrier).
 * - no event stored twice: ids unique, revisions contiguous per stream, every input (its Call-ID and
 *   SIP transaction key, the events' correlation id, with its type and status) stored once, every timer
 *   fired once.
 *
 *   npm run bench:crash [-- --rate 20 --count 300 --runs 3 --kill-after-s 7.5] [--keep]
 *
 * SIPp calls in flight at the kill lose their dialogs with it (the new process knows them from the
 * store, but SIPp's scenarios time out on the messages that crossed the kill); the figures say how many.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { carrier, pbx, target } from '../test/e2e/parties.ts';
import { CARRIER_IP, TRUNK_DOMAIN } from '../test/e2e/pivot.ts';
import { freePort } from '../test/helpers/sipp.ts';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const rate = Number(flag('rate', '20'));
const count = Number(flag('count', '300'));
const runs = Number(flag('runs', '3'));
const killAfterS = Number(flag('kill-after-s', String(count / rate / 2)));
if (!(rate > 0) || !(count > 0) || !(runs > 0) || !(killAfterS > 0)) {
  console.error('usage: bench/crash.ts [--rate N] [--count N] [--runs N] [--kill-after-s S] [--keep]');
  process.exit(2);
}
const root = path.resolve(import.meta.dirname, '..');

function configFile(dir: string, sipPort: number, carrierPort: number): string {
  const file = path.join(dir, 'pivot.yaml');
  const config = {
    // One SIPp process is one source address sending every call: no per-source limit in a load bench.
    sip: { host: '127.0.0.1', port: sipPort, publicHost: '127.0.0.1', sourceLimit: false },
    http: { host: '127.0.0.1', port: 0 },
    store: { kind: 'sqlite', path: path.join(dir, 'pivot.db') },
    bus: { kind: 'inprocess' },
    carrier: { uri: `sip:${CARRIER_IP}:${carrierPort}` },
    transfer: { noAnswerTimeoutSeconds: 30, byeFallbackSeconds: 32 },
    trunks: [
      {
        name: 'acme',
        domain: TRUNK_DOMAIN,
        acl: ['127.0.0.1/32'],
        originationUri: 'sip:127.0.0.1:5070',
        numbers: ['+15550100000'],
        transferMode: 'enable-all',
        transferCallerId: 'from-transferee',
        maxTransfersPerCall: 5,
        rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045 } },
      },
    ],
  };
  writeFileSync(file, stringify(config));
  return file;
}

/** `pivot serve` in its own process; resolves once it listens (its log line says so). */
function serve(config: string, logFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'pivot.mjs'), 'serve', '--config', config], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let serving = false;
    let seen = '';
    const watch = (chunk: Buffer) => {
      appendFileSync(logFile, chunk);
      if (serving) return;
      seen = (seen + chunk.toString('utf8')).slice(-4_000);
      if (seen.includes('sip-pivot serving')) {
        serving = true;
        resolve(child);
      }
    };
    child.stdout!.on('data', watch);
    child.stderr!.on('data', watch);
    child.once('exit', (code, signal) => {
      if (!serving)
        reject(new Error(`pivot serve exited (${code ?? signal}) before serving; see ${logFile}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

interface Row {
  id: string;
  stream: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
}

interface Check {
  calls: number;
  ended: number;
  upWithTimer: number;
  stuck: string[];
  events: number;
  duplicates: string[];
  transfersCompleted: number;
  transfersFailed: number;
}

/** The store after the run: sessions stuck, events stored twice. */
function checkStore(dbPath: string): Check {
  const db = new Database(dbPath, { readonly: true });
  const rows = db
    .prepare<[], Row>(
      "SELECT event_id AS id, stream, revision, type, data, metadata FROM events WHERE stream LIKE 'call-%' ORDER BY position",
    )
    .all();
  db.close();
  const duplicates: string[] = [];
  const ids = new Set<string>();
  const byStream = new Map<string, Row[]>();
  for (const row of rows) {
    if (ids.has(row.id)) duplicates.push(`event id ${row.id} twice`);
    ids.add(row.id);
    byStream.set(row.stream, [...(byStream.get(row.stream) ?? []), row]);
  }
  let ended = 0;
  let upWithTimer = 0;
  const stuck: string[] = [];
  let transfersCompleted = 0;
  let transfersFailed = 0;
  for (const [stream, events] of byStream) {
    events.forEach((e, i) => {
      if (e.revision !== i) duplicates.push(`${stream}: revision ${e.revision} at index ${i}`);
    });
    const inputs = new Set<string>();
    const fired = new Set<string>();
    const pending = new Set<string>();
    const callSid = stream.slice('call-'.length);
    let rootEnded = false;
    for (const e of events) {
      const data = JSON.parse(e.data) as { callSid?: string; timerId?: string; status?: number };
      const metadata = JSON.parse(e.metadata) as { correlationId?: string; causationId?: string };
      if (!metadata.causationId && e.type !== 'TimerFired') {
        // A response's transaction key is its request's (a 180 and a 200 share it): type and status tell them apart.
        const key = `${metadata.correlationId ?? ''} ${e.type} ${data.status ?? ''}`;
        if (inputs.has(key)) duplicates.push(`${stream}: input ${e.type} ${key} stored twice`);
        inputs.add(key);
      }
      if (e.type === 'TimerScheduled') pending.add(data.timerId!);
      if (e.type === 'TimerCanceled') pending.delete(data.timerId!);
      if (e.type === 'TimerFired') {
        if (fired.has(data.timerId!)) duplicates.push(`${stream}: timer ${data.timerId} fired twice`);
        fired.add(data.timerId!);
        pending.delete(data.timerId!);
      }
      if (e.type === 'CallEnded' && data.callSid === callSid) rootEnded = true;
      if (e.type === 'TransferCompleted') transfersCompleted++;
      if (e.type === 'TransferFailed') transfersFailed++;
    }
    if (rootEnded) ended++;
    else if (pending.size > 0) upWithTimer++;
    else stuck.push(`${stream}: ${events.map((e) => e.type).join(' ')}`);
  }
  return {
    calls: byStream.size,
    ended,
    upWithTimer,
    stuck,
    events: rows.length,
    duplicates,
    transfersCompleted,
    transfersFailed,
  };
}

async function runOnce(run: number): Promise<Check> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pivot-crash-'));
  const logFile = path.join(dir, 'pivot.log');
  try {
    const sipPort = await freePort();
    const carrierPort = await freePort();
    const config = configFile(dir, sipPort, carrierPort);
    let pivot = await serve(config, logFile);
    // Long enough for every call SIPp can still finish; calls that lost messages in the kill time out.
    const timeoutMs = Math.ceil((count / rate) * 1000) + 45_000;
    const common = { calls: count, timeoutMs, extraArgs: ['-fd', '1'] };
    const far = carrier({ ...common, port: carrierPort, flow: 'hold_then_reconnect', childEnd: 'hangs_up' });
    const bob = target({ ...common, outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(`127.0.0.1:${sipPort}`, {
      ...common,
      rate,
      flow: 'transfer',
      target: `target@127.0.0.1:${bob.port}`,
      byeDelayMs: 200,
    });
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, killAfterS * 1000));
    pivot.kill('SIGKILL');
    await exited(pivot);
    const killedAt = performance.now();
    pivot = await serve(config, logFile);
    const downMs = performance.now() - killedAt;
    const results = await Promise.all([agent.done, far.done, bob.done]);
    const wallS = (performance.now() - started) / 1000;
    pivot.kill('SIGTERM');
    await exited(pivot);
    const check = checkStore(path.join(dir, 'pivot.db'));
    console.log(
      `\n== run ${run}: ${count} transfers at ${rate}/s, kill -9 after ${killAfterS} s, serving again ${downMs.toFixed(0)} ms later (${wallS.toFixed(1)} s wall)`,
    );
    console.log(
      `  sipp exit codes pbx ${results[0]!.code} carrier ${results[1]!.code} target ${results[2]!.code} (calls cut by the kill end in SIPp timeouts)`,
    );
    console.log(
      `  sessions ${check.calls}: ended ${check.ended}, up with a pending timer ${check.upWithTimer}, stuck ${check.stuck.length}`,
    );
    console.log(
      `  transfers completed ${check.transfersCompleted}, failed ${check.transfersFailed}; events ${check.events}; duplicated ${check.duplicates.length}`,
    );
    for (const line of [...check.stuck, ...check.duplicates].slice(0, 10)) console.log(`    ${line}`);
    if (process.argv.includes('--keep')) console.log(`  store and log kept in ${dir}`);
    return check;
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}

let failed = false;
for (let run = 1; run <= runs; run++) {
  const check = await runOnce(run);
  if (check.stuck.length > 0 || check.duplicates.length > 0) failed = true;
}
console.log(
  failed ? '\nFAILED: a session stuck or an event stored twice' : '\nOK: nothing stuck, nothing twice',
);
process.exit(failed ? 1 : 0);
