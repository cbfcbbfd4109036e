/**
 * Health checks with the roles apart: `pivot sip` and two `pivot engine` processes over NATS, SIPp as
 * the carrier's two gateways (A over TCP on 127.0.0.2, B over UDP on 127.0.0.4, each answering OPTIONS
 * 200 and INVITE 486). The SIP edge alone pings, once for the deployment; when A stops answering (its
 * SIPp ends: TCP refused) `pivot api`'s /healthz and /metrics show it down, and a call handled by either
 * engine (the other one stopped) is offered to B first, also by an engine started after A went down.
 * When A answers again it is up and offered calls first again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CARRIER_IP } from '../e2e/pivot.ts';
import { freePort, runSipp, type SippProcess } from '../helpers/sipp.ts';
import { clusterPerTest } from './support.ts';

const GATEWAY_B = '127.0.0.4';
const MAIN = path.resolve(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

const startCluster = clusterPerTest();
const stoppers: Array<() => void> = [];
afterEach(() => {
  for (const stop of stoppers.splice(0)) stop();
});

function gateway(localIp: string, localPort: number, transport: 'udp' | 'tcp'): SippProcess {
  const sipp = runSipp({
    scenario: 'gateway-options.xml',
    localIp,
    localPort,
    transport,
    calls: 100_000,
    timeoutMs: 180_000,
  });
  stoppers.push(() => sipp.kill());
  return sipp;
}

/** `pivot api` over the cluster's config on a free port; resolves with its URL once it serves. */
function startApi(configPath: string): Promise<string> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'api', '--config', configPath, '--port', '0'],
    { cwd: path.dirname(path.dirname(path.dirname(MAIN))), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  stoppers.push(() => child.kill('SIGKILL'));
  let printed = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      printed += chunk.toString();
      const url = /^(http:\/\/\S+)$/m.exec(printed)?.[1];
      if (url) resolve(url);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`pivot api exited (${code}):\n${printed}`)));
  });
}

async function stateOf(api: string, address: string): Promise<string | undefined> {
  const body = (await (await fetch(`${api}/healthz`)).json()) as {
    Peers?: Array<{ Address: string; State: string }>;
  };
  return body.Peers?.find((peer) => peer.Address === address)?.State;
}

/** A PBX call over UDP: the INVITE, the first final response's status line, its ACK. */
async function pbxCall(pivotPort: number, callId: string): Promise<string> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  const sdp =
    'v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n';
  const common = [
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${callId.replace(/\W/g, '')}`,
    'Max-Forwards: 70',
    'From: <sip:+15550100000@acme.pstn.pivot.test>;tag=pbx',
  ];
  const invite = [
    'INVITE sip:+15550200000@acme.pstn.pivot.test SIP/2.0',
    ...common,
    'To: <sip:+15550200000@acme.pstn.pivot.test>',
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:pbx@127.0.0.1:${port}>`,
    'Content-Type: application/sdp',
    `Content-Length: ${sdp.length}`,
    '',
    sdp,
  ].join('\r\n');
  try {
    return await new Promise<string>((resolve) => {
      socket.on('message', (data) => {
        const text = data.toString('utf8');
        const line = text.split('\r\n')[0]!;
        if (!/^SIP\/2\.0 [3-6]\d\d /.test(line)) return;
        const to = /^To:[ \t]*(.*?)\r?$/im.exec(text)?.[1];
        const ack = [
          'ACK sip:+15550200000@acme.pstn.pivot.test SIP/2.0',
          ...common,
          `To: ${to}`,
          `Call-ID: ${callId}`,
          'CSeq: 1 ACK',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
        socket.send(ack, pivotPort, '127.0.0.1', () => resolve(line));
      });
      socket.send(invite, pivotPort, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

/** The Call-IDs of the OPTIONS a SIPp party received, from its message trace. */
function optionsCallIds(messages: string): string[] {
  return messages
    .split(/^-{10,}.*$/m)
    .filter((block) => /message received/.test(block) && /^\s*OPTIONS /m.test(block))
    .map((block) => /^Call-ID:[ \t]*(\S+)/m.exec(block)?.[1] ?? '');
}

describe('peer health checks with the roles apart', () => {
  it('one edge pings; every engine takes a dead gateway out of rotation and back in when it answers', async () => {
    const portA = await freePort();
    let a = gateway(CARRIER_IP, portA, 'tcp');
    const b = gateway(GATEWAY_B, await freePort(), 'udp');
    await Promise.all([a.ready, b.ready]);
    const cluster = await startCluster({
      carrierPort: portA,
      carrierUris: [`sip:${CARRIER_IP}:${portA};transport=tcp`, `sip:${GATEWAY_B}:${b.port}`],
      healthCheckSeconds: 1,
    });
    const api = await startApi(cluster.configPath);
    await expect.poll(() => stateOf(api, CARRIER_IP), { timeout: 30_000 }).toBe('up');
    await expect.poll(() => stateOf(api, GATEWAY_B), { timeout: 30_000 }).toBe('up');

    a.kill();
    await a.done;
    await expect.poll(() => stateOf(api, CARRIER_IP), { timeout: 30_000 }).toBe('down');
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(metrics).toMatch(/^pivot_sip_peer_up\{[^}]*address="127\.0\.0\.2"[^}]*\} 0$/m);
    expect(metrics).toMatch(/^pivot_sip_peer_up\{[^}]*address="127\.0\.0\.4"[^}]*\} 1$/m);

    // Engine 0 alone, then an engine started after A went down alone: both offer the call to B.
    await cluster.kill(1, 'SIGTERM');
    expect(await pbxCall(cluster.sipPort, 'health-1@pbx')).toBe('SIP/2.0 486 Busy Here');
    await cluster.addEngine();
    await cluster.kill(0, 'SIGTERM');
    expect(await pbxCall(cluster.sipPort, 'health-2@pbx')).toBe('SIP/2.0 486 Busy Here');

    a = gateway(CARRIER_IP, portA, 'tcp');
    await a.ready;
    await expect.poll(() => stateOf(api, CARRIER_IP), { timeout: 30_000 }).toBe('up');
    expect(await pbxCall(cluster.sipPort, 'health-3@pbx')).toBe('SIP/2.0 486 Busy Here');

    const offered = (await cluster.events())
      .filter((event) => event.type === 'CallReceived')
      .map((event) => event.data.outbound.destination.host);
    expect(offered).toEqual([GATEWAY_B, GATEWAY_B, CARRIER_IP]);

    // One process pinged all along (its pings' Call-IDs share its prefix), not one per engine.
    b.kill();
    const pings = optionsCallIds((await b.done).messages);
    expect(pings.length).toBeGreaterThan(2);
    expect(new Set(pings.map((callId) => /^pv-ping-[0-9a-f]+-/.exec(callId)?.[0]))).toEqual(
      new Set([/^pv-ping-[0-9a-f]+-/.exec(pings[0]!)?.[0]]),
    );
  }, 180_000);
});
