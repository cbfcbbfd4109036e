/**
 * Legitimate call setup and OPTIONS latency while an unknown source floods the pivot with INVITEs, next
 * to the same load without the flood, in one run. Each side gets a fresh pivot in this process
 * (test/e2e/pivot.ts, SQLite in a temp dir); SIPp places calls from the trunk's PBX (127.0.0.1) as in
 * bench/transfer.ts (bench/sipp-load.ts), two probers send OPTIONS every 20 ms: one from the carrier's
 * address (127.0.0.2, a known peer, as a carrier's keepalive would) and one from 127.0.0.3 (a monitor
 * outside every ACL). During the flood run 127.0.0.66 (outside every ACL) sends INVITEs at a fixed rate
 * for as long as the calls last, capped in count and time. Everything stays on loopback.
 *
 *   npm run bench:flood [-- --rate 20 --count 200 --mode plain|transfer --flood-rate 3000 --flood-sources 1]
 *                       [--flood invite|refer]
 *
 * --flood refer floods REFERs inside one established dialog instead: the carrier (127.0.0.2) calls a
 * second trunk's number, the pivot rings that trunk's PBX (127.0.0.4, a raw UAS here), it answers, and
 * then REFERs in that dialog at --flood-rate (the first starts a transfer whose hold the carrier never
 * answers, the others are refused), the way a broken PBX loops.
 *
 * --flood-sources N spreads the flood over N source addresses (127.1.0.1...), as a spoofed flood would
 * be, so that no per-source limit alone can hold it. The figures end with the store's growth (events
 * stored during each run) and the process RSS.
 */
