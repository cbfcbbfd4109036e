/**
 * The SIP trace store on its own: messages filed by the session their Call-ID names (the pivot's own
 * Call-IDs and a peer's alike), read back in wire order, capped per session, pruned by age.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callSidForCallId } from '../../src/shared/sids.ts';
import { openTraceStore, type TraceStore } from '../../src/trace/store.ts';
import { summarize } from '../../src/trace/wire.ts';

const ROOT = `CA${'ab'.repeat(16)}`;
const remote = { transport: 'udp' as const, host: '127.0.0.1', port: 5070 };

const request = (method: string, callId: string, cseq = 1) =>
  Buffer.from(
    `${method} sip:+15550200000@acme.pstn.pivot.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n` +
      `i: ${callId}\r\nCSeq: ${cseq} ${method}\r\nContent-Length: 0\r\n\r\n`,
  );
const response = (status: string, callId: string, cseq = 1, method = 'INVITE') =>
  Buffer.from(
    `SIP/2.0 ${status}\r\nCall-ID: ${callId}\r\nCSeq: ${cseq} ${method}\r\nContent-Length: 0\r\n\r\n`,
  );

let store: TraceStore | undefined;
const dirs: string[] = [];
afterEach(() => {
  store?.close();
  store = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(maxMessagesPerCall = 100, retentionDays = 7, file?: string) {
  let at = file;
  if (!at) {
    const dir = mkdtempSync(path.join(tmpdir(), 'pivot-trace-'));
    dirs.push(dir);
    at = path.join(dir, 'sip-trace.db');
  }
  store = openTraceStore({ path: at, maxMessagesPerCall, retentionDays });
  return { trace: store, file: at };
}

describe('the SIP trace store', () => {
  it("files a peer's Call-ID and the pivot's own Call-IDs of one session together, in wire order", () => {
    const { trace } = open();
    const peer = 'a84b4c76e66710@pbx.example.test';
    const session = callSidForCallId(peer);
    trace.record('in', request('INVITE', peer), remote);
    trace.record('out', response('100 Trying', peer), remote);
    trace.record('out', request('INVITE', `pv-${session}-far@127.0.0.1`), { ...remote, port: 5090 });
    trace.record('in', request('INVITE', `pv-${ROOT}-far@127.0.0.1`), remote);
    const messages = trace.messages(session);
    expect(messages.map((m) => [m.direction, m.firstLine, m.cseq, m.remotePort])).toEqual([
      ['in', 'INVITE sip:+15550200000@acme.pstn.pivot.test SIP/2.0', '1 INVITE', 5070],
      ['out', 'SIP/2.0 100 Trying', '1 INVITE', 5070],
      ['out', 'INVITE sip:+15550200000@acme.pstn.pivot.test SIP/2.0', '1 INVITE', 5090],
    ]);
    expect(messages[0]).toMatchObject({ method: 'INVITE', status: null, callId: peer });
    expect(messages[1]).toMatchObject({ method: null, status: 100 });
    expect(messages[0]!.text).toBe(request('INVITE', peer).toString());
    expect(trace.messages(ROOT)).toHaveLength(1);
  });

  it('keeps the first maxMessagesPerCall messages of a session, across a reopen of the file', () => {
    const { trace, file } = open(3);
    const callId = `pv-${ROOT}-x@127.0.0.1`;
    for (let cseq = 1; cseq <= 2; cseq++) trace.record('out', request('OPTIONS', callId, cseq), remote);
    trace.close();
    const { trace: again } = open(3, 7, file);
    for (let cseq = 3; cseq <= 5; cseq++) again.record('out', request('OPTIONS', callId, cseq), remote);
    expect(again.messages(ROOT).map((m) => m.cseq)).toEqual(['1 OPTIONS', '2 OPTIONS', '3 OPTIONS']);
  });

  it('deletes messages older than retentionDays', () => {
    const { trace } = open(100, 1);
    trace.record('in', request('OPTIONS', `pv-${ROOT}-x@127.0.0.1`), remote);
    trace.flush();
    expect(trace.prune(Date.now() + 12 * 3600_000)).toBe(0);
    expect(trace.prune(Date.now() + 25 * 3600_000)).toBe(1);
    expect(trace.messages(ROOT)).toEqual([]);
  });

  it('skips what is not a SIP message with a Call-ID', () => {
    const { trace } = open();
    trace.record('in', Buffer.from('\r\n\r\n'), remote);
    trace.record('in', Buffer.from('INVITE sip:x SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n'), remote);
    trace.flush();
    expect(summarize(Buffer.from('garbage'))).toBeUndefined();
    expect(summarize(request('BYE', 'c@h', 7))).toEqual({
      firstLine: 'BYE sip:+15550200000@acme.pstn.pivot.test SIP/2.0',
      callId: 'c@h',
      cseq: '7 BYE',
      method: 'BYE',
    });
  });
});
