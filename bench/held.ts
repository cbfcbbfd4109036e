/**
 * Established calls held through `pivot serve` (its own process, SQLite store): what each held call
 * costs in memory, and whether requests inside a dialog get slower with many calls up.
 *
 *   npm run bench:held [-- --calls 20000 --rate 100 --hold-s S --probes 100 --per-probe 5]
 *                      [--pivot path/to/bin/pivot.mjs] [--snapshot] [--keep]
 *
 * The PBX (SIPp on 127.0.0.1) places `--calls` termination calls at `--rate` to the carrier (SIPp on
 * 127.0.0.2), which answers; each call is held `--hold-s` (SIPp's -d: the hang-ups come at the rate the
 * calls came), then sends one OPTIONS inside its dialog and hangs up. Before the calls and while all
 * are up, a probe PBX places `--probes` calls of its own, each sending `--per-probe` OPTIONS inside its
 * dialog back to back: the pivot answers those itself after loading the session (engine, session cache,
 * classify; nothing stored), so OPTIONS -> 200 is the in-dialog path without the carrier's share.
 *
 * Memory is read from the pivot's process: RSS from /proc, the V8 heap right after eight full collections
 * (bench/held-gc.mjs, loaded into the pivot, collects on SIGUSR2 and prints it). Each reading waits
 * until the SIP server transactions of the calls set up have expired (32 s after their answer) and, on
 * a pivot that reports it, until the idle sessions were compacted in the session cache (a minute after
 * their last input), so the figures are those of calls held, not of calls being set up. Per call:
 * (reading with the calls up - reading before) / calls up. `--snapshot` also writes a heap snapshot
 * before the calls and with them up (after those readings: writing one inflates RSS), for a diff in
 * the DevTools' comparison view; `--keep` keeps them, with SIPp's traces.
 * Each SIPp call holds a file descriptor: `npm run bench:held` raises the open-file limit to 65,536 where
 * it may (as root); run directly, SIPp warns past `ulimit -n` and may abort calls.
 * The session cache's hits and misses come from /metrics (`pivot_engine_session_cache_*`); a pivot
 * without them (an older build, `--pivot`) prints n/a. `--pivot` runs another checkout's build with
 * this bench, for a comparison with the same command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { CARRIER_IP, TRUNK_DOMAIN } from '../test/e2e/pivot.ts';
import { freePort, runSipp, type SippProcess, type SippResult } from '../test/helpers/sipp.ts';
import { percentiles, type TracedMessage, traced } from './sipp-load.ts';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const root = path.resolve(import.meta.dirname, '..');
const calls = Number(flag('calls', '20000'));
const rate = Number(flag('rate', '100'));
const probes = Number(flag('probes', '100'));
const perProbe = Number(flag('per-probe', '5'));
/** Long enough to place every call, let their transactions expire, read the heap twice and probe. */
const holdS = Number(flag('hold-s', String(Math.ceil(calls / rate) + 200)));
const pivotBin = path.resolve(flag('pivot', path.join(root, 'bin', 'pivot.mjs')));
const snapshots = process.argv.includes('--snapshot');
/** Which readings take a heap snapshot (after their RSS and heap were read: a snapshot inflates RSS). */
const snapshotAt = ['before the calls', 'calls held'];
const keep = process.argv.includes('--keep');
if (![calls, rate, probes, perProbe, holdS].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('usage: bench/held.ts [--calls N] [--rate N] [--hold-s S] [--probes N] [--per-probe N]');
  process.exit(2);
}

// ---- scenarios -------------------------------------------------------------------------------------

const SDP = [
  'v=0',
  'o=pbx 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 10000 RTP/AVP 0',
];

function inDialog(method: string, cseq: number): string {
  return `  <send retrans="500">
    <![CDATA[
      ${method} [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:+15550100000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: [$pivot_to]
      Call-ID: [call_id]
      CSeq: ${cseq} ${method}
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
`;
}

