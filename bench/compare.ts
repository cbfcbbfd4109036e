/**
 * sip-pivot next to a Kamailio 5.6 stateful relay, in one run on one machine: `npm run bench:compare`.
 *
 * (a) Kamailio (bench/compare/kamailio.cfg: tm, sl, rr, 4 UDP children, record-routing) in front of a
 *     trivial SIPp UAS, and (b) the pivot (in this process: SIP adapter, engine, projections, HTTP API,
 *     SQLite store with group commit and synchronous=FULL) in front of the same UAS. The same SIPp PBX
 *     (bench/compare/uac.xml: INVITE, 200, ACK, BYE after 200 ms) calls both.
 * Each runs a rate ladder (steps of --seconds at rates growing by --factor from --start) that stops at
 * the first step with a failed call; the highest rate without one is its figure. Then one step at half
 * that rate gives INVITE -> 200 p50/p99 as the PBX sees it (SIPp's microsecond traces). The pivot also
 * runs a ladder of blind transfers (bench/sipp-load.ts), whose half-rate step gives REFER -> 202.
 * SIPp and the relays share the machine, so only ratios within one run are figures.
 *
 *   npm run bench:compare [-- --seconds 5 --start 50 --factor 1.5 --max 6000] [--skip-transfers] [--keep]
 *
 * --keep keeps SIPp's files of the plain-call steps (traces, errors, stat.csv).
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestPivot } from '../test/e2e/pivot.ts';
import { freePort, runSipp } from '../test/helpers/sipp.ts';
import { deltas, firstTimes, lastStats, percentile, runLoad, traced } from './sipp-load.ts';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!(value > 0)) {
    console.error(`--${name} must be a positive number`);
    process.exit(2);
  }
  return value;
}

const stepSeconds = flag('seconds', 5);
const start = flag('start', 50);
const factor = flag('factor', 1.5);
const ceiling = flag('max', 6000);
if (!(factor > 1)) {
  console.error('--factor must be above 1');
  process.exit(2);
}
const here = import.meta.dirname;
const uacScenario = path.join(here, 'compare', 'uac.xml');
const uasScenario = path.join(here, 'compare', 'uas.xml');
const CARRIER_IP = '127.0.0.2';
// Traces on tmpfs where there is one: writeback to the disk the pivot fsyncs on would be the bench's cost.
const traceRoot = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

const ladder = (): number[] => {
  const rates: number[] = [];
  for (let rate = start; rate <= ceiling; rate *= factor) rates.push(Math.round(rate));
  return rates;
};

interface Step {
  rate: number;
  calls: number;
  ok: boolean;
  failed: string;
  /** INVITE -> 200 per call, ms. */
  inviteTo200: number[];
}

