/**
 * A real Kamailio as a record-routing SBC between the PBX and the pivot, started from tests with a
 * generated config. It relays initial requests from the PBX side to the pivot and from the pivot side to
 * the PBX, adds a Record-Route, relays in-dialog requests by their Route set (RFC 3261 §16.12), and logs
 * every request it receives, every request it sends and every reply it receives, one parseable line each.
 *
 * It listens on two addresses: `ip` (where the PBX sends, and the only one it sends from) and `rrIp`
 * (the only one named in its Record-Route). A peer that sends in-dialog requests through the route set
 * reaches `rrIp`; one that answers the address requests came from reaches `ip`. The log tells them apart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/sipp.ts';

// Debian installs it in /usr/sbin, which is often not on a user's PATH.
const KAMAILIO =
  process.env.KAMAILIO_BIN ?? (existsSync('/usr/sbin/kamailio') ? '/usr/sbin/kamailio' : 'kamailio');
const MODULE_DIR = process.env.KAMAILIO_MODULE_DIR ?? '/usr/lib/x86_64-linux-gnu/kamailio/modules/';

export interface KamailioOptions {
  /** Address it listens on for the PBX and sends every request from. */
  ip: string;
  /** Address written into Record-Route (listened on too, never sent from). */
  rrIp: string;
  /** host:port of the pivot, where initial requests from the PBX side are relayed. */
  pivot: string;
  /** host:port of the PBX, where initial requests from the pivot are relayed; without it they get 404. */
  pbx?: string;
}

/** A request Kamailio received: `source` is the peer's address, `socket` Kamailio's own. */
export interface ReceivedRequest {
  method: string;
  uri: string;
  callId: string;
  source: string;
  socket: string;
  /** The CSeq number: a retransmission repeats its request's. */
  cseq: number;
  /** The topmost Route header, if any. */
  route: string | undefined;
}

/**
 * The requests without their retransmissions (same Call-ID, CSeq and method): a peer slow to answer on a
 * loaded machine makes the pivot retransmit over UDP, and the proxy logs every copy it receives.
 */
