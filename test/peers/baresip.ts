/**
 * A real baresip user agent driven from tests: a config dir generated in a temp dir (its own SIP port,
 * RTP port range and ctrl_tcp port; audio from a generated WAV, played to /dev/null), SIP trace (`-s`)
 * kept from its stdout, and driven over ctrl_tcp (./ctrlTcp.ts).
 *
 * baresip 1.0 hands an incoming INVITE to the account whose user equals the Request-URI user (else it
 * answers 404 "UA not found"), so a party that is called must be given the user it is called by.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/sipp.ts';
import { parseSipTrace, type SipTraceEntry } from './baresipTrace.ts';
import { type BaresipEvent, type BaresipResponse, type Control, connectControl } from './ctrlTcp.ts';
import { freeRtpRange, freeSipPort } from './ports.ts';
import { writeToneWav } from './wav.ts';

export type { SipTraceEntry } from './baresipTrace.ts';
export type { BaresipEvent, BaresipResponse } from './ctrlTcp.ts';
export { freeSipPort } from './ports.ts';

const BARESIP = process.env.BARESIP_BIN ?? 'baresip';
const MODULE_DIR = process.env.BARESIP_MODULE_DIR ?? '/usr/lib/baresip/modules';
/** Longer than any test call: aufile does not loop, and a source that ends stops sending RTP. */
const WAV_SECONDS = 60;
/** baresip colours its trace with ANSI SGR sequences (ESC [ … m). */
const COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

export interface BaresipOptions {
  /** Loopback address the agent binds SIP and RTP to, and writes into Contact and SDP. */
  ip: string;
  /** The account's address, e.g. `sip:+15550100000@127.0.0.1:5070` or `sip:1001@pbx.example`. */
  aor: string | ((sipPort: number) => string);
  /** host:port every request goes to (a `Route: <sip:…;lr>` is added), the Request-URI left as dialled. */
  outbound?: string;
  /** Name used in failure messages. */
  name: string;
  /** SIP port to listen on (UDP and TCP; TLS takes the next one): from `freeSipPort` by default. */
  sipPort?: number;
  /** More accounts on the same agent (one party answering several called users). */
  extraAors?: (sipPort: number) => string[];
  /** A PEM file with certificate and key: baresip then also listens for TLS, on `sipPort + 1`. */
  certificate?: string;
  /** A PEM file: the CAs it verifies a TLS peer's certificate against (`sip_cafile`). */
  ca?: string;
}

export interface Baresip {
  name: string;
  ip: string;
  sipPort: number;
  /** The account's address as configured. */
  aor: string;
  /** Every event received so far, in order. */
  events: BaresipEvent[];
  /** Sends a ctrl_tcp command and resolves with its response. */
  command(command: string, params?: string): Promise<BaresipResponse>;
  /**
   * Resolves with the first event (already seen or still to come) matching `predicate`; rejects after
   * `deadlineMs` with the events seen so far and the end of baresip's output.
   */
  waitFor(
    what: string,
    predicate: (event: BaresipEvent) => boolean,
    deadlineMs?: number,
  ): Promise<BaresipEvent>;
  /** baresip's output so far (SIP trace included), colour codes removed. */
  output(): string;
  /** Every SIP message it sent or received so far, from its trace. */
  sipTrace(): SipTraceEntry[];
  /** Resolves with the first traced message matching `predicate`; rejects after `deadlineMs` with the trace. */
  waitForSip(
    what: string,
    predicate: (entry: SipTraceEntry) => boolean,
    deadlineMs?: number,
  ): Promise<SipTraceEntry>;
  /** Stops the process (SIGTERM, then SIGKILL) and removes its config dir; safe to call twice. */
  stop(): Promise<void>;
}

export async function startBaresip(options: BaresipOptions): Promise<Baresip> {
  const dir = mkdtempSync(path.join(tmpdir(), `baresip-${options.name}-`));
  const sipPort = options.sipPort ?? (await freeSipPort(options.ip));
  const ctrlPort = await freePort();
  const rtp = await freeRtpRange(options.ip);
  const aor = typeof options.aor === 'function' ? options.aor(sipPort) : options.aor;
  const wav = path.join(dir, 'source.wav');
  writeToneWav(wav, WAV_SECONDS);
  writeFileSync(
    path.join(dir, 'config'),
    [
      'poll_method epoll',
      `sip_listen ${options.ip}:${sipPort}`,
      ...(options.certificate ? [`sip_certificate ${options.certificate}`] : []),
      ...(options.ca ? [`sip_cafile ${options.ca}`] : []),
      // Without it baresip takes the default route's interface for Contact and SDP.
      `net_interface ${options.ip}`,
      `rtp_ports ${rtp.first}-${rtp.last}`,
      'audio_player aufile,/dev/null',
      'audio_alert aufile,/dev/null',
      `audio_source aufile,${wav}`,
      `module_path ${MODULE_DIR}`,
      'module g711.so',
      'module aufile.so',
      'module_app account.so',
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      '',
    ].join('\n'),
  );
  const outbound = options.outbound ? `;outbound="sip:${options.outbound}"` : '';
  const aors = [aor, ...(options.extraAors?.(sipPort) ?? [])];
  writeFileSync(
    path.join(dir, 'accounts'),
    aors.map((each) => `<${each}>;regint=0;answermode=auto${outbound}\n`).join(''),
  );

  const child: ChildProcess = spawn(BARESIP, ['-f', dir, '-s'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const append = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-500_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      out += `\nspawn failed: ${error.message}`;
      resolve();
    });
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const output = () => out.replace(COLOUR, '');

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      control?.close();
      if (!gone) {
        child.kill('SIGTERM');
        const guard = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(guard);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  let control: Control | undefined;
  try {
    control = await connectControl(ctrlPort, () => gone);
  } catch (error) {
    await stop();
    throw new Error(`${options.name}: baresip did not open ctrl_tcp (${String(error)})\n${output()}`);
  }
  const ctrl = control;
  return {
    name: options.name,
    ip: options.ip,
    sipPort,
    aor,
    events: ctrl.events,
    command: (command, params) => ctrl.send(command, params),
    waitFor(what, predicate, deadlineMs = 15_000) {
      return ctrl.waitFor(predicate, deadlineMs).catch(() => {
        throw new Error(
          `${options.name}: no ${what} within ${deadlineMs} ms; events: ${JSON.stringify(ctrl.events, null, 1)}\n` +
            `--- ${options.name} output (end)\n${output().slice(-8_000)}`,
        );
      });
    },
    output,
    sipTrace: () => parseSipTrace(output()),
    async waitForSip(what, predicate, deadlineMs = 15_000) {
      const until = Date.now() + deadlineMs;
      for (;;) {
        const found = parseSipTrace(output()).find(predicate);
        if (found) return found;
        if (Date.now() > until || gone) {
          throw new Error(`${options.name}: no ${what} within ${deadlineMs} ms\n${output().slice(-8_000)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop,
  };
}
