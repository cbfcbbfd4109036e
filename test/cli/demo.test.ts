/**
 * `pivot demo` against a running pivot (started here from a copy of the sample config on free ports):
 * it runs its three SIPp transfers to the end, prints a key, the console links and a replay, and leaves
 * the trunk's policy as it found it, with both changes in the audit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type RunningPivot, startPivot } from '../../src/cli/serve.ts';
import { loadConfig } from '../../src/config/index.ts';
import { basicAuthorization } from '../helpers/apiKeys.ts';
import { freePort } from '../helpers/sipp.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
let pivot: RunningPivot | undefined;
let dir: string | undefined;
afterEach(async () => {
  await pivot?.stop();
  pivot = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runDemo(configPath: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--config', configPath],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('pivot demo', () => {
  it('transfers three calls (answered, busy, refused by policy) and prints the console links and a replay', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pivot-demo-'));
    const sample = parse(readFileSync(path.join(ROOT, 'config', 'pivot.sample.yaml'), 'utf8'));
    const [sipPort, httpPort, carrierPort] = [await freePort(), await freePort(), await freePort()];
    sample.sip.port = sipPort;
    sample.http.port = httpPort;
    sample.store.path = path.join(dir, 'pivot.db');
    sample.carrier.uri = `sip:127.0.0.2:${carrierPort}`;
    const configPath = path.join(dir, 'pivot.yaml');
    writeFileSync(configPath, stringify(sample));
    pivot = await startPivot(loadConfig(configPath), () => {});

    const { code, out } = await runDemo(configPath);
    expect(code, out).toBe(0);
    const http = `http://127.0.0.1:${httpPort}`;
    expect(out).toContain(`Console: ${http}/console/`);
    for (const label of [
      'transferred (child call under it)',
      'busy target (the call went on)',
      'refused by policy (403)',
    ]) {
      expect(out).toMatch(
        new RegExp(`${label.replace(/[()]/g, '\\$&')}: ${http}/console/#/calls/CA[0-9a-f]{32}`),
      );
    }
    expect(out).toMatch(/npx pivot replay CA[0-9a-f]{32}\n/);
    expect(out).toMatch(/TransferCompleted/);

    const sid = /sid {4}(SK[0-9a-f]{32})/.exec(out)![1]!;
    const secret = /secret (\S+)/.exec(out)![1]!;
    // biome-ignore lint/suspicious/noExplicitAny: API resources are checked field by field.
    const get = async (url: string): Promise<any> =>
      (await fetch(`${http}${url}`, { headers: { authorization: basicAuthorization(sid, secret) } })).json();
    const { Trunks } = await get('/v1/Trunks');
    expect(Trunks[0].TransferMode).toBe('enable-all');
    const { Entries } = await get('/v1/Audit?Kind=trunk');
    expect(Entries.slice(0, 2).map((e: { What: string }) => e.What)).toEqual([
      'trunk acme: transferMode sip-only -> enable-all',
      'trunk acme: transferMode enable-all -> sip-only',
    ]);
    const { Transfers } = await get('/v1/Transfers');
    expect(Transfers.map((t: { Outcome: string }) => t.Outcome).sort()).toEqual([
      'completed',
      'failed',
      'rejected',
    ]);
  }, 90_000);
});
