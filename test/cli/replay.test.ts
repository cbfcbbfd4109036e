import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine.ts';
import type { SipCommand } from '../../src/shared/messages.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { type DrivenTransfer, driveTransfer } from '../helpers/driveTransfer.ts';
import { testConfig } from '../helpers/sipInputs.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'pivot-replay-'));
const db = join(dir, 'pivot.db');
const configPath = join(dir, 'pivot.yaml');
let transfer: DrivenTransfer;

async function pivot(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      encoding: 'utf8',
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  const store = createSqliteEventStore({ path: db });
  const sent: SipCommand[] = [];
  const engine = createEngine({ store, config: testConfig(), send: (c) => sent.push(c) });
  transfer = await driveTransfer(engine, sent);
  await engine.stop();
  await store.close();
  writeFileSync(
    configPath,
    [
      'sip: { host: 127.0.0.1, port: 5060, publicHost: 127.0.0.1 }',
      'http: { host: 127.0.0.1, port: 8080 }',
      `store: { kind: sqlite, path: "${db}" }`,
      'bus: { kind: inprocess }',
      'carrier: { uri: "sip:127.0.0.2:5090" }',
      'trunks:',
      '  - { name: acme, domain: acme.pstn.pivot.test, acl: ["127.0.0.1/32"], originationUri: "sip:127.0.0.1:5070",',
      '      numbers: ["+15550100000"], transferMode: enable-all,',
      '      rates: { currency: USD, origination: { "": 0.0034 }, termination: { "": 0.0045 } } }',
    ].join('\n'),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pivot replay', () => {
  it('prints each step of a recorded call: event, state before -> after, actions', async () => {
    const { code, stdout } = await pivot('replay', transfer.rootCallSid, '--config', configPath);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^#\s+time\s+event\s+machine\s+state\s+actions$/);
    const refer = lines.find((l) => l.includes('ReferReceived'))!;
    expect(refer).toContain('"new" -> "holding"');
    expect(refer).toContain('send 202 Accepted');
    expect(refer).toContain('send NOTIFY');
    expect(lines.find((l) => l.includes('HangupReceived'))).toContain('"handedOff" -> "ended"');
    // 17 steps of the transfer, the PBX's ACK, the reapers' six (Timer C, the ACK timeout and the call
    // limit, each scheduled and canceled) and the child call's limit, scheduled (it is still up).
    expect(lines).toHaveLength(2 + 25);
  });

  it('--json gives the steps as data and --until stops at a revision', async () => {
    const { stdout } = await pivot(
      'replay',
      transfer.rootCallSid,
      '--config',
      configPath,
      '--json',
      '--until',
      '3',
    );
    const steps = JSON.parse(stdout) as { revision: number; type: string; after?: unknown }[];
    // Timer C is scheduled with the call and canceled by the answer.
    expect(steps.map((s) => s.type)).toEqual([
      'CallReceived',
      'TimerScheduled',
      'CallAnswered',
      'TimerCanceled',
    ]);
    expect(steps[2]!.after).toBe('inProgress');
  });

  it('a child call replays the session it lives in', async () => {
    const { code, stdout } = await pivot('replay', transfer.childCallSid, '--config', configPath, '--json');
    expect(code).toBe(0);
    const steps = JSON.parse(stdout) as { type: string; machine?: string }[];
    expect(steps.find((s) => s.type === 'ChildCallStarted')?.machine).toBe(`call ${transfer.childCallSid}`);
  });

  it('an unknown sid is a clear message and exit code 1', async () => {
    const { code, stderr } = await pivot(
      'replay',
      'CA00000000000000000000000000000000',
      '--config',
      configPath,
    );
    expect(code).toBe(1);
    expect(stderr).toContain('no call CA00000000000000000000000000000000 in the store');
  });

  it('--check replays every call and reports recorded states that differ', async () => {
    const clean = await pivot('replay', '--check', '--config', configPath);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('1 sessions, 25 events, 0 mismatches');

    // A recorded state today's machines would not reach (as after a behaviour change).
    const store = createSqliteEventStore({ path: db });
    const stream = `call-${transfer.rootCallSid}`;
    const head = (await store.readStream(stream)).length - 1;
    await store.appendToStream(
      stream,
      [
        {
          id: '00000000-0000-4000-8000-000000000001',
          type: 'HangupReceived',
          data: {
            callSid: transfer.childCallSid,
            at: new Date().toISOString(),
            leg: 'far',
            bye: { adapterId: 'a', transactionKey: 'k' },
          },
          metadata: { stateAfter: 'inProgress' },
        },
      ],
      { expectedRevision: head },
    );
    await store.close();
    const dirty = await pivot('replay', '--check', '--config', configPath);
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toContain('1 mismatches');
    expect(dirty.stdout).toContain('HangupReceived: recorded "inProgress", replayed "ended"');
  });
});
