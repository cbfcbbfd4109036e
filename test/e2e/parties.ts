/**
 * The parties of an end-to-end call, each a SIPp process: the PBX (transferor) on 127.0.0.1, the carrier
 * (transferee) on 127.0.0.2, transfer targets on 127.0.0.1. Their scenarios under test/sipp/e2e-*.xml are
 * templates: every `{{NAME}}` is filled here (verbatim: values that land in a regexp are escaped by the
 * launcher) and the result is written to a temporary file SIPp runs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeSipp, runSipp, type SippProcess, type SippResult } from '../helpers/sipp.ts';
import { CARRIER_IP } from './pivot.ts';

const SCENARIOS = path.resolve(import.meta.dirname, '..', 'sipp');
let renderDir: string | undefined;

/** Fills a template's placeholders; every placeholder must get a value and every value must be used. */
export function renderScenario(name: string, values: Record<string, string | number>): string {
  const template = readFileSync(path.join(SCENARIOS, name), 'utf8');
  const unused = new Set(Object.keys(values));
  const text = template.replace(/\{\{([A-Z_0-9]+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${name}: no value for {{${key}}}`);
    unused.delete(key);
    return String(value);
  });
  if (unused.size > 0) throw new Error(`${name}: no placeholder for ${[...unused].join(', ')}`);
  if (!renderDir) {
    renderDir = mkdtempSync(path.join(tmpdir(), 'pivot-e2e-scenarios-'));
    const dir = renderDir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const file = path.join(
    renderDir,
    `${Date.now()}-${Math.random().toString(36).slice(2)}-${path.basename(name)}`,
  );
  writeFileSync(file, text);
  return file;
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Generous: a stuck party fails its test with SIPp's own report instead of hanging it. */
const TIMEOUT_MS = 20_000;

export interface RunOptions {
  /** Calls to run (-m) and the UAC's rate (-r); one call by default. */
  calls?: number;
  rate?: number;
  timeoutMs?: number;
  extraArgs?: string[];
  /** Keep SIPp's files (traces, -trace_rtt, -trace_stat) in this directory. */
  workDir?: string;
}

function run(
  name: string,
  values: Record<string, string | number>,
  where: { remote?: string; localIp?: string; localPort?: number },
  options: RunOptions,
): SippProcess {
  return runSipp({
    scenario: renderScenario(name, values),
    ...where,
    calls: options.calls ?? 1,
    rate: options.rate ?? 10,
    timeoutMs: options.timeoutMs ?? TIMEOUT_MS,
    ...(options.extraArgs ? { extraArgs: options.extraArgs } : {}),
    ...(options.workDir ? { workDir: options.workDir } : {}),
  });
}

type PbxFlow = 'hang_up' | 'hung_up' | 'refused' | 'transfer' | 'transfer_nosub' | 'transfer_481';
type PbxEnd = 'hang_up' | 'hung_up' | 'refer_again' | 'refer_again_refused';

export interface PbxOptions extends RunOptions {
  flow: PbxFlow;
  /** `refused`: the Refer-To header values, one header line each (none: no Refer-To at all). */
  referTo?: string[];
  /** `refused`: the expected status. */
  status?: number;
  /** user@host:port of the Refer-To. */
  target?: string;
  /** Status line of the final NOTIFY, e.g. `486 Busy Here`; default `200 OK`. */
  final?: string;
  afterTransfer?: PbxEnd;
  secondTarget?: string;
  /**
   * Pause before the PBX's BYE, default 500 ms: usually after the transfer finished, though a busy
   * machine may see it before (the expected events allow both, see expectedEvents.ts).
   */
  byeDelayMs?: number;
  /** The direction attribute of the PBX's offer; default sendrecv. */
  direction?: 'sendrecv' | 'recvonly';
  /** INVITE without SDP (Cisco CUCM/CUBE style): the offer comes in the 200, our answer goes in the ACK. */
  delayedOffer?: boolean;
}

/** The PBX's SDP (m=audio 10000), as an offer in its INVITE or an answer in its ACK. */
export function pbxSdp(direction: string): string {
  return [
    'v=0',
    'o=pbx 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    'm=audio 10000 RTP/AVP 0',
    `a=${direction}`,
    '',
  ].join('\n');
}

/** The PBX: a termination call to +15550200000 through the pivot at `pivot` (host:port). */
export function pbx(pivot: string, options: PbxOptions): SippProcess {
  const referTo = options.referTo ?? [];
  return run(
    'e2e-pbx.xml',
    {
      FLOW: options.flow,
      REFER_TO:
        referTo.length === 0 ? 'X-Refer-To-Omitted: yes' : referTo.map((v) => `Refer-To: ${v}`).join('\n'),
      STATUS: options.status ?? 403,
      TARGET: options.target ?? 'target@127.0.0.1:5999',
      FINAL: escapeRegExp(options.final ?? '200 OK'),
      AFTER_TRANSFER: options.afterTransfer ?? 'hang_up',
      SECOND_TARGET: options.secondTarget ?? 'target@127.0.0.1:5999',
      BYE_DELAY_MS: options.byeDelayMs ?? 500,
      OFFER_HEADER: options.delayedOffer ? 'X-Delayed-Offer: yes' : 'Content-Type: application/sdp',
      OFFER: options.delayedOffer ? '' : pbxSdp(options.direction ?? 'sendrecv'),
      ANSWER_HEADER: options.delayedOffer ? 'Content-Type: application/sdp' : 'X-Delayed-Offer: no',
      ANSWER: options.delayedOffer ? pbxSdp(options.direction ?? 'sendrecv') : '',
    },
    { remote: pivot },
    options,
  );
}

/** Scenario regexps: a message without a body, and the pivot's origin in its first SDP on a leg. */
const NO_BODY = 'Content-Length: *0';
const PIVOT_ORIGIN_1 = 'o=sip-pivot [0-9]+ 1 IN IP4 127\\.0\\.0\\.1';

type CarrierFlow =
  | 'hung_up'
  | 'hangs_up'
  | 'refer'
  | 'hold_then_reconnect'
  | 'glare_hold_then_reconnect'
  | 'hold_then_resume';

export interface CarrierOptions extends RunOptions {
  port: number;
  flow: CarrierFlow;
  /** Pauses before answering the hold or reconnect re-INVITE (keep them under T1, 500 ms). */
  holdDelayMs?: number;
  reconnectDelayMs?: number;
  childEnd?: 'hangs_up' | 'hung_up';
  afterResume?: 'hung_up' | 'hold_then_reconnect';
  hangupDelayMs?: number;
  /** The direction the hold re-INVITE must carry (RFC 3264 §8.4); default sendonly. */
  holdDirection?: 'sendonly' | 'inactive';
  /** `hold_then_reconnect`: refuse the reconnect with 488 (then resumed, and hung up by the pivot). */
  refuseReconnect?: boolean;
  /** The PBX called with a delayed offer: our INVITE has no SDP, our ACK carries the PBX's answer. */
  delayedOffer?: boolean;
}

/** The carrier: answers the pivot's termination INVITE on 127.0.0.2 and the transfer's re-INVITEs. */
export function carrier(options: CarrierOptions): SippProcess {
  return run(
    'e2e-carrier.xml',
    {
      FLOW: options.flow,
      HOLD_DELAY_MS: options.holdDelayMs ?? 0,
      RECONNECT_DELAY_MS: options.reconnectDelayMs ?? 0,
      CHILD_END: options.childEnd ?? 'hung_up',
      AFTER_RESUME: options.afterResume ?? 'hung_up',
      HANGUP_DELAY_MS: options.hangupDelayMs ?? 300,
      HOLD_DIRECTION: options.holdDirection ?? 'sendonly',
      RECONNECT: options.refuseReconnect ? 'refuse_reconnect' : 'accept_reconnect',
      INVITE_BODY: options.delayedOffer ? NO_BODY : PIVOT_ORIGIN_1,
      INVITE_MEDIA: options.delayedOffer ? NO_BODY : 'm=audio 10000 ',
      INVITE_BODY_IN: options.delayedOffer ? 'msg' : 'body',
      ACK_BODY: options.delayedOffer ? 'm=audio 10000 ' : NO_BODY,
      ACK_BODY_IN: options.delayedOffer ? 'body' : 'msg',
    },
    { localIp: CARRIER_IP, localPort: options.port },
    options,
  );
}

export interface TargetOptions extends RunOptions {
  port?: number;
  user?: string;
  /** The number expected in From: the transferee's by default (+15550200000). */
  from?: string;
  outcome: 'answer' | 'answer_released' | 'busy' | 'no_answer';
  childEnd?: 'hangs_up' | 'hung_up';
  hangupDelayMs?: number;
}

/** A transfer target on 127.0.0.1. */
export function target(options: TargetOptions): SippProcess {
  return run(
    'e2e-target.xml',
    {
      USER: escapeRegExp(options.user ?? 'target'),
      FROM: escapeRegExp(options.from ?? '+15550200000'),
      OUTCOME: options.outcome,
      CHILD_END: options.childEnd ?? 'hung_up',
      HANGUP_DELAY_MS: options.hangupDelayMs ?? 300,
    },
    options.port ? { localPort: options.port } : {},
    options,
  );
}

/** The carrier calling a trunk number (+15550100000) through the pivot: an origination call. */
export function carrierCall(
  pivot: string,
  options: RunOptions & { end: 'hangs_up' | 'hung_up'; port?: number; localIp?: string },
): SippProcess {
  return run(
    'e2e-carrier-call.xml',
    { END: options.end },
    {
      remote: pivot,
      localIp: options.localIp ?? CARRIER_IP,
      ...(options.port ? { localPort: options.port } : {}),
    },
    options,
  );
}

/** The PBX answering origination calls at its originationUri (127.0.0.1:port). */
export function pbxAnswer(
  options: RunOptions & { port: number; end: 'hangs_up' | 'hung_up'; carrierHost?: string },
): SippProcess {
  return run(
    'e2e-pbx-answer.xml',
    { END: options.end, CARRIER_HOST: escapeRegExp(options.carrierHost ?? CARRIER_IP) },
    { localPort: options.port },
    options,
  );
}

/**
 * Waits for every party; throws with SIPp's report unless each ran its scenario to the end (exit 0).
 * (No vitest import here: the benchmark launches the same parties.)
 */
export async function allPassed(...parties: SippProcess[]): Promise<SippResult[]> {
  const results = await Promise.all(parties.map((p) => p.done));
  const failed = results.filter((result) => result.code !== 0);
  if (failed.length > 0) throw new Error(failed.map(describeSipp).join('\n\n'));
  return results;
}

/** The request lines and status lines a party received, in order, from its message trace. */
export function received(result: SippResult): string[] {
  return result.messages
    .split(/^-{10,}.*$/m)
    .filter((block) => /message received/.test(block))
    .map((block) => block.slice(block.indexOf('\n\n') + 2).replace(/^\s+/, ''))
    .map((text) => text.split(/\r?\n/)[0] ?? '');
}

/** Drops the pivot's own 100 Trying (the adapter's, and the call machine's): not what the tests are about. */
export function withoutTrying(lines: string[]): string[] {
  return lines.filter((line) => line !== 'SIP/2.0 100 Trying');
}

export type DelayedThen = 'reinvite' | 'hangs_up' | 'hung_up';

/**
 * A caller sending its INVITE without SDP (delayed offer, as Cisco CUCM/CUBE do): the PBX's termination
 * call from 127.0.0.1, or with `origination` the carrier's call from 127.0.0.2 to a trunk number.
 */
export function delayedCaller(
  pivot: string,
  options: RunOptions & {
    origination?: boolean;
    next: DelayedThen;
    ackDelayMs?: number;
    /** ACK without SDP, breaking RFC 3261 §13.2.2.4: the pivot then hangs up (`next` is not used). */
    ackWithoutAnswer?: boolean;
  },
): SippProcess {
  const origination = options.origination === true;
  return run(
    'e2e-delayed-uac.xml',
    {
      RURI: origination
        ? 'sip:+15550100000@[remote_ip]:[remote_port]'
        : 'sip:+15550200000@acme.pstn.pivot.test',
      FROM: origination ? '+15550300000' : '+15550100000',
      ADDRESS: origination ? CARRIER_IP : '127.0.0.1',
      OFFER_PORT: origination ? 10000 : 20000,
      ANSWER_PORT: origination ? 20000 : 10000,
      ACK_DELAY_MS: options.ackDelayMs ?? 0,
      ACK: options.ackWithoutAnswer ? 'ack_without_answer' : 'ack_with_answer',
      THEN: options.next,
    },
    { remote: pivot, ...(origination ? { localIp: CARRIER_IP } : {}) },
    options,
  );
}

/** The callee of a delayed-offer call: the carrier on 127.0.0.2, or with `origination` the PBX on 127.0.0.1. */
export function delayedCallee(
  options: RunOptions & {
    port: number;
    origination?: boolean;
    next: DelayedThen;
    /** The caller's ACK has no answer: expect ours rejecting the stream (port 0), then our BYE. */
    callerAcksWithoutAnswer?: boolean;
  },
): SippProcess {
  const origination = options.origination === true;
  return run(
    'e2e-delayed-uas.xml',
    {
      ADDRESS: origination ? '127.0.0.1' : CARRIER_IP,
      OFFER_PORT: origination ? 10000 : 20000,
      ANSWER_PORT: options.callerAcksWithoutAnswer ? 0 : origination ? 20000 : 10000,
      THEN: options.next,
    },
    { localPort: options.port, ...(origination ? {} : { localIp: CARRIER_IP }) },
    options,
  );
}
