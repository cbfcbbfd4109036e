/**
 * Health checks of the carrier's gateways (OPTIONS every second): a gateway that cannot be reached
 * (TCP refused) is shown down in /healthz and /metrics and leaves the rotation, so a new call goes
 * straight to the gateway that answers; when the first gateway answers OPTIONS again it is shown up and
 * takes calls again. The peers are real sockets: a UDP gateway on 127.0.0.4, a TCP one on 127.0.0.2.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CARRIER_IP, type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';
import { wrapSocket } from '../sip/tcpPeer.ts';

const SECOND_GATEWAY = '127.0.0.4';

let pivot: PivotUnderTest | undefined;
const closers: Array<() => void> = [];
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
  for (const close of closers.splice(0)) close();
});

function header(message: string, name: string): string | undefined {
  return new RegExp(`^${name}:[ \\t]*(.*?)\\r?$`, 'im').exec(message)?.[1];
}

/** A final response to `request`: its Via, From, To (a tag added), Call-ID and CSeq. */
function answer(request: string, status: string): string {
  const copy = ['Via', 'From', 'Call-ID', 'CSeq'].map((name) => `${name}: ${header(request, name)}`);
  const to = header(request, 'To')!;
  return [
    `SIP/2.0 ${status}`,
    ...copy,
    `To: ${to}${to.includes(';tag=') ? '' : ';tag=gw'}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** A UDP gateway: 200 to OPTIONS, 486 to INVITE; remembers the request lines it got. */
async function udpGateway(host: string) {
  const socket = dgram.createSocket('udp4');
  const lines: string[] = [];
  socket.on('message', (data, rinfo) => {
    const text = data.toString('utf8');
    const line = text.split('\r\n')[0]!;
    lines.push(line);
    if (line.startsWith('OPTIONS ')) socket.send(answer(text, '200 OK'), rinfo.port, rinfo.address);
    if (line.startsWith('INVITE ')) socket.send(answer(text, '486 Busy Here'), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  closers.push(() => socket.close());
  return { port: socket.address().port, lines };
}

/** A TCP gateway on `port` that answers OPTIONS 200 and INVITE 486 on every connection. */
async function tcpGateway(host: string, port: number) {
  const lines: string[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    const peer = wrapSocket(socket);
    void (async () => {
      for (;;) {
        const message = await peer.next();
        const line = message.split('\r\n')[0]!;
        lines.push(line);
        if (line.startsWith('OPTIONS ')) peer.send(answer(message, '200 OK'));
        if (line.startsWith('INVITE ')) peer.send(answer(message, '486 Busy Here'));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, host, () => resolve()));
  closers.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { lines };
}

async function peers(
  url: string,
): Promise<Array<{ Address: string; State: string; LastStatus: number | null }>> {
  const body = (await (await fetch(`${url}/healthz`)).json()) as { Peers?: [] };
  return body.Peers ?? [];
}

async function stateOf(url: string, address: string): Promise<string | undefined> {
  return (await peers(url)).find((peer) => peer.Address === address)?.State;
}

/** A PBX call over UDP; resolves with the first final response's status line. */
async function pbxCall(pivotPort: number, callId: string): Promise<string> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  const sdp =
    'v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n';
  const invite = [
    'INVITE sip:+15550200000@acme.pstn.pivot.test SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${callId}`,
    'Max-Forwards: 70',
    'From: <sip:+15550100000@acme.pstn.pivot.test>;tag=pbx',
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
        const line = data.toString('utf8').split('\r\n')[0]!;
        if (/^SIP\/2\.0 [2-6]\d\d /.test(line)) resolve(line);
      });
      socket.send(invite, pivotPort, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

describe('carrier gateway health checks', () => {
  it('an unreachable gateway leaves the rotation, and comes back once it answers OPTIONS', async () => {
    const second = await udpGateway(SECOND_GATEWAY);
    const firstPort = await freePort();
    pivot = await startTestPivot({
      carrierPort: firstPort,
      carrierUris: [`sip:${CARRIER_IP}:${firstPort};transport=tcp`, `sip:${SECOND_GATEWAY}:${second.port}`],
      healthCheckSeconds: 1,
    });
    await expect.poll(() => stateOf(pivot!.httpUrl, CARRIER_IP), { timeout: 15_000 }).toBe('down');
    await expect.poll(() => stateOf(pivot!.httpUrl, SECOND_GATEWAY), { timeout: 15_000 }).toBe('up');
    expect(second.lines).toContain(`OPTIONS sip:${SECOND_GATEWAY}:${second.port} SIP/2.0`);
    const metrics = await (await fetch(`${pivot.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`^pivot_sip_peer_up\\{[^}]*address="${CARRIER_IP.replace(/\./g, '\\.')}"[^}]*\\} 0$`, 'm'),
    );
    expect(metrics).toMatch(
      new RegExp(
        `^pivot_sip_peer_up\\{[^}]*address="${SECOND_GATEWAY.replace(/\./g, '\\.')}"[^}]*\\} 1$`,
        'm',
      ),
    );

    // Down: the call goes straight to the second gateway (no attempt at the first, no failover).
    expect(await pbxCall(pivot.port, 'health-call-1@pbx')).toBe('SIP/2.0 486 Busy Here');
    expect(second.lines.filter((line) => line.startsWith('INVITE '))).toHaveLength(1);

    // The first gateway starts answering: up again, and the next call is offered to it first.
    const first = await tcpGateway(CARRIER_IP, firstPort);
    await expect.poll(() => stateOf(pivot!.httpUrl, CARRIER_IP), { timeout: 15_000 }).toBe('up');
    expect(first.lines).toContain(`OPTIONS sip:${CARRIER_IP}:${firstPort};transport=tcp SIP/2.0`);
    expect(await pbxCall(pivot.port, 'health-call-2@pbx')).toBe('SIP/2.0 486 Busy Here');
    expect(first.lines.filter((line) => line.startsWith('INVITE '))).toHaveLength(1);

    const events = await pivot.events();
    const received = events
      .filter((e) => e.type === 'CallReceived')
      .map((e) => e.data.outbound.destination.host);
    expect(received).toEqual([SECOND_GATEWAY, CARRIER_IP]);
  });
});