import dgram from 'node:dgram';
import { startTestPivot, TRUNK_DOMAIN } from '../test/e2e/pivot.ts';
import { freePort } from '../test/helpers/sipp.ts';
import { type LoadMode, percentile, percentiles, printFigures, runLoad } from './sipp-load.ts';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const rate = Number(flag('rate', '20'));
const count = Number(flag('count', '200'));
const mode = flag('mode', 'plain') as LoadMode;
const floodRate = Number(flag('flood-rate', '3000'));
const floodSources = Number(flag('flood-sources', '1'));
const floodKind = flag('flood', 'invite');
/** The flood never outlasts this, nor sends more than floodRate times it. */
const FLOOD_MAX_S = 120;
if (
  !(rate > 0) ||
  !(count > 0) ||
  !(floodRate > 0 && floodRate <= 20_000) ||
  !(Number.isInteger(floodSources) && floodSources >= 1 && floodSources <= 250) ||
  !['plain', 'transfer'].includes(mode) ||
  !['invite', 'refer'].includes(floodKind)
) {
  console.error(
    'usage: bench/flood.ts [--rate N] [--count N] [--mode plain|transfer] [--flood-rate N<=20000] [--flood-sources 1..250]',
  );
  process.exit(2);
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function bind(host: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

function request(method: string, uri: string, host: string, port: number, branch: string): Buffer {
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${host}:${port};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:scanner@${host}>;tag=${branch}`,
      `To: <${uri}>`,
      `Call-ID: ${branch}@${host}`,
      `CSeq: 1 ${method}`,
      `Contact: <sip:scanner@${host}:${port}>`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** OPTIONS every 20 ms from its own source; latencies of the answered ones, and how many got none. */
async function startProber(port: number, host: string) {
  const socket = await bind(host);
  const local = socket.address();
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  socket.on('message', (data) => {
    const branch = /branch=([^;\s,]+)/.exec(data.toString('latin1'))?.[1];
    const at = branch ? sentAt.get(branch) : undefined;
    if (branch && at !== undefined) {
      latencies.push(performance.now() - at);
      sentAt.delete(branch);
    }
  });
  let n = 0;
  const timer = setInterval(() => {
    const branch = `z9hG4bK-probe-${host}-${n++}`;
    sentAt.set(branch, performance.now());
    socket.send(
      request('OPTIONS', 'sip:pivot@127.0.0.1', local.address, local.port, branch),
      port,
      '127.0.0.1',
    );
  }, 20);
  return {
    async stop() {
      clearInterval(timer);
      await sleep(2_000);
      socket.close();
      return { sent: n, latencies, unanswered: sentAt.size };
    },
  };
}

/** INVITEs to the trunk from outside its ACL at floodRate per second, until stopped or capped. */
async function startFlood(port: number) {
  const hosts =
    floodSources === 1 ? ['127.0.0.66'] : Array.from({ length: floodSources }, (_, i) => `127.1.0.${i + 1}`);
  const sockets = await Promise.all(hosts.map(bind));
  const received = new Map<string, number>();
  for (const socket of sockets) {
    socket.on('message', (data) => {
      const status = data.toString('latin1', 8, 11);
      received.set(status, (received.get(status) ?? 0) + 1);
    });
  }
  const uri = `sip:+15550100000@${TRUNK_DOMAIN}`;
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((floodRate * tickMs) / 1000));
  const max = floodRate * FLOOD_MAX_S;
  let sent = 0;
  const started = performance.now();
  let stopped = false;
  const loop = (async () => {
    while (!stopped && sent < max && performance.now() - started < FLOOD_MAX_S * 1000) {
      for (let i = 0; i < perTick; i++, sent++) {
        const socket = sockets[sent % sockets.length]!;
        const local = socket.address();
        socket.send(
          request('INVITE', uri, local.address, local.port, `z9hG4bK-flood-${sent}`),
          port,
          '127.0.0.1',
        );
      }
      // Keeps the average rate whatever the timer's jitter.
      const due = started + (sent / perTick) * tickMs;
      await sleep(Math.max(0, due - performance.now()));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const seconds = (performance.now() - started) / 1000;
      // Retransmitted refusals would come for up to 32 s; 5 s shows whether any come at all.
      await sleep(5_000);
      for (const socket of sockets) socket.close();
      return { sent, seconds, received: Object.fromEntries(received) };
    },
  };
}

const REFERRING_PBX = '127.0.0.4';
const REFERRING_NUMBER = '+15550300000';

/** A header's value from a message text (first occurrence). */
function headerOf(text: string, name: string): string {
  const line = text.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim() ?? '';
}

const SDP =
  'v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';

/**
 * An origination call from the carrier to the referring trunk's PBX, answered, then REFERs in its
 * dialog from the PBX at floodRate per second until stopped or capped.
 */
async function startReferFlood(port: number, pbxSocket: dgram.Socket) {
  const carrierSocket = await bind('127.0.0.2');
  const carrierLocal = carrierSocket.address();
  const pbxLocal = pbxSocket.address();
  const received = new Map<string, number>();
  const invite = new Promise<string>((resolve) => {
    pbxSocket.on('message', (data) => {
      const text = data.toString('latin1');
      if (text.startsWith('INVITE ')) resolve(text);
      else if (text.startsWith('SIP/2.0 ')) {
        const status = text.slice(8, 11);
        received.set(status, (received.get(status) ?? 0) + 1);
      }
    });
  });
  const answered = new Promise<string>((resolve) => {
    carrierSocket.on('message', (data) => {
      const text = data.toString('latin1');
      if (text.startsWith('SIP/2.0 200') && headerOf(text, 'CSeq').endsWith('INVITE')) resolve(text);
    });
  });
  const uri = `sip:${REFERRING_NUMBER}@127.0.0.1:${port}`;
  const callId = `refer-flood-${Date.now()}@127.0.0.2`;
  carrierSocket.send(
    Buffer.from(
      [
        `INVITE ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.2:${carrierLocal.port};branch=z9hG4bK-rf-invite;rport`,
        'Max-Forwards: 70',
        `From: <sip:+15557770000@127.0.0.2>;tag=carrier-rf`,
        `To: <${uri}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 INVITE',
        `Contact: <sip:carrier@127.0.0.2:${carrierLocal.port}>`,
        'Content-Type: application/sdp',
        `Content-Length: ${Buffer.byteLength(SDP)}`,
        '',
        SDP,
      ].join('\r\n'),
    ),
    port,
    '127.0.0.1',
  );
  // The PBX answers the pivot's INVITE.
  const offer = await invite;
  const copied = offer.split('\r\n').filter((l) => /^(via|from|call-id|cseq):/i.test(l));
  const pbxTag = 'pbx-rf';
  pbxSocket.send(
    Buffer.from(
      [
        'SIP/2.0 200 OK',
        ...copied,
        `To: ${headerOf(offer, 'To')};tag=${pbxTag}`,
        `Contact: <sip:pbx@${REFERRING_PBX}:${pbxLocal.port}>`,
        'Content-Type: application/sdp',
        `Content-Length: ${Buffer.byteLength(SDP)}`,
        '',
        SDP,
      ].join('\r\n'),
    ),
    port,
    '127.0.0.1',
  );
  const ok = await answered;
  const contact = /<([^>]+)>/.exec(headerOf(ok, 'Contact'))?.[1] ?? uri;
  carrierSocket.send(
    Buffer.from(
      [
        `ACK ${contact} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.2:${carrierLocal.port};branch=z9hG4bK-rf-ack;rport`,
        'Max-Forwards: 70',
        `From: <sip:+15557770000@127.0.0.2>;tag=carrier-rf`,
        `To: ${headerOf(ok, 'To')}`,
        `Call-ID: ${callId}`,
        'CSeq: 1 ACK',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    ),
    port,
    '127.0.0.1',
  );
  // REFERs in the PBX's dialog: its From is the INVITE's To with its tag, its To the INVITE's From.
  const target = /<([^>]+)>/.exec(headerOf(offer, 'Contact'))?.[1] ?? uri;
  const dialog = {
    callId: headerOf(offer, 'Call-ID'),
    from: `${headerOf(offer, 'To')};tag=${pbxTag}`,
    to: headerOf(offer, 'From'),
  };
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((floodRate * tickMs) / 1000));
  const max = floodRate * FLOOD_MAX_S;
  let sent = 0;
  const started = performance.now();
  let stopped = false;
  const loop = (async () => {
    while (!stopped && sent < max && performance.now() - started < FLOOD_MAX_S * 1000) {
      for (let i = 0; i < perTick; i++, sent++) {
        pbxSocket.send(
          Buffer.from(
            [
              `REFER ${target} SIP/2.0`,
              `Via: SIP/2.0/UDP ${REFERRING_PBX}:${pbxLocal.port};branch=z9hG4bK-rf-${sent};rport`,
              'Max-Forwards: 70',
              `From: ${dialog.from}`,
              `To: ${dialog.to}`,
              `Call-ID: ${dialog.callId}`,
              `CSeq: ${sent + 2} REFER`,
              `Contact: <sip:pbx@${REFERRING_PBX}:${pbxLocal.port}>`,
              'Refer-To: <sip:+15550109999@127.0.0.2>',
              'Content-Length: 0',
              '',
              '',
            ].join('\r\n'),
          ),
          port,
          '127.0.0.1',
        );
      }
      const due = started + (sent / perTick) * tickMs;
      await sleep(Math.max(0, due - performance.now()));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const seconds = (performance.now() - started) / 1000;
      await sleep(5_000);
      carrierSocket.close();
      pbxSocket.close();
      return { sent, seconds, received: Object.fromEntries(received) };
    },
  };
}