/** One ladder step of plain calls: the UAS on the carrier address, the PBX calling `relay`. */
async function plainStep(relay: string, uasPort: number, rate: number): Promise<Step> {
  const calls = Math.max(1, Math.round(rate * stepSeconds));
  const timeoutMs = stepSeconds * 1000 + 20_000;
  const work = mkdtempSync(path.join(traceRoot, 'pivot-compare-'));
  try {
    const uasDir = mkdtempSync(path.join(work, 'uas-'));
    const uacDir = mkdtempSync(path.join(work, 'uac-'));
    const stats = ['-trace_stat', '-stf', 'stat.csv', '-fd', '1'];
    const uas = runSipp({
      scenario: uasScenario,
      localIp: CARRIER_IP,
      localPort: uasPort,
      calls,
      timeoutMs,
      extraArgs: stats,
      workDir: uasDir,
    });
    await uas.ready;
    const uac = runSipp({
      scenario: uacScenario,
      remote: relay,
      calls,
      rate,
      timeoutMs,
      extraArgs: stats,
      workDir: uacDir,
    });
    const uacResult = await uac.done;
    // Every call has ended for the PBX: the carrier gets a few seconds for its side (the relay's BYE,
    // retransmissions), then whatever it still waits for counts as a failed call.
    const grace = setTimeout(() => uas.kill(), uacResult.code === 0 ? 5000 : 0);
    const uasResult = await uas.done;
    clearTimeout(grace);
    const uacStats = lastStats(uacDir);
    const failedCalls = Number(uacStats['FailedCall(C)'] ?? Number.NaN);
    const okCalls = Number(uacStats['SuccessfulCall(C)'] ?? Number.NaN);
    const ok = uacResult.code === 0 && uasResult.code === 0 && failedCalls === 0 && okCalls === calls;
    const trace = traced(uacResult);
    const sent = firstTimes(trace, (m) => m.sent && m.firstLine.startsWith('INVITE '));
    const answered = firstTimes(
      trace,
      (m) => !m.sent && m.firstLine.startsWith('SIP/2.0 200') && m.cseq.endsWith('INVITE'),
    );
    return {
      rate,
      calls,
      ok,
      failed: ok
        ? ''
        : `PBX exit ${uacResult.code}, ${okCalls} ok, ${failedCalls} failed; carrier exit ${uasResult.code}`,
      inviteTo200: deltas(sent, answered),
    };
  } finally {
    if (process.argv.includes('--keep')) console.log(`  SIPp files kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

/** Climbs the ladder until a step fails; the highest rate that had no failed call. */
async function climb(label: string, step: (rate: number) => Promise<Step>): Promise<number> {
  let best = 0;
  for (const rate of ladder()) {
    const result = await step(rate);
    console.log(
      `  ${label} ${String(rate).padStart(5)}/s: ${result.ok ? 'no failed call' : `FAILED (${result.failed})`}`,
    );
    if (!result.ok) break;
    best = rate;
  }
  return best;
}

const ms = (values: number[], p: number) => {
  const value = percentile(values, p);
  return value === undefined ? 'n/a' : `${value.toFixed(1)} ms`;
};

// ---- Kamailio ---------------------------------------------------------------------------------------

const MODULE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/kamailio/modules',
  '/usr/lib/kamailio/modules',
  '/usr/local/lib64/kamailio/modules',
];

/** Waits until Kamailio answers: an in-dialog OPTIONS it does not know gets its 404. */
async function kamailioAnswers(port: number, exited: () => boolean): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const local = socket.address().port;
  let answered = false;
  socket.on('message', () => {
    answered = true;
  });
  try {
    for (let attempt = 0; !answered; attempt++) {
      if (exited()) throw new Error('kamailio exited at start');
      const probe = [
        `OPTIONS sip:probe@127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-probe-${attempt}`,
        'Max-Forwards: 70',
        `From: <sip:probe@127.0.0.1:${local}>;tag=probe`,
        `To: <sip:probe@127.0.0.1:${port}>;tag=probe`,
        `Call-ID: probe-${attempt}@127.0.0.1`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(probe, port, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    socket.close();
  }
}

async function startKamailio(uasPort: number): Promise<{ address: string; stop(): Promise<void> }> {
  const modules = MODULE_DIRS.find((dir) => existsSync(path.join(dir, 'tm.so')));
  if (!modules) throw new Error(`Kamailio modules not found in ${MODULE_DIRS.join(', ')}`);
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'pivot-compare-kamailio-'));
  const config = readFileSync(path.join(here, 'compare', 'kamailio.cfg'), 'utf8')
    .replace('{{LISTEN}}', `127.0.0.1:${port}`)
    .replace('{{NEXT_HOP}}', `${CARRIER_IP}:${uasPort}`)
    .replace('{{MODULES}}', `${modules}/`);
  writeFileSync(path.join(dir, 'kamailio.cfg'), config);
  const child = spawn(
    process.env.KAMAILIO_BIN ?? 'kamailio',
    ['-DD', '-E', '-f', path.join(dir, 'kamailio.cfg'), '-Y', dir, '-m', '256', '-M', '16'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exit = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  try {
    await kamailioAnswers(port, () => exited);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${String(error)}\n${stderr}`);
  }
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exit;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- the run ----------------------------------------------------------------------------------------

interface Row {
  what: string;
  max: number;
  half?: Step;
  referTo202?: number[];
}

const rows: Row[] = [];
const uasPort = await freePort();

console.log(`rate ladders: ${stepSeconds} s steps from ${start}/s, x${factor}, up to ${ceiling}/s`);
const kamailio = await startKamailio(uasPort);
try {
  const max = await climb('kamailio', (rate) => plainStep(kamailio.address, uasPort, rate));
  const half =
    max > 0 ? await plainStep(kamailio.address, uasPort, Math.max(1, Math.round(max / 2))) : undefined;
  rows.push({ what: 'Kamailio 5.6 stateful relay, plain calls', max, ...(half ? { half } : {}) });
} finally {
  await kamailio.stop();
}

{
  const pivot = await startTestPivot({ carrierPort: uasPort, sourceLimit: false });
  try {
    const max = await climb('pivot plain', (rate) => plainStep(pivot.address, uasPort, rate));
    const half =
      max > 0 ? await plainStep(pivot.address, uasPort, Math.max(1, Math.round(max / 2))) : undefined;
    rows.push({ what: 'sip-pivot B2BUA, plain calls', max, ...(half ? { half } : {}) });
  } finally {
    await pivot.dispose();
  }
}

if (!process.argv.includes('--skip-transfers')) {
  const carrierPort = await freePort();
  const pivot = await startTestPivot({ carrierPort, sourceLimit: false });
  try {
    const loaded = { address: pivot.address, carrierPort, events: async () => [] };
    const transferStep = async (rate: number) => {
      const count = Math.max(1, Math.round(rate * stepSeconds));
      const figures = await runLoad({ mode: 'transfer', rate, count, pivot: loaded });
      const failed = figures.parties.filter((p) => p.exit !== 0 || p.failed !== 0 || p.ok !== count);
      return {
        figures,
        ok: failed.length === 0,
        failed: failed.map((p) => `${p.who} exit ${p.exit}, ${p.ok} ok, ${p.failed} failed`).join('; '),
      };
    };
    let max = 0;
    for (const rate of ladder()) {
      const step = await transferStep(rate);
      console.log(
        `  pivot transfers ${String(rate).padStart(5)}/s: ${step.ok ? 'no failed call' : `FAILED (${step.failed})`}`,
      );
      if (!step.ok) break;
      max = rate;
    }
    const row: Row = { what: 'sip-pivot, blind transfers', max };
    if (max > 0) {
      const rate = Math.max(1, Math.round(max / 2));
      const { figures } = await transferStep(rate);
      row.half = { rate, calls: figures.count, ok: true, failed: '', inviteTo200: figures.inviteTo200 };
      row.referTo202 = figures.referTo202;
    }
    rows.push(row);
  } finally {
    await pivot.dispose();
  }
}

console.log();
console.log(
  `${'relay'.padEnd(42)} ${'max rate'.padStart(9)}  ${'at half'.padStart(8)}  ${'INVITE->200 p50 / p99'.padStart(22)}  ${'REFER->202 p50 / p99'.padStart(22)}`,
);
for (const row of rows) {
  const half = row.half;
  const invite = half ? `${ms(half.inviteTo200, 50)} / ${ms(half.inviteTo200, 99)}` : 'n/a';
  const refer = row.referTo202 ? `${ms(row.referTo202, 50)} / ${ms(row.referTo202, 99)}` : '';
  console.log(
    `${row.what.padEnd(42)} ${`${row.max}/s`.padStart(9)}  ${(half ? `${half.rate}/s` : '-').padStart(8)}  ${invite.padStart(22)}  ${refer.padStart(22)}`,
  );
}
const [kam, plain] = rows;
if (kam && plain && kam.max > 0) {
  console.log(
    `\nplain calls, sip-pivot / Kamailio: ${(plain.max / kam.max).toFixed(2)} (1 : ${(kam.max / Math.max(plain.max, 1)).toFixed(1)})`,
  );
}
console.log(
  '(the highest rate of each ladder with no failed call; one machine, SIPp included: compare ratios, not rates)',
);
// SIPp guard timers of finished runs may still be pending.
process.exit(0);
