/**
 * A real Linphone user agent (`linphonec`, Debian's linphone-cli) driven from tests: a temporary HOME
 * with its own `linphonerc` (its own SIP port and RTP port range, media bound to 127.0.0.1, G.711 only,
 * one account that registers nowhere and sends every request to a given outbound proxy), commands
 * written to its console on stdin, and its SIP trace read back from its log file (`-d 6 -l`).
 *
 * linphonec numbers its calls (1, 2, …) and reports them on stdout in plain sentences
 * (`Call 1 with sip:… connected.`): the helpers below wait for those. Unlike baresip 1.0 it has an
 * attended transfer command, `transfer <id1> --to-call <id2>`: a REFER on call id1 whose Refer-To
 * names call id2's remote party with id2's dialog in `?Replaces=` (RFC 3891).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/sipp.ts';
import type { SipTraceEntry } from './baresipTrace.ts';
import { freeRtpRange } from './ports.ts';

export type { SipTraceEntry } from './baresipTrace.ts';

const LINPHONEC = process.env.LINPHONEC_BIN ?? 'linphonec';
const IP = '127.0.0.1';

export interface LinphoneOptions {
  /** Name used in failure messages. */
  name: string;
  /** The account's identity (From), e.g. `sip:+15550100000@acme.pstn.pivot.test`. */
  identity: string;
  /** host:port every request goes to (a `Route: <sip:…;lr>`), the Request-URI left as dialled. */
  outbound: string;
  /** UDP by default; over TCP the phone opens one connection to the outbound proxy and keeps it. */
  transport?: 'udp' | 'tcp';
  /** The SIP port to listen on (a free one by default): known before the pivot that calls it starts. */
  sipPort?: number;
  /** Answers incoming calls at once (`linphonec -a`). */
  autoAnswer?: boolean;
}

export interface Linphone {
  name: string;
  sipPort: number;
  /** `127.0.0.1:<sipPort>`: the source of every message it sent, in its trace (whatever port it used). */
  address: string;
  /** Writes a line to its console (any linphonec command). */
  command(line: string): void;
  /** Resolves with the id and caller of the first incoming call, once it is connected. */
  incoming(): Promise<{ id: number; from: string }>;
  /** Dials `uri` and resolves with linphonec's id for the call as soon as it has one. */
  dial(uri: string): Promise<number>;
  /** Dials `uri` and resolves with linphonec's id for the call once it is connected (a 2xx, ACKed). */
  call(uri: string): Promise<number>;
  /** Resolves once an outgoing call rings (a 180). */
  ringing(id: number): Promise<void>;
  /** Puts a call on hold (a re-INVITE with `a=sendonly`) and resolves once the hold is answered. */
  pause(id: number): Promise<void>;
  /** `transfer <id> --to-call <consultation>`: REFERs call `id` to the consultation call's party, Replaces. */
  attendedTransfer(id: number, consultation: number): void;
  /**
   * Resolves once linphonec reports the call ended: it sent its BYE or CANCEL (the answer may come
   * later), or it got the far end's BYE.
   */
  ended(id: number): Promise<void>;
  /** Console output so far (not the log). */
  output(): string;
  /** Resolves with the first match of `pattern` in the console output, already there or still to come. */
  waitForOutput(what: string, pattern: RegExp, deadlineMs?: number): Promise<RegExpMatchArray>;
  /** Every SIP message it sent or received so far, from its log. */
  sipTrace(): SipTraceEntry[];
  /** Resolves with the first traced message matching `predicate`; rejects after `deadlineMs` with the trace. */
  waitForSip(
    what: string,
    predicate: (entry: SipTraceEntry) => boolean,
    deadlineMs?: number,
  ): Promise<SipTraceEntry>;
  /** Stops the process (SIGTERM: it BYEs its calls and exits; then SIGKILL) and removes its HOME. */
  stop(): Promise<void>;
}