async function run(withFlood: boolean) {
  const label = !withFlood
    ? `${mode} calls, no flood`
    : floodKind === 'refer'
      ? `${mode} calls during a REFER flood in one dialog (${floodRate}/s from another trunk's PBX)`
      : `${mode} calls during an INVITE flood (${floodRate}/s from ${floodSources} source${floodSources > 1 ? 's' : ''} outside the ACL)`;
  const carrierPort = await freePort();
  const pbxSocket = floodKind === 'refer' ? await bind(REFERRING_PBX) : undefined;
  const pivot = await startTestPivot({
    carrierPort,
    extraTrunks: [
      {
        name: 'globex',
        domain: 'globex.pstn.pivot.test',
        acl: [`${REFERRING_PBX}/32`],
        originationUri: `sip:${REFERRING_PBX}:${pbxSocket?.address().port ?? 5070}`,
        numbers: [REFERRING_NUMBER],
        transferMode: 'enable-all',
        transferCallerId: 'from-transferee',
        maxTransfersPerCall: 5,
        rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045 } },
      },
    ],
  });
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 250);
  const probers = {
    known: await startProber(pivot.port, '127.0.0.2'),
    unknown: await startProber(pivot.port, '127.0.0.3'),
  };
  const flood = !withFlood
    ? undefined
    : floodKind === 'refer'
      ? await startReferFlood(pivot.port, pbxSocket!)
      : await startFlood(pivot.port);
  if (!withFlood) pbxSocket?.close();
  try {
    const figures = await runLoad({
      mode,
      rate,
      count,
      pivot: {
        address: pivot.address,
        carrierPort,
        events: async () => {
          // The flood and the prober stop before the pivot does: what they saw is about a live pivot.
          floodResult = await flood?.stop();
          probed = { known: await probers.known.stop(), unknown: await probers.unknown.stop() };
          rssAfter = process.memoryUsage().rss;
          return pivot.events();
        },
      },
    });
    clearInterval(sampler);
    printFigures(label, figures);
    const p = probed!.known;
    const u = probed!.unknown;
    console.log(
      `  OPTIONS from the carrier's address (127.0.0.2, every 20 ms): ${p.latencies.length}/${p.sent} answered; latency ${percentiles(p.latencies)}`,
    );
    console.log(
      `  OPTIONS from an unknown monitor (127.0.0.3, every 20 ms): ${u.latencies.length}/${u.sent} answered; latency ${percentiles(u.latencies)}`,
    );
    const failed = figures.parties.find((party) => party.who === 'pbx')?.failed;
    console.log(`  store: ${figures.events.length} call events; legitimate calls failed (PBX): ${failed}`);
    if (floodResult) {
      const f = floodResult;
      const replies = Object.values(f.received).reduce((a, b) => a + b, 0);
      console.log(
        `  flood: ${f.sent} ${floodKind === 'refer' ? 'REFERs' : 'INVITEs'} in ${f.seconds.toFixed(1)} s (${(f.sent / f.seconds).toFixed(0)}/s); ` +
          `replies by status ${JSON.stringify(f.received)} = ${(replies / f.sent).toFixed(2)} per request`,
      );
    }
    console.log(`  RSS before ${mb(rssBefore)}, peak ${mb(rssPeak)}, after ${mb(rssAfter)}`);
    return {
      p99: percentile(figures.inviteTo200, 99),
      options99: percentile(p.latencies, 99),
      failed,
      events: figures.events.length,
      rssPeak,
    };
  } finally {
    clearInterval(sampler);
    await pivot.dispose();
  }
}

let floodResult: Awaited<ReturnType<Awaited<ReturnType<typeof startFlood>>['stop']>> | undefined;
type Probed = Awaited<ReturnType<Awaited<ReturnType<typeof startProber>>['stop']>>;
let probed: { known: Probed; unknown: Probed } | undefined;
let rssAfter = 0;

const quiet = await run(false);
floodResult = undefined;
const flooded = await run(true);
const ms = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(1)} ms`);
console.log(
  `\nINVITE -> 200 p99: ${ms(quiet.p99)} without flood, ${ms(flooded.p99)} with; ` +
    `OPTIONS (carrier address) p99: ${ms(quiet.options99)} without, ${ms(flooded.options99)} with; ` +
    `failed calls: ${quiet.failed} without, ${flooded.failed} with; ` +
    `call events stored: ${quiet.events} without, ${flooded.events} with; ` +
    `RSS peak ${mb(quiet.rssPeak)} without, ${mb(flooded.rssPeak)} with`,
);
// SIPp guard timers of finished runs may still be pending.
process.exit(0);