/** The PBX: a call, a hold (SIPp's -d) or none, `options` OPTIONS inside the dialog, then BYE. */
function pbxScenario(hold: boolean, options: number): string {
  const probesXml = Array.from({ length: options }, (_, i) => inDialog('OPTIONS', 2 + i)).join('');
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="held-pbx">
  <send retrans="500">
    <![CDATA[
      INVITE sip:+15550200000@${TRUNK_DOMAIN} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:+15550100000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:+15550200000@${TRUNK_DOMAIN}>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:pbx@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

${SDP.join('\n')}

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="[^ ].*" search_in="hdr" header="To:" assign_to="pivot_to"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:+15550100000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: [$pivot_to]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Content-Length: 0

    ]]>
  </send>
${hold ? '  <pause/>\n' : ''}${probesXml}${inDialog('BYE', 2 + options)}</scenario>
`;
}

/** The carrier: answers, then waits for the pivot's BYE. */
const CARRIER = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="held-carrier">
  <recv request="INVITE"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:carrier@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=carrier 7 7 IN IP4 127.0.0.2
      s=-
      c=IN IP4 127.0.0.2
      t=0 0
      m=audio 20000 RTP/AVP 0

    ]]>
  </send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
`;

// ---- the pivot -------------------------------------------------------------------------------------

function configFile(dir: string, sipPort: number, httpPort: number, carrierPort: number): string {
  const file = path.join(dir, 'pivot.yaml');
  const config = {
    // One SIPp process is one source address sending every call: no per-source limit in a load bench.
    sip: { host: '127.0.0.1', port: sipPort, publicHost: '127.0.0.1', sourceLimit: false },
    http: { host: '127.0.0.1', port: httpPort },
    store: { kind: 'sqlite', path: path.join(dir, 'pivot.db') },
    bus: { kind: 'inprocess' },
    carrier: { uri: `sip:${CARRIER_IP}:${carrierPort}` },
    trunks: [
      {
        name: 'acme',
        domain: TRUNK_DOMAIN,
        acl: ['127.0.0.1/32'],
        originationUri: 'sip:127.0.0.1:5070',
        numbers: ['+15550100000'],
        transferMode: 'enable-all',
        rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045 } },
      },
    ],
  };
  writeFileSync(file, stringify(config));
  return file;
}

/** Resolved, in order, by the pivot's `held-gc` lines. */
const gcWaiters: Array<(heap: Heap) => void> = [];

interface Heap {
  used: number;
  total: number;
  external: number;
  /** RSS right after the collection. */
  rss: number;
}

/** The pivot's live heap: a full collection first (held-gc.mjs). */
function liveHeap(child: ChildProcess): Promise<Heap> {
  const answer = new Promise<Heap>((resolve) => gcWaiters.push(resolve));
  child.kill('SIGUSR2');
  return answer;
}

function serve(config: string, dir: string): Promise<ChildProcess> {
  const logFile = path.join(dir, 'pivot.log');
  const args = [
    '--expose-gc',
    '--import',
    pathToFileURL(path.join(import.meta.dirname, 'held-gc.mjs')).href,
    ...(snapshots ? ['--heapsnapshot-signal=SIGWINCH'] : []),
    pivotBin,
    'serve',
    '--config',
    config,
  ];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    let serving = false;
    const watch = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      for (const [, used, total, external, rss] of text.matchAll(
        /held-gc heapUsed=(\d+) heapTotal=(\d+) external=(\d+) rss=(\d+)/g,
      )) {
        gcWaiters.shift()?.({
          used: Number(used),
          total: Number(total),
          external: Number(external),
          rss: Number(rss),
        });
      }
      if (serving) return;
      seen = (seen + chunk.toString('utf8')).slice(-8_000);
      if (seen.includes('sip-pivot serving')) {
        serving = true;
        resolve(child);
      }
    };
    child.stdout!.on('data', watch);
    child.stderr!.on('data', watch);
    child.once('exit', (code, signal) => {
      writeFileSync(logFile, seen);
      if (!serving) reject(new Error(`pivot serve exited (${code ?? signal}) before serving:\n${seen}`));
    });
  });
}

async function metrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** Waits until `check` holds, polling; fails after `limitMs` (a stuck pivot must not hang the bench). */
async function until(what: string, check: () => Promise<boolean>, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

interface Cache {
  hits: number | undefined;
  misses: number | undefined;
}

interface Reading {
  rss: number;
  rssCollected: number;
  heap: number;
  heapTotal: number;
  external: number;
  cached: number | undefined;
}

async function cache(): Promise<Cache> {
  const m = await metrics(api);
  return {
    hits: m.get('pivot_engine_session_cache_hits_total'),
    misses: m.get('pivot_engine_session_cache_misses_total'),
  };
}

// ---- the run ---------------------------------------------------------------------------------------

const work = mkdtempSync(path.join(tmpdir(), 'pivot-held-'));
// SIPp's message traces on tmpfs: on the disk the store fsyncs on, their writeback stalls the store.
const traces = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'pivot-held-sipp-'));
const files = {
  held: path.join(traces, 'held-pbx.xml'),
  probe: path.join(traces, 'probe-pbx.xml'),
  carrier: path.join(traces, 'carrier.xml'),
};
writeFileSync(files.held, pbxScenario(true, 1));
writeFileSync(files.probe, pbxScenario(false, perProbe));
writeFileSync(files.carrier, CARRIER);

