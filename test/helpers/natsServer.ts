/**
 * Runs a real nats-server (with JetStream, file storage in a temp dir) for tests, on a free port, never
 * the system one on 4222. `restart()` stops it and starts it again on the same port and store dir, so
 * the streams and their messages survive, as in a production restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** The running server's process id (a new one after `restart`). */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes the store dir if it made it. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port with the same store dir, `downMs` later. */
  restart(downMs?: number): Promise<void>;
}

export interface NatsServerOptions {
  port?: number;
  storeDir?: string;
}

function natsServerBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'nats-server'))) return path.join(dir, 'nats-server');
  }
  return '/usr/sbin/nats-server';
}

/** A port nothing listens on right now (the OS picks it), never 4222. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port !== 4222 && port !== 0) return port;
  }
}

/** Servers still running; killed if the test process exits without stopping them (a timed-out hook). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function launch(port: number, storeDir: string): Promise<ChildProcess> {
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  const child = spawn(natsServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error('nats-server did not become ready within 10 s')), 10_000);
    function fail(error: Error) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n${output}`));
    }
    const onEarlyExit = (code: number | null, signal: string | null) =>
      fail(new Error(`nats-server exited (${code ?? signal}) before ready`));
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) {
        clearTimeout(timer);
        child.off('exit', onEarlyExit);
        child.stdout?.removeAllListeners('data');
        child.stderr?.removeAllListeners('data');
        // Keep draining the pipes so the server never blocks on a full one.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', fail);
    child.once('exit', onEarlyExit);
  });
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const ownDir = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(path.join(tmpdir(), 'nats-js-'));
  const port = options.port ?? (await freePort());
  let child = await launch(port, storeDir);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    get pid() {
      return child.pid;
    },
    async stop() {
      await terminate(child);
      if (ownDir) rmSync(storeDir, { recursive: true, force: true });
    },
    async restart(downMs = 0) {
      await terminate(child);
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      child = await launch(port, storeDir);
    },
  };
}
