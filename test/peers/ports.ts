/** Free ports on a given loopback address, for peers that bind more than one. */
import dgram from 'node:dgram';
import net from 'node:net';
import { freePort } from '../helpers/sipp.ts';

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
export async function freeRtpRange(ip: string): Promise<{ first: number; last: number }> {
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