/** A linphonerc: only what the test needs, linphonec fills in its defaults. */
function linphonerc(options: {
  sipPort: number;
  transport: 'udp' | 'tcp';
  rtp: { first: number; last: number };
  identity: string;
  outbound: string;
}): string {
  const { sipPort, transport, rtp, identity, outbound } = options;
  const ini = (sections: Record<string, Record<string, string | number>>) =>
    Object.entries(sections)
      .map(
        ([name, keys]) =>
          `[${name}]\n${Object.entries(keys)
            .map(([key, value]) => `${key}=${value}`)
            .join('\n')}\n`,
      )
      .join('\n');
  // Codecs linphonec would add enabled by default; G.711 is what the far parties speak.
  const disabled = [
    ['opus', 48000, 2],
    ['speex', 32000, 1],
    ['speex', 16000, 1],
    ['speex', 8000, 1],
    ['G729', 8000, 1],
  ] as const;
  const codecs = Object.fromEntries(
    [
      ['PCMU', 8000, 1, 1] as const,
      ['PCMA', 8000, 1, 1] as const,
      ...disabled.map((c) => [...c, 0] as const),
    ].map(([mime, rate, channels, enabled], i) => [`audio_codec_${i}`, { mime, rate, channels, enabled }]),
  );
  return ini({
    sip: {
      // -1 would be a random port, 0 is off.
      sip_port: transport === 'udp' ? sipPort : 0,
      sip_tcp_port: transport === 'tcp' ? sipPort : 0,
      sip_tls_port: 0,
      use_ipv6: 0,
      // Else the first start rewrites use_ipv6 into a setting of its own.
      ipv6_migration_done: 1,
      guess_hostname: 0,
      default_proxy: 0,
      register_only_when_network_is_up: 0,
      ping_with_options: 0,
      media_encryption: 'none',
    },
    // Without it the SDP names the interface of the default route, not the loopback the test runs on.
    rtp: { bind_address: IP, audio_rtp_port: `${rtp.first}-${rtp.last}` },
    sound: { echocancellation: 0 },
    video: { capture: 0, display: 0, automatically_initiate: 0, automatically_accept: 0 },
    proxy_0: {
      reg_proxy: `<sip:${outbound};transport=${transport}>`,
      reg_route: `<sip:${outbound};transport=${transport};lr>`,
      reg_identity: identity,
      reg_sendregister: 0,
      publish: 0,
      // Keep the + of E.164 numbers as dialled.
      dial_escape_plus: 0,
    },
    ...codecs,
  });
}

/**
 * belle-sip logs each message it sends as `message sent to [UDP://host:port], size: [n] bytes` and what
 * it reads as `received [n] new bytes from [UDP://host:port]:`, then the bytes, whose lines (and only
 * those) end in CRLF. A read from a TCP stream may hold more than one message: they are told apart by
 * their Content-Length.
 */
export function parseLinphoneTrace(log: string, local: string): SipTraceEntry[] {
  const entries: SipTraceEntry[] = [];
  const pattern =
    /(message sent to|received \[\d+\] new bytes from) \[(UDP|TCP|TLS):\/\/([^\]]+)\](?:, size: \[\d+\] bytes|:)\n((?:[^\n]*\r\n)+)/g;
  for (const match of log.matchAll(pattern)) {
    const sent = match[1] === 'message sent to';
    const transport = match[2] as SipTraceEntry['transport'];
    const peer = match[3] ?? '';
    for (const text of splitMessages(match[4] ?? '')) {
      entries.push({
        transport,
        source: sent ? local : peer,
        destination: sent ? peer : local,
        firstLine: text.split('\r\n')[0] ?? '',
        text,
      });
    }
  }
  return entries;
}

function splitMessages(bytes: string): string[] {
  const messages: string[] = [];
  let rest = bytes;
  while (rest.trim() !== '') {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) {
      messages.push(rest);
      break;
    }
    const length = Number(/\r\n(?:Content-Length|l): *(\d+)/i.exec(rest.slice(0, end))?.[1] ?? 0);
    messages.push(rest.slice(0, end + 4 + length));
    rest = rest.slice(end + 4 + length);
  }
  return messages;
}