const [sipPort, httpPort, carrierPort] = [await freePort(), await freePort(), await freePort()];
const pivot = await serve(configFile(work, sipPort, httpPort, carrierPort), work);
const api = `http://127.0.0.1:${httpPort}`;
const address = `127.0.0.1:${sipPort}`;
const running: SippProcess[] = [];

let compactedAtLastReading = 0;

async function reading(label: string, expectCompacted: number): Promise<Reading> {
  // The calls' server transactions absorb retransmissions for 32 s after their answer: wait them out.
  await until(
    'the server transactions to expire',
    async () => ((await metrics(api)).get('pivot_sip_server_transactions') ?? 0) <= probes,
    120_000,
  );
  // Sessions idle for a minute are lightened in the cache, ended ones let go: wait for it, as a call
  // held for minutes would be (a pivot without the figure is read as it is).
  const compacted = async () => {
    const m = await metrics(api);
    const lightened = m.get('pivot_engine_session_cache_lightened_total');
    return lightened === undefined
      ? undefined
      : lightened + (m.get('pivot_engine_session_cache_dropped_total') ?? 0);
  };
  const from = compactedAtLastReading;
  if ((await compacted()) !== undefined && expectCompacted > 0) {
    await until(
      'idle sessions to be compacted',
      async () => (await compacted())! - from >= expectCompacted,
      240_000,
    );
  }
  compactedAtLastReading = (await compacted()) ?? 0;
  const rss = rssBytes(pivot.pid!);
  const heap = await liveHeap(pivot);
  if (snapshots && snapshotAt.includes(label)) {
    pivot.kill('SIGWINCH');
    // Written on the main thread: /metrics answers once it is done.
    await metrics(api);
  }
  const r = {
    rss,
    rssCollected: heap.rss,
    heap: heap.used,
    heapTotal: heap.total,
    external: heap.external,
    cached: (await metrics(api)).get('pivot_engine_sessions_cached'),
  };
  console.log(
    `  ${label}: RSS ${mb(r.rss)} (${mb(r.rssCollected)} after a full collection), heap used ${mb(r.heap)} of ${mb(r.heapTotal)}, external ${mb(r.external)}, sessions cached ${r.cached ?? 'n/a'}` +
      (snapshots && snapshotAt.includes(label) ? ` (heap snapshot ${lastSnapshot()})` : ''),
  );
  return r;
}

