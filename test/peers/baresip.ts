/**
 * A real baresip user agent driven from tests: a config dir generated in a temp dir (its own SIP port,
 * RTP port range and ctrl_tcp port; audio from a generated WAV, played to /dev/null), SIP trace (`-s`)
 * kept from its stdout, and a ctrl_tcp client speaking netstrings (`<len>:<json>,`).
 *
 * baresip 1.0 hands an incoming INVITE to the account whose user equals the Request-URI user (else it
 * answers 404 "UA not found"), so a party that is called must be given the user it is called by.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/sipp.ts';

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
}

/** A ctrl_tcp event, e.g. `{ type: 'CALL_ESTABLISHED', peeruri: 'sip:…', param: '…' }`. */
export interface BaresipEvent {
  type: string;
  class?: string;
  accountaor?: string;
  direction?: string;
  peeruri?: string;
  id?: string;
  param?: string;
  [key: string]: unknown;
}

/** One message of baresip's SIP trace (`-s`). */
export interface SipTraceEntry {
  source: string;
  destination: string;
  /** Request or status line. */
  firstLine: string;
  /** The whole message, CRLF line ends kept. */
  text: string;
}

export interface BaresipResponse {
  ok: boolean;
  data?: string;
  token?: string;
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
  writeFileSync(path.join(dir, 'accounts'), `<${aor}>;regint=0;answermode=auto${outbound}\n`);

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

/**
 * baresip prints each message as `#`, then `UDP a:p -> b:p`, then the message, whose lines (and only
 * those) end in CRLF: the message ends at the first line that does not.
 */
export function parseSipTrace(output: string): SipTraceEntry[] {
  const entries: SipTraceEntry[] = [];
  for (const match of output.matchAll(/^#\n(?:UDP|TCP) (\S+) -> (\S+)\n((?:[^\n]*\r\n)*)/gm)) {
    const text = match[3] ?? '';
    entries.push({
      source: match[1] ?? '',
      destination: match[2] ?? '',
      firstLine: text.split('\r\n')[0] ?? '',
      text,
    });
  }
  return entries;
}

interface Control {
  events: BaresipEvent[];
  send(command: string, params?: string): Promise<BaresipResponse>;
  waitFor(predicate: (event: BaresipEvent) => boolean, deadlineMs: number): Promise<BaresipEvent>;
  close(): void;
}

/** Connects to ctrl_tcp, retrying while baresip starts (it listens only once its modules are loaded). */
async function connectControl(port: number, exited: () => boolean): Promise<Control> {
  let socket: net.Socket | undefined;
  for (let attempt = 0; !socket; attempt++) {
    if (exited()) throw new Error('baresip exited');
    if (attempt >= 400) throw new Error('ctrl_tcp never accepted a connection');
    socket = await new Promise<net.Socket | undefined>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (!socket) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return control(socket);
}

function control(socket: net.Socket): Control {
  const events: BaresipEvent[] = [];
  const waiters = new Set<(event: BaresipEvent) => void>();
  const pending = new Map<string, (response: BaresipResponse) => void>();
  let buffer = Buffer.alloc(0);
  let nextToken = 1;
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const colon = buffer.indexOf(':');
      if (colon < 0) return;
      const length = Number(buffer.subarray(0, colon).toString());
      if (buffer.length < colon + 1 + length + 1) return;
      const text = buffer.subarray(colon + 1, colon + 1 + length).toString();
      buffer = buffer.subarray(colon + 1 + length + 1);
      // biome-ignore lint/suspicious/noExplicitAny: ctrl_tcp's JSON is checked field by field.
      const message: any = JSON.parse(text);
      if (message.event) {
        events.push(message as BaresipEvent);
        for (const waiter of [...waiters]) waiter(message as BaresipEvent);
      } else if (message.response) {
        pending.get(String(message.token))?.(message as BaresipResponse);
        pending.delete(String(message.token));
      }
    }
  });
  socket.on('error', () => {});
  return {
    events,
    send(command, params) {
      const token = String(nextToken++);
      const json = JSON.stringify({ command, ...(params === undefined ? {} : { params }), token });
      const length = Buffer.byteLength(json);
      return new Promise((resolve) => {
        pending.set(token, resolve);
        socket.write(`${length}:${json},`);
      });
    },
    waitFor(predicate, deadlineMs) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = (event: BaresipEvent) => {
          if (!predicate(event)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          resolve(event);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error('deadline'));
        }, deadlineMs);
        waiters.add(waiter);
      });
    },
    close() {
      socket.destroy();
    },
  };
}

/**
 * A SIP port for baresip on `ip`: free for UDP and TCP, and the next one free for TCP too, since baresip
 * also listens for SIP over TLS on port + 1 and fails to start when that one is taken.
 */
export async function freeSipPort(ip: string): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65_535 && (await tcpFree(ip, port + 1)) && (await tcpFree('127.0.0.1', port + 1))) return port;
  }
}

function tcpFree(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, ip, () => server.close(() => resolve(true)));
  });
}

/** 20 consecutive ports free for UDP on `ip` (10 RTP/RTCP pairs). */
async function freeRtpRange(ip: string): Promise<{ first: number; last: number }> {
  for (;;) {
    const first = 20_000 + 2 * Math.floor(Math.random() * 15_000);
    const ports = Array.from({ length: 20 }, (_, i) => first + i);
    const free = await Promise.all(ports.map((port) => udpFree(ip, port)));
    if (free.every(Boolean)) return { first, last: first + 19 };
  }
}

function udpFree(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, ip, () => socket.close(() => resolve(true)));
  });
}

/** A 16-bit PCM, 8 kHz mono WAV of a 440 Hz tone (RIFF header, then samples). */
export function writeToneWav(file: string, seconds: number): void {
  const rate = 8_000;
  const samples = rate * seconds;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    data.writeInt16LE(Math.round(8_000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(file, Buffer.concat([header, data]));
}