export async function startLinphone(options: LinphoneOptions): Promise<Linphone> {
  const home = mkdtempSync(path.join(tmpdir(), `linphone-${options.name}-`));
  // The core opens its SIP ports only once its database is open; it will not create the directory.
  mkdirSync(path.join(home, '.local', 'share', 'linphone'), { recursive: true });
  const transport = options.transport ?? 'udp';
  const sipPort = options.sipPort ?? (await freePort());
  const rtp = await freeRtpRange(IP);
  const rc = path.join(home, 'linphonerc');
  const logFile = path.join(home, 'linphonec.log');
  writeFileSync(
    rc,
    linphonerc({ sipPort, transport, rtp, identity: options.identity, outbound: options.outbound }),
  );

  const args = ['-c', rc, '-d', '6', '-l', logFile, ...(options.autoAnswer ? ['-a'] : [])];
  const child: ChildProcess = spawn(LINPHONEC, args, {
    env: { ...process.env, HOME: home },
    // Its console reads commands from stdin: kept open, since at end of input it spins.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A command written after it exited is lost, which the next wait reports.
  child.stdin?.on('error', () => {});
  let out = '';
  const append = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-200_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      out += `\nspawn failed: ${error.message}`;
      resolve();
    });
  });
  void exited.then(() => {
    gone = true;
  });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  // Its listening address, though over TCP it sends from a connection's own port.
  const local = `${IP}:${sipPort}`;
  const tail = () =>
    `--- ${options.name} console (end)\n${out.slice(-3_000)}\n--- ${options.name} log (end)\n${log().slice(-6_000)}`;

  async function until<T>(what: string, found: () => T | undefined, deadlineMs: number): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (gone || Date.now() > deadline) {
        throw new Error(
          `${options.name}: no ${what} within ${deadlineMs} ms${gone ? ' (exited)' : ''}\n${tail()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  const waitForOutput = (what: string, pattern: RegExp, deadlineMs = 15_000) =>
    until(what, () => out.match(pattern) ?? undefined, deadlineMs);
  const command = (line: string) => {
    child.stdin?.write(`${line}\n`);
  };

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (!gone) {
        child.kill('SIGTERM');
        const guard = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(guard);
      }
      child.stdin?.destroy();
      rmSync(home, { recursive: true, force: true });
    })();
    return stopped;
  };

  const listening = new RegExp(`Creating listening point \\[\\w+\\] on \\[sip:\\S+:${sipPort};transport=`);
  try {
    await until('SIP listening point', () => (listening.test(log()) ? true : undefined), 10_000);
  } catch (error) {
    await stop();
    throw error;
  }

  const dial = async (uri: string): Promise<number> => {
    command(`call ${uri}`);
    const escaped = uri.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const assigned = await waitForOutput(
      `call to ${uri}`,
      new RegExp(`^(?:linphonec> )?Establishing call id to ${escaped}, assigned id (\\d+)$`, 'm'),
    );
    return Number(assigned[1]);
  };

  // A report may follow the prompt on its line (`linphonec> Call 1 with … is now paused.`).
  const sentence = (id: number, rest: string) =>
    new RegExp(`^(?:linphonec> )?Call ${id} (?:with|to) .+? ${rest}$`, 'm');
  return {
    name: options.name,
    sipPort,
    address: local,
    command,
    async incoming() {
      const received = await waitForOutput(
        'an incoming call',
        /^(?:linphonec> )?Receiving new incoming call from (.+), assigned id (\d+)$/m,
      );
      const id = Number(received[2]);
      await waitForOutput(`call ${id} connected`, sentence(id, 'connected\\.'));
      return { id, from: received[1] ?? '' };
    },
    dial,
    async call(uri) {
      const id = await dial(uri);
      await waitForOutput(`call ${id} connected`, sentence(id, 'connected\\.'));
      return id;
    },
    async ringing(id) {
      await waitForOutput(`call ${id} ringing`, sentence(id, 'ringing\\.'));
    },
    async pause(id) {
      command(`pause ${id}`);
      await waitForOutput(`call ${id} paused`, sentence(id, 'is now paused\\.'));
    },
    attendedTransfer(id, consultation) {
      command(`transfer ${id} --to-call ${consultation}`);
    },
    async ended(id) {
      await waitForOutput(`call ${id} ended`, sentence(id, 'ended \\(.*\\)\\.'));
    },
    output: () => out,
    waitForOutput,
    sipTrace: () => parseLinphoneTrace(log(), local),
    waitForSip: (what, predicate, deadlineMs = 15_000) =>
      until(what, () => parseLinphoneTrace(log(), local).find(predicate), deadlineMs),
    stop,
  };
}
