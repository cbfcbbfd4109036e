/**
 * Sends seeded mutants of valid SIP messages to a running pivot over UDP and TCP, from many loopback
 * source addresses (so the per-source rate limit sheds only the PBX address's share), and checks after
 * every batch that the pivot still answers OPTIONS. Used by test/fuzz/fuzz.test.ts and bench/fuzz.ts.
 * Every destination is the pivot on loopback; nothing else is ever sent to.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { validMessage } from './corpus.ts';
import { mutate } from './mutate.ts';
import { randomFor } from './random.ts';

export interface FuzzOptions {
  /** The pivot's SIP address (loopback). */
  host: string;
  port: number;
  /** The Request-URI host of the pivot's trunk, so INVITEs reach its rules. */
  trunkDomain: string;
  seed: number;
  count: number;
  /** Mutants between two OPTIONS probes (default 250). */
  batch?: number;
  /** Share of mutants sent over TCP (default 0.3). */
  tcpShare?: number;
  onBatch?: (progress: FuzzProgress) => void;
}

export interface FuzzProgress {
  sent: number;
  udp: number;
  tcp: number;
  batches: number;
  /** OPTIONS probes that got no 200 after every retry: the pivot stopped answering. */
  unansweredProbes: number;
}

/** Source addresses: many, so no one of them exceeds its rate limit; 127.0.0.1 is the trunk's PBX. */
const PBX = '127.0.0.1';
const PBX_SHARE = 0.1;
const UDP_SOURCES = [PBX, ...Array.from({ length: 63 }, (_, i) => `127.0.1.${i + 1}`)];
const TCP_SOURCES = Array.from({ length: 16 }, (_, i) => `127.0.2.${i + 1}`);
const PROBE_SOURCES = Array.from({ length: 8 }, (_, i) => `127.0.3.${i + 1}`);
const PROBE_TRIES = 5;
const PROBE_WAIT_MS = 3_000;

export async function runFuzz(options: FuzzOptions): Promise<FuzzProgress> {
  if (!net.isIP(options.host) || !options.host.startsWith('127.'))
    throw new Error(`the fuzzer only sends to loopback (got ${options.host})`);
  const batch = options.batch ?? 250;
  const tcpShare = options.tcpShare ?? 0.3;
  const progress: FuzzProgress = { sent: 0, udp: 0, tcp: 0, batches: 0, unansweredProbes: 0 };
  const udp = await Promise.all(UDP_SOURCES.map((host) => bindUdp(host)));
  const probes = await Promise.all(PROBE_SOURCES.map((host) => bindUdp(host)));
  try {
    for (let first = 0; first < options.count; first += batch) {
      const last = Math.min(options.count, first + batch);
      const tcp = new Map<string, net.Socket>();
      for (let index = first; index < last; index++) {
        const random = randomFor(options.seed, index);
        const overTcp = random.chance(tcpShare);
        // Now and then from the trunk's PBX address, whose requests pass the ACL and reach the machines.
        const fromPbx = !overTcp && random.chance(PBX_SHARE);
        const source = overTcp ? random.pick(TCP_SOURCES) : fromPbx ? PBX : random.pick(UDP_SOURCES);
        const text = validMessage(random, {
          host: source,
          port: 5060,
          trunkDomain: options.trunkDomain,
          id: `${options.seed}-${index}`,
        });
        const mutant = mutate(
          Buffer.from(overTcp ? text.replace('SIP/2.0/UDP', 'SIP/2.0/TCP') : text),
          random,
        );
        if (overTcp) {
          writeTcp(tcp, source, options, mutant);
          progress.tcp++;
        } else {
          await sendUdp(udp[UDP_SOURCES.indexOf(source)]!, mutant, options);
          progress.udp++;
        }
        progress.sent++;
      }
      await Promise.all([...tcp.values()].map(closeGently));
      progress.batches++;
      const probe = probes[progress.batches % probes.length]!;
      if (!(await probeOptions(probe, options, `z9hG4bK-probe-${options.seed}-${progress.batches}`)))
        progress.unansweredProbes++;
      options.onBatch?.({ ...progress });
    }
  } finally {
    for (const socket of [...udp, ...probes]) socket.close();
  }
  return progress;
}

function bindUdp(host: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    // The pivot's answers are read and thrown away, so they never fill the socket's buffer.
    socket.on('message', () => {});
    socket.bind(0, host, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

function sendUdp(socket: dgram.Socket, data: Buffer, target: { host: string; port: number }): Promise<void> {
  return new Promise((resolve) => socket.send(data, target.port, target.host, () => resolve()));
}

function writeTcp(
  connections: Map<string, net.Socket>,
  source: string,
  target: { host: string; port: number },
  data: Buffer,
): void {
  let socket = connections.get(source);
  if (!socket || socket.destroyed) {
    socket = net.connect({ host: target.host, port: target.port, localAddress: source });
    // The pivot may close a connection whose framing a mutant broke: expected, not a failure.
    socket.on('error', () => {});
    socket.on('data', () => {});
    connections.set(source, socket);
  }
  socket.write(data);
}

/** Ends a connection once its bytes are written; destroys it if the pivot does not close its side. */
function closeGently(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(() => socket.destroy(), 2_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}

/** An OPTIONS the pivot must answer 200; UDP may lose it under load, so it is tried a few times. */
async function probeOptions(
  socket: dgram.Socket,
  target: { host: string; port: number },
  branch: string,
): Promise<boolean> {
  const local = socket.address();
  for (let attempt = 0; attempt < PROBE_TRIES; attempt++) {
    const text = [
      'OPTIONS sip:pivot@127.0.0.1 SIP/2.0',
      `Via: SIP/2.0/UDP ${local.address}:${local.port};branch=${branch}-${attempt};rport`,
      'Max-Forwards: 70',
      `From: <sip:probe@${local.address}>;tag=probe`,
      'To: <sip:pivot@127.0.0.1>',
      `Call-ID: ${branch}-${attempt}`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const answered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), PROBE_WAIT_MS);
      const onMessage = (data: Buffer) => {
        const reply = data.toString('utf8');
        if (reply.startsWith('SIP/2.0 200') && reply.includes(`${branch}-${attempt}`)) done(true);
      };
      const done = (ok: boolean) => {
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(ok);
      };
      socket.on('message', onMessage);
    });
    await sendUdp(socket, Buffer.from(text), target);
    if (await answered) return true;
  }
  return false;
}