export function withoutRetransmissions(requests: ReceivedRequest[]): ReceivedRequest[] {
  const seen = new Set<string>();
  return requests.filter((r) => {
    const key = `${r.callId} ${r.cseq} ${r.method}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A request Kamailio sent (after routing), and where to. */
export interface RelayedRequest {
  method: string;
  uri: string;
  callId: string;
  destination: string;
}

export interface Kamailio {
  /** ip:port the PBX sends to. */
  address: string;
  /** ip:port named in Record-Route. */
  recordRoute: string;
  received(): ReceivedRequest[];
  relayed(): RelayedRequest[];
  /** Everything it logged (stderr), for failure messages and traces. */
  log(): string;
  /** Stops Kamailio and its children (SIGTERM to its process group, SIGKILL if they linger). */
  stop(): Promise<void>;
}

export async function startKamailio(options: KamailioOptions): Promise<Kamailio> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kamailio-'));
  const port = await freePort();
  const rrPort = await freePort();
  const config = path.join(dir, 'kamailio.cfg');
  writeFileSync(config, kamailioConfig({ ...options, port, rrPort }));
  const child: ChildProcess = spawn(KAMAILIO, ['-f', config, '-DD', '-E', '-m', '32', '-M', '4'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const append = (chunk: Buffer) => {
    out += chunk.toString();
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
  }).then(() => {
    gone = true;
  });

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (!gone && child.pid) {
        signalGroup(child.pid, 'SIGTERM');
        const guard = setTimeout(() => child.pid && signalGroup(child.pid, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(guard);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const sockets = [
    { ip: options.ip, port },
    { ip: options.rrIp, port: rrPort },
  ];
  for (let attempt = 0; !sockets.every((s) => bound(s.ip, s.port)); attempt++) {
    if (gone || attempt >= 400) {
      await stop();
      throw new Error(`kamailio did not start listening\n${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }

  const lines = (kind: string) =>
    out
      .split('\n')
      .map((line) => line.slice(line.indexOf('PEERLOG|')))
      .filter((line) => line.startsWith(`PEERLOG|${kind}|`))
      .map((line) => line.split('|').slice(2));
  return {
    address: `${options.ip}:${port}`,
    recordRoute: `${options.rrIp}:${rrPort}`,
    received: () =>
      lines('in').map(([method, uri, callId, source, socket, cseq, route]) => ({
        method: method ?? '',
        uri: uri ?? '',
        callId: callId ?? '',
        source: source ?? '',
        socket: socket ?? '',
        cseq: Number(cseq),
        route: route === '<null>' ? undefined : route,
      })),
    relayed: () =>
      lines('out').map(([method, uri, callId, destination]) => ({
        method: method ?? '',
        uri: uri ?? '',
        callId: callId ?? '',
        destination: destination ?? '',
      })),
    log: () => out,
    stop,
  };
}

function kamailioConfig(o: KamailioOptions & { port: number; rrPort: number }): string {
  const [pivotIp, pivotPort] = o.pivot.split(':');
  const toPbx = o.pbx ? `$du = "sip:${o.pbx}";` : 'sl_send_reply("404", "No PBX");\n    exit;';
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=1
disable_sctp=yes
auto_aliases=no
dns=no
rev_dns=no
listen=udp:${o.ip}:${o.port}
listen=tcp:${o.ip}:${o.port}
listen=udp:${o.rrIp}:${o.rrPort}
listen=tcp:${o.rrIp}:${o.rrPort}
mpath="${MODULE_DIR}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "siputils.so"

request_route {
  xlog("L_NOTICE", "PEERLOG|in|$rm|$ru|$ci|$si:$sp|$Ri:$Rp|$cs|$hdr(Route)\\n");
  if (!mf_process_maxfwd_header("10")) {
    sl_send_reply("483", "Too Many Hops");
    exit;
  }
  if (has_totag()) {
    # In-dialog: the Route set decides (RFC 3261 16.4, 16.12). One without a Route is still relayed to its
    # Request-URI, so a peer that skips the route set shows up in the log instead of failing the call.
    if (!loose_route()) {
      xlog("L_NOTICE", "PEERLOG|no-route|$rm|$ci\\n");
      if (uri == myself) {
        if (!is_method("ACK")) sl_send_reply("404", "Not Here");
        exit;
      }
    }
    route(RELAY);
    exit;
  }
  if (is_method("CANCEL")) {
    if (t_check_trans()) route(RELAY);
    exit;
  }
  if ($si == "${pivotIp}" && $sp == ${pivotPort}) {
    ${toPbx}
  } else {
    $du = "sip:${o.pivot}";
  }
  record_route_preset("${o.rrIp}:${o.rrPort}");
  route(RELAY);
}

route[RELAY] {
  # Everything leaves from $o.ip, never from the Record-Route address.
  if ($pr == "tcp") {
    force_send_socket(tcp:${o.ip}:${o.port});
  } else {
    force_send_socket(udp:${o.ip}:${o.port});
  }
  if (!t_relay()) {
    sl_reply_error();
  }
}

onreply_route {
  xlog("L_NOTICE", "PEERLOG|reply|$rs $rr|$rm|$ci|$si:$sp|$Ri:$Rp\\n");
}

onsend_route {
  xlog("L_NOTICE", "PEERLOG|out|$rm|$ru|$ci|$snd(ip):$snd(port)\\n");
}
`;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Whether a UDP socket is bound to ip:port (read from /proc/net/udp, addresses little-endian hex). */
function bound(ip: string, port: number): boolean {
  const address = ip
    .split('.')
    .reverse()
    .map((octet) => Number(octet).toString(16).toUpperCase().padStart(2, '0'))
    .join('');
  const wanted = `${address}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let table = '';
  try {
    table = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return true;
  }
  return table.split('\n').some((line) => line.trim().split(/\s+/)[1] === wanted);
}