function lastSnapshot(): string {
  const found = readdirSync(work).filter((f) => f.endsWith('.heapsnapshot'));
  const last = found.sort().at(-1);
  return last ? `${path.join(work, last)}, ${mb(statSync(path.join(work, last)).size)}` : 'none';
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** OPTIONS -> 200 per transaction, as the PBX saw it on the wire. */
function optionsLatencies(result: SippResult): number[] {
  const sent = new Map<string, number>();
  const out: number[] = [];
  const key = (m: TracedMessage) => `${m.callId} ${m.cseq}`;
  for (const m of traced(result)) {
    if (!m.cseq.endsWith('OPTIONS')) continue;
    if (m.sent && m.firstLine.startsWith('OPTIONS ')) {
      if (!sent.has(key(m))) sent.set(key(m), m.t);
    } else if (!m.sent && m.firstLine.startsWith('SIP/2.0 200')) {
      const start = sent.get(key(m));
      if (start !== undefined) out.push(m.t - start);
      sent.delete(key(m));
    }
  }
  return out;
}

function failed(result: SippResult): string {
  return result.code === 0 ? 'none' : `exit ${result.code}: ${result.errors.slice(0, 600)}`;
}

async function probe(label: string): Promise<number[]> {
  const dir = mkdtempSync(path.join(traces, 'probe-'));
  const p = runSipp({
    scenario: files.probe,
    remote: address,
    calls: probes,
    rate: Math.min(rate, 50),
    timeoutMs: 120_000,
    workDir: dir,
    extraArgs: ['-l', String(probes)],
  });
  running.push(p);
  const result = await p.done;
  const latencies = optionsLatencies(result);
  console.log(
    `  in-dialog OPTIONS -> 200, ${label}: ${percentiles(latencies)}; SIPp failures ${failed(result)}`,
  );
  return latencies;
}

const hitRate = (from: Cache, to: Cache) => {
  if (to.hits === undefined || from.hits === undefined) return 'n/a';
  const hits = to.hits - from.hits;
  const misses = (to.misses ?? 0) - (from.misses ?? 0);
  return `${((hits / Math.max(1, hits + misses)) * 100).toFixed(1)} % (${hits} hits, ${misses} misses)`;
};

try {
  console.log(
    `== held calls: ${calls} at ${rate}/s, each held ${holdS} s; pivot ${pivotBin} (pid ${pivot.pid}); work ${work}`,
  );
  const carrier = runSipp({
    scenario: files.carrier,
    localIp: CARRIER_IP,
    localPort: carrierPort,
    calls: calls + 2 * probes,
    timeoutMs: (holdS + calls / rate) * 1000 + 900_000,
    workDir: mkdtempSync(path.join(traces, 'carrier-')),
    extraArgs: ['-max_socket', '65000'],
  });
  running.push(carrier);
  await carrier.ready;

  await probe('0 calls held');
  const before = await reading('before the calls', probes);

  const placedAt = Date.now();
  const held = runSipp({
    scenario: files.held,
    remote: address,
    calls,
    rate,
    timeoutMs: (holdS + (2 * calls) / rate) * 1000 + 900_000,
    workDir: mkdtempSync(path.join(traces, 'held-')),
    extraArgs: ['-d', String(holdS * 1000), '-l', String(calls + 10)],
  });
  running.push(held);
  // Every call placed is in the call log once the pivot answered it (or refused it).
  const logged = async () => {
    let total = 0;
    for (const [name, value] of await metrics(api)) if (name.startsWith('pivot_calls{')) total += value;
    return total;
  };
  // A call SIPp gave up on (no answer in time, on a loaded machine) never reaches the log: every call
  // placed, or the log still for 10 s once SIPp had the time to place them all.
  let last = -1;
  let stillSince = Date.now();
  await until(
    `${calls} calls placed`,
    async () => {
      const now = await logged();
      if (now !== last) [last, stillSince] = [now, Date.now()];
      const placing = Date.now() - placedAt < (calls / rate) * 1000;
      return now >= calls + probes || (!placing && Date.now() - stillSince > 10_000);
    },
    holdS * 1000,
  );
  await until(
    'the calls placed to be answered',
    async () => ((await metrics(api)).get('pivot_calls{status="ringing"}') ?? 0) === 0,
    60_000,
  );
  const placedS = (Date.now() - placedAt) / 1000;
  const upCount = (await metrics(api)).get('pivot_calls{status="in-progress"}') ?? 0;
  console.log(
    `  ${upCount} of ${calls} calls up after ${placedS.toFixed(1)} s (${(calls / placedS).toFixed(0)}/s)`,
  );
  const up = await reading('calls held', upCount);
  const beforeProbe = await cache();
  await probe(`${calls} calls held`);
  const afterProbe = await cache();
  const probedS = (Date.now() - placedAt) / 1000;
  if (probedS > holdS)
    console.log(
      `  WARNING: the held calls began hanging up (${holdS} s) before the probe ended: raise --hold-s`,
    );

  const heldResult = await held.done;
  const afterHold = await cache();
  const heldLatencies = optionsLatencies(heldResult);
  console.log(
    `  in-dialog OPTIONS -> 200 at the end of each hold (the calls hanging up at ${rate}/s): ${percentiles(heldLatencies)}; ` +
      `SIPp failures ${failed(heldResult)}`,
  );
  await until(
    'every call to end',
    async () => ((await metrics(api)).get('pivot_calls{status="in-progress"}') ?? 0) === 0,
    120_000,
  );
  const after = await reading('all hung up', upCount);

  const perCall = (field: 'rss' | 'rssCollected' | 'heap') =>
    ((up[field] - before[field]) / upCount / 1024).toFixed(1);
  console.log(`\n== ${upCount} held calls`);
  console.log(
    `  RSS   before ${mb(before.rss)}  held ${mb(up.rss)}  after ${mb(after.rss)}  per call ${perCall('rss')} KB`,
  );
  console.log(
    `  RSS after a full collection: before ${mb(before.rssCollected)}  held ${mb(up.rssCollected)}  after ${mb(after.rssCollected)}  per call ${perCall('rssCollected')} KB`,
  );
  console.log(
    `  heap  before ${mb(before.heap)}  held ${mb(up.heap)}  after ${mb(after.heap)}  per call ${perCall('heap')} KB`,
  );
  console.log(`  session cache hit rate, the probe with the calls held: ${hitRate(beforeProbe, afterProbe)}`);
  console.log(`  session cache hit rate, the held calls' OPTIONS and BYE: ${hitRate(afterProbe, afterHold)}`);
  const back = after.heap - before.heap;
  console.log(
    `  back down: heap ${back <= (up.heap - before.heap) * 0.5 ? 'yes' : 'NO'} (${mb(back)} above the start, ` +
      `${mb(up.heap - before.heap)} with the calls up)`,
  );
} finally {
  for (const p of running) p.kill();
  pivot.kill('SIGTERM');
  await new Promise((resolve) => (pivot.exitCode !== null ? resolve(null) : pivot.once('exit', resolve)));
  if (keep) console.log(`  kept: ${work}, ${traces}`);
  else {
    rmSync(work, { recursive: true, force: true });
    rmSync(traces, { recursive: true, force: true });
  }
}

process.exit(0);
