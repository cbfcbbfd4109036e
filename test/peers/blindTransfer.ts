/**
 * A blind transfer driven by real user agents: a baresip phone on the PBX side (127.0.0.1) calls
 * +15550200000 through the pivot (directly or through a proxy), the carrier (SIPp on 127.0.0.2) answers,
 * the phone REFERs the call to a second baresip that answers by itself (127.0.0.5), and the target hangs
 * up the child call at the end. Every peer is stopped by `stopPeers`, whatever happened.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { authorizationFor } from '../helpers/apiKeys.ts';
import { describeSipp, runSipp, type SippProcess, type SippResult } from '../helpers/sipp.ts';
import { type Baresip, type BaresipEvent, startBaresip } from './baresip.ts';

export const CALLED = '+15550200000';
export const TARGET_IP = '127.0.0.5';

const running: Array<() => unknown> = [];

/** Stops every peer started since the last call (run it in afterEach). */
export async function stopPeers(): Promise<void> {
  const stops = running.splice(0);
  await Promise.allSettled(stops.map((stop) => stop()));
}

/** Registers a peer's stop for `stopPeers`. */
export function track<T extends { stop(): unknown } | { kill(): unknown }>(peer: T): T {
  running.push(() => ('stop' in peer ? peer.stop() : peer.kill()));
  return peer;
}

export interface CarrierOptions {
  /** Pause before answering the reconnect re-INVITE (keep it under T1, 500 ms). */
  reconnectDelayMs?: number;
  /** SIPp's global timeout; the default is generous, a test waiting for a failure may want less. */
  timeoutMs?: number;
}

/** The carrier (SIPp on 127.0.0.2): answers the call, the hold, the reconnect and the BYE. */
export function startCarrier(port: number, options: CarrierOptions = {}): SippProcess {
  const template = readFileSync(path.resolve(import.meta.dirname, 'sipp', 'carrier.xml'), 'utf8');
  const dir = mkdtempSync(path.join(tmpdir(), 'peers-carrier-'));
  const scenario = path.join(dir, 'carrier.xml');
  writeFileSync(
    scenario,
    template.replaceAll('{{RECONNECT_DELAY_MS}}', String(options.reconnectDelayMs ?? 0)),
  );
  const carrier = runSipp({
    scenario,
    localIp: '127.0.0.2',
    localPort: port,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  void carrier.done.then(() => rmSync(dir, { recursive: true, force: true }));
  return track(carrier);
}

export interface TransferRun {
  pbx: Baresip;
  target: Baresip;
  /** The Refer-To the phone sent. */
  targetUri: string;
  /** The phone's CALL_CLOSED: `param` is "Call transfered" after a NOTIFY with a 2xx sipfrag. */
  pbxClosed: BaresipEvent;
  /** The target's CALL_ESTABLISHED: `peeruri` is the From the pivot gave the child call. */
  targetEstablished: BaresipEvent;
  carrier: SippResult;
}

export interface TransferSetup {
  carrierPort: number;
  /** The phone's account address (its SIP port is only known once it is started). */
  pbxAor: (sipPort: number) => string;
  /** host:port the phone sends every request to: the pivot, or a proxy in front of it. */
  outbound: string;
  /** Request-URI host of the call: the trunk's domain. */
  trunkDomain: string;
  /** The pivot's HTTP API, to see when the child call exists. */
  pivotHttpUrl: string;
}

export async function blindTransferByBaresip(setup: TransferSetup): Promise<TransferRun> {
  const carrier = startCarrier(setup.carrierPort);
  await carrier.ready;
  const target = track(
    await startBaresip({ ip: TARGET_IP, name: 'target', aor: (port) => `sip:target@${TARGET_IP}:${port}` }),
  );
  const pbx = track(
    await startBaresip({ ip: '127.0.0.1', name: 'pbx', aor: setup.pbxAor, outbound: setup.outbound }),
  );

  const targetUri = `sip:target@${TARGET_IP}:${target.sipPort}`;
  try {
    await pbx.command('dial', `sip:${CALLED}@${setup.trunkDomain}`);
    await pbx.waitFor('CALL_ESTABLISHED', (e) => e.type === 'CALL_ESTABLISHED');
    await pbx.command('transfer', targetUri);
    const pbxClosed = await pbx.waitFor('CALL_CLOSED', (e) => e.type === 'CALL_CLOSED');
    const targetEstablished = await target.waitFor('CALL_ESTABLISHED', (e) => e.type === 'CALL_ESTABLISHED');
    await childCallStarted(setup.pivotHttpUrl);
    await target.command('hangup');
    await target.waitFor('CALL_CLOSED', (e) => e.type === 'CALL_CLOSED');
    const carrierResult = await carrier.done;
    if (carrierResult.code !== 0) throw new Error('the carrier did not run its scenario to the end');
    return { pbx, target, targetUri, pbxClosed, targetEstablished, carrier: carrierResult };
  } catch (error) {
    carrier.kill();
    const trace = describeSipp(await carrier.done);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- carrier\n${trace}`);
  }
}

/**
 * Resolves once the pivot's call log lists a child call. The target is ACKed (and so talks) as soon as
 * it answers, but its dialog belongs to the child call only once the far party has answered the
 * reconnect re-INVITE: a test that means to end the child call waits for that.
 */
export async function childCallStarted(httpUrl: string, deadlineMs = 15_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const authorization = authorizationFor(httpUrl);
    const response = await fetch(`${httpUrl}/v1/Calls`, { headers: authorization ? { authorization } : {} });
    // biome-ignore lint/suspicious/noExplicitAny: the call log's resources are checked by field.
    const body: any = await response.json();
    if (body.Calls?.some((call: { ParentCallSid: string | null }) => call.ParentCallSid)) return;
    if (Date.now() > until) throw new Error(`no child call in the call log: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The messages a SIPp party received, in order, each as its full text. */
export function receivedMessages(result: SippResult): string[] {
  return result.messages
    .split(/^-{10,}.*$/m)
    .filter((block) => /message received/.test(block))
    .map((block) => block.slice(block.indexOf('\n\n') + 2).replace(/^\s+/, ''));
}

/** A header's value in a message's text (the first occurrence; compact forms are not used by the pivot). */
export function headerOf(message: string, name: string): string | undefined {
  const head = message.split(/\r?\n\r?\n/)[0] ?? '';
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}
