/**
 * A real DNS server for tests: dnsmasq on 127.0.0.1 and a free port, reading no resolv.conf and no hosts
 * file, answering only the records given (A/AAAA, SRV, NAPTR) and NXDOMAIN for any other name under
 * `localDomain`. Point the pivot at it with `dns.servers: ['127.0.0.1:<port>']`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { freePort } from './sipp.ts';

export interface DnsRecords {
  /** name -> addresses (IPv4 or IPv6). */
  hosts?: Record<string, string[]>;
  /** `_sip._udp.example.test` -> targets. */
  srv?: Record<string, { target: string; port: number; priority: number; weight: number }[]>;
  /** name -> NAPTR records (flags `s`, replacement an SRV name). */
  naptr?: Record<
    string,
    { order: number; preference: number; flags: string; service: string; replacement: string }[]
  >;
  /** Seconds every answer lives (dnsmasq's --local-ttl); default 1. */
  ttl?: number;
  /** Names under this domain that have no record get NXDOMAIN; default `pivot.test`. */
  localDomain?: string;
}

export interface DnsServer {
  /** `127.0.0.1:<port>`, for `dns.servers`. */
  server: string;
  port: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function argsOf(records: DnsRecords, port: number): string[] {
  const args = [
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--log-facility=-',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--pid-file=',
    `--local-ttl=${records.ttl ?? 1}`,
    `--local=/${records.localDomain ?? 'pivot.test'}/`,
  ];
  for (const [name, addresses] of Object.entries(records.hosts ?? {})) {
    args.push(`--host-record=${name},${addresses.join(',')}`);
  }
  for (const [name, targets] of Object.entries(records.srv ?? {})) {
    for (const t of targets) args.push(`--srv-host=${name},${t.target},${t.port},${t.priority},${t.weight}`);
  }
  for (const [name, list] of Object.entries(records.naptr ?? {})) {
    for (const r of list) {
      args.push(
        `--naptr-record=${name},${r.order},${r.preference},${r.flags},${r.service},,${r.replacement}`,
      );
    }
  }
  return args;
}

export async function startDnsmasq(records: DnsRecords): Promise<DnsServer> {
  const port = await freePort();
  const child = spawn('dnsmasq', argsOf(records, port), { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ready when it answers: ask for a name it must not know until it says NXDOMAIN.
  const probe = new Resolver({ timeout: 200, tries: 1 });
  probe.setServers([`127.0.0.1:${port}`]);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${output}`);
    const code = await probe
      .resolve4(`ready.${records.localDomain ?? 'pivot.test'}`)
      .then(() => 'answered')
      .catch((error: { code?: string }) => error.code);
    if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'answered') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    server: `127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      running.delete(child);
    },
  };
}
