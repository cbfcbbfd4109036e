/**
 * The installed `pivot` command stops on SIGTERM and SIGINT: the process that received the signal is
 * the server itself (no child left behind holding the ports), it exits 0, and its SIP port is free.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { optionsAnswered } from '../helpers/optionsProbe.ts';
import { freePort } from '../helpers/sipp.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'pivot.mjs');

let dir: string | undefined;
let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
  child = undefined;
  dir = undefined;
});

function configFile(sipPort: number): string {
  dir = mkdtempSync(join(tmpdir(), 'pivot-signals-'));
  const path = join(dir, 'pivot.yaml');
  writeFileSync(
    path,
    stringify({
      sip: { host: '127.0.0.1', port: sipPort, publicHost: '127.0.0.1' },
      http: { host: '127.0.0.1', port: 0 },
      store: { kind: 'sqlite', path: join(dir, 'pivot.db') },
      bus: { kind: 'inprocess' },
      carrier: { uri: 'sip:127.0.0.2:5090' },
      trunks: [
        {
          name: 'acme',
          domain: 'acme.pstn.pivot.test',
          acl: ['127.0.0.1/32'],
          originationUri: 'sip:127.0.0.1:5070',
          numbers: ['+15550100000'],
          transferMode: 'enable-all',
          rates: { currency: 'USD', origination: { '': 0.01 }, termination: { '': 0.01 } },
        },
      ],
    }),
  );
  return path;
}

function exited(process: ChildProcess, deadlineMs = 15_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('pivot did not exit after the signal')), deadlineMs);
    process.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

describe('pivot serve and signals', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the pivot command stops the server it runs and frees its ports`, async () => {
      const port = await freePort();
      child = spawn(process.execPath, [BIN, 'serve', '--config', configFile(port)], { stdio: 'ignore' });
      // OPTIONS until the pivot answers, which proves it serves on `port`.
      await optionsAnswered(port, { label: 'signals', resendMs: 250 });
      expect(await portIsFree(port)).toBe(false);
      child.kill(signal);
      expect(await exited(child)).toBe(0);
      expect(await portIsFree(port)).toBe(true);
    }, 60_000);
  }
});
