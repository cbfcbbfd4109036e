/**
 * Runs real SIPp processes from tests: foreground, -nostdin, a bounded number of calls, a global
 * timeout, and message/error traces in a temp dir that are returned when it exits.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface SippOptions {
  /** Scenario file, relative to test/sipp (or absolute). */
  scenario: string;
  /** host:port to call, for UAC scenarios. */
  remote?: string;
  /** Port SIPp listens on; 0 or omitted picks a free one. */
  localPort?: number;
  /** Address SIPp binds to (-i); default 127.0.0.1. Other loopback addresses tell parties apart. */
  localIp?: string;
  /** -m: number of calls before SIPp exits (default 1). */
  calls?: number;
  /** -r: calls per second (default 10). */
  rate?: number;
  /** -set name value: scenario variables, read as [$name]. */
  vars?: Record<string, string>;
  /** 'tcp' runs SIPp with -t t1 (one TCP connection). Default udp. */
  transport?: 'udp' | 'tcp';
  extraArgs?: string[];
  /** Global timeout (SIPp's -timeout, plus a kill a few seconds later). Default 15 s. */
  timeoutMs?: number;
  /**
   * Directory SIPp runs in, kept afterwards (so -trace_rtt / -trace_stat files can be read); by default
   * a temp dir removed when SIPp exits.
   */
  workDir?: string;
}

export interface SippResult {
  /** SIPp's exit code: 0 all calls succeeded, 1 some failed, 97/99 other ends, -1/255 fatal. */
  code: number;
  stdout: string;
  stderr: string;
  /** The -trace_msg log. */
  messages: string;
  /** The -trace_err log. */
  errors: string;
}

export interface SippProcess {
  port: number;
  /** Resolves when SIPp's socket is bound (so a UAS is ready to receive). */
  ready: Promise<void>;
  done: Promise<SippResult>;
  kill(): void;
}

const SCENARIO_DIR = path.resolve(import.meta.dirname, '..', 'sipp');
const SIPP = process.env.SIPP_BIN ?? 'sipp';

export function runSipp(options: SippOptions): SippProcess {
  const port = options.localPort || freePortSync();
  const transport = options.transport ?? 'udp';
  const timeoutMs = options.timeoutMs ?? 15_000;
  const dir = options.workDir ?? mkdtempSync(path.join(tmpdir(), 'sipp-'));
  const messageFile = path.join(dir, 'messages.log');
  const errorFile = path.join(dir, 'errors.log');
  const scenario = path.isAbsolute(options.scenario)
    ? options.scenario
    : path.join(SCENARIO_DIR, options.scenario);
  const args = [
    '-sf',
    scenario,
    '-i',
    options.localIp ?? '127.0.0.1',
    '-p',
    String(port),
    '-m',
    String(options.calls ?? 1),
    '-r',
    String(options.rate ?? 10),
    '-nostdin',
    '-trace_msg',
    '-message_file',
    messageFile,
    '-trace_err',
    '-error_file',
    errorFile,
    '-timeout',
    `${Math.ceil(timeoutMs / 1000)}s`,
    '-timeout_error',
    ...(transport === 'tcp' ? ['-t', 't1'] : []),
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ['-set', name, value]),
    ...(options.extraArgs ?? []),
    ...(options.remote ? [options.remote] : []),
  ];
  const child: ChildProcess = spawn(SIPP, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout = (stdout + chunk.toString()).slice(-200_000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-200_000);
  });
  let exited = false;
  const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5_000);
  const done = new Promise<SippResult>((resolve) => {
    const finish = (code: number) => {
      exited = true;
      clearTimeout(guard);
      const result = { code, stdout, stderr, messages: readOr(messageFile), errors: readOr(errorFile) };
      if (!options.workDir) rmSync(dir, { recursive: true, force: true });
      resolve(result);
    };
    child.on('error', (error) => {
      stderr += `\nspawn failed: ${error.message}`;
      finish(-1);
    });
    child.on('exit', (code, signal) => finish(code ?? (signal ? 128 : -1)));
  });
  return {
    port,
    ready: waitForListening(port, transport, done),
    done,
    kill() {
      if (!exited) child.kill('SIGTERM');
    },
  };
}

/** A human-readable summary for assertion messages. */
export function describeSipp(result: SippResult): string {
  return [`exit ${result.code}`, `--- errors\n${result.errors}`, `--- messages\n${result.messages}`].join(
    '\n',
  );
}

/** A port free for both UDP and TCP on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** The same, synchronously (runSipp returns its port at once): a plain-JS twin run by a child node. */
function freePortSync(): number {
  const script = `${FREE_PORT_JS}\nprocess.stdout.write(String(await freePort()));`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

const FREE_PORT_JS = `
import net from 'node:net';
import dgram from 'node:dgram';
async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => { const a = server.address(); server.close(() => resolve(a.port)); });
    });
    const free = await new Promise((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (free) return port;
  }
}`;

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Polls /proc/net for the bound socket; without /proc, waits half a second. */
async function waitForListening(
  port: number,
  transport: 'udp' | 'tcp',
  exited: Promise<unknown>,
): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const files =
    transport === 'udp' ? ['/proc/net/udp', '/proc/net/udp6'] : ['/proc/net/tcp', '/proc/net/tcp6'];
  for (let i = 0; i < 200 && !gone; i++) {
    let tables: string;
    try {
      tables = files.map((f) => readOr(f)).join('\n');
    } catch {
      tables = '';
    }
    if (!tables) return new Promise((resolve) => setTimeout(resolve, 500));
    const bound = tables.split('\n').some((line) => {
      const [, local, , state] = line.trim().split(/\s+/);
      return local?.endsWith(`:${hex}`) && (transport === 'udp' || state === '0A');
    });
    if (bound) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
