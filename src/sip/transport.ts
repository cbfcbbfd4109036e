/**
 * UDP and TCP sockets on one port, and TLS on another when configured. Hands every datagram / framed
 * stream message to onMessage with its source, and sends bytes to an endpoint (reusing a TCP or TLS
 * connection to it when there is one, in either direction, as RFC 3261 §18 prefers). Nothing thrown by
 * onMessage escapes a socket handler.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { PeerCertificate, SipEndpoint } from '../shared/messages.ts';
import { MAX_MESSAGE_BYTES } from './constants.ts';
import { createStreamFramer } from './framer.ts';
import type { Logger, SendFn } from './types.ts';

export interface TransportOptions {
  host: string;
  port: number;
  log: Logger;
  /** `certificate`: the peer's, when the message came over TLS and the peer's certificate verified. */
  onMessage: (data: Buffer, source: SipEndpoint, certificate?: PeerCertificate) => void;
  /** Idle TCP connections are closed after this long (default 5 minutes)... */
  tcpIdleMs?: number;
  /** ...unless this says the connection must stay (it carries a live dialog); asked at every idle period. */
  keepOpen?: (remote: SipEndpoint) => boolean;
  tls?: TlsOptions;
}

export interface TlsOptions {
  /** The TLS listener's port (0 picks a free one). */
  port: number;
  /** PEM files: our certificate chain and key, and the CAs peers' certificates must chain to. */
  certificate: string;
  key: string;
  /** Absent: the system's CAs. */
  ca?: string;
  /** Ask peers connecting to the listener for a certificate; `require` refuses the handshake without one. */
  clientCertificates?: 'request' | 'require';
  /** The CAs client certificates must chain to; `ca` (else the system's) when absent. */
  clientCa?: string;
  /**
   * Peers trusted through their own CA (a PEM file) instead of `ca`: a carrier or a trunk's PBX whose
   * certificates chain to a private CA, matched by the host (name or address) and, when given, port
   * the pivot connects to.
   */
  peers?: TlsPeer[];
}

export interface TlsPeer {
  host: string;
  port?: number;
  /** A PEM file: the peer's own CA. */
  ca?: string;
  /**
   * The SHA-256 fingerprint of the peer's certificate (hex, colons optional): that certificate is
   * trusted whoever signed it (a self-signed one too), and no other.
   */
  fingerprint?: string;
}

const DEFAULT_TCP_IDLE_MS = 5 * 60_000;

export interface SipTransport {
  /** Binds UDP and TCP to the same port (port 0 picks one free for both), and TLS to its own. */
  start(): Promise<{ host: string; port: number; tlsPort?: number }>;
  send: SendFn;
  /** TCP and TLS connections open now, accepted or initiated (a closed one is gone once its socket is). */
  openConnections(): number;
  stop(): Promise<void>;
}

const BIND_ATTEMPTS = 20;

export function createTransport(options: TransportOptions): SipTransport {
  const { log } = options;
  let udp: dgram.Socket | undefined;
  let tcp: net.Server | undefined;
  let tlsServer: tls.Server | undefined;
  const credentials = options.tls ? readCredentials(options.tls) : undefined;
  /** Open TCP connections by remote `host:port`, accepted or initiated. */
  const connections = new Map<string, net.Socket>();

  const deliver = (data: Buffer, source: SipEndpoint, certificate?: PeerCertificate) => {
    try {
      options.onMessage(data, source, certificate);
    } catch (error) {
      log('error', 'sip message handler failed', { error: String(error), source });
    }
  };

  /** `accepted`: the peer connected to our TLS listener, so its certificate is a client certificate. */
  const adopt = (socket: net.Socket, remote: SipEndpoint, accepted = false) => {
    const key = endpointKey(remote);
    // Read once the handshake is done (no message arrives before it), then kept for the connection. On
    // a connection we opened, the peer's certificate is a server certificate, checked against other CAs:
    // it says nothing about who may place calls.
    let certificate: PeerCertificate | undefined | null =
      accepted && socket instanceof tls.TLSSocket ? undefined : null;
    connections.set(key, socket);
    const idleMs = options.tcpIdleMs ?? DEFAULT_TCP_IDLE_MS;
    socket.setTimeout(idleMs);
    socket.on('timeout', () => {
      // A socket's timeout fires once per idle stretch: arm it again to ask again later.
      if (options.keepOpen?.(remote)) socket.setTimeout(idleMs);
      else socket.destroy();
    });
    const frame = createStreamFramer({
      maxMessageBytes: MAX_MESSAGE_BYTES,
      onMessage: (message) => {
        if (certificate === undefined) certificate = verifiedCertificate(socket as tls.TLSSocket);
        deliver(message, remote, certificate ?? undefined);
      },
      onPing: () => socket.write('\r\n'),
      onFramingLost: (reason) => {
        log('warn', 'sip tcp framing lost, closing connection', { reason, remote });
        // Let the 400 for the broken message leave before the connection goes.
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      },
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        frame(chunk);
      } catch (error) {
        log('error', 'sip tcp framing failed', { error: String(error), remote });
        socket.destroy();
      }
    });
    socket.on('error', (error) => log('info', 'sip tcp connection error', { error: error.message, remote }));
    socket.on('close', () => {
      if (connections.get(key) === socket) connections.delete(key);
    });
  };

  const sendUdp = (destination: SipEndpoint, data: Buffer, onError?: (error: Error) => void) => {
    if (!udp) return onError?.(new Error('transport not started'));
    // A dual-stack IPv6 socket (bound to `::`) reaches IPv4 peers at their IPv4-mapped address.
    const host =
      net.isIPv6(options.host) && net.isIPv4(destination.host)
        ? `::ffff:${destination.host}`
        : destination.host;
    udp.send(data, destination.port, host, (error) => {
      if (error) {
        log('warn', 'sip udp send failed', { error: error.message, destination });
        onError?.(error);
      }
    });
  };

  const sendStream = (destination: SipEndpoint, data: Buffer, onError?: (error: Error) => void) => {
    let socket = connections.get(endpointKey(destination));
    if (!socket || socket.destroyed) {
      if (!tcp) return onError?.(new Error('transport not started'));
      if (destination.transport === 'tls') {
        if (!credentials) return onError?.(new Error('no TLS configured (sip.tls)'));
        const peer = peerOf(credentials, destination);
        // RFC 5922: the peer's certificate must name the host we meant to reach, unless it is pinned.
        const secure = tls.connect({
          host: destination.host,
          port: destination.port,
          ...(net.isIP(destination.host) ? {} : { servername: destination.host }),
          cert: credentials.cert,
          key: credentials.key,
          ...((peer?.ca ?? credentials.ca) ? { ca: peer?.ca ?? credentials.ca } : {}),
          ...(peer?.fingerprint ? { rejectUnauthorized: false } : {}),
        });
        if (peer?.fingerprint) pin(secure, peer.fingerprint);
        socket = secure;
      } else {
        socket = net.connect({ host: destination.host, port: destination.port });
      }
      adopt(socket, { ...destination, host: normalizeHost(destination.host) });
    }
    if (onError) {
      const failed = (error: Error) => onError(error);
      socket.once('error', failed);
      socket.write(data, (error) => {
        socket.off('error', failed);
        if (error) onError(error);
      });
    } else {
      socket.write(data);
    }
  };

  return {
    async start() {
      for (let attempt = 0; ; attempt++) {
        const server = net.createServer((socket) => {
          adopt(socket, {
            transport: 'tcp',
            host: normalizeHost(socket.remoteAddress ?? ''),
            port: socket.remotePort ?? 0,
          });
        });
        const port = await listen(server, options.host, options.port);
        try {
          udp = await bindUdp(options.host, port);
        } catch (error) {
          // With port 0 the TCP port may be taken for UDP by someone else: try another one.
          await closeServer(server);
          if (options.port !== 0 || attempt >= BIND_ATTEMPTS) throw error;
          continue;
        }
        tcp = server;
        tcp.on('error', (error) => log('error', 'sip tcp server error', { error: error.message }));
        udp.on('error', (error) => log('error', 'sip udp socket error', { error: error.message }));
        udp.on('message', (data, rinfo) =>
          deliver(data, { transport: 'udp', host: normalizeHost(rinfo.address), port: rinfo.port }),
        );
        if (!options.tls || !credentials) return { host: options.host, port };
        const clientCa = credentials.clientCa ?? credentials.ca;
        tlsServer = tls.createServer(
          {
            cert: credentials.cert,
            key: credentials.key,
            ...(options.tls.clientCertificates
              ? {
                  requestCert: true,
                  rejectUnauthorized: options.tls.clientCertificates === 'require',
                  ...(clientCa ? { ca: clientCa } : {}),
                }
              : {}),
          },
          (socket) => {
            adopt(
              socket,
              {
                transport: 'tls',
                host: normalizeHost(socket.remoteAddress ?? ''),
                port: socket.remotePort ?? 0,
              },
              true,
            );
          },
        );
        // A failed handshake (a scanner, a wrong CA) costs a log line, not the listener.
        tlsServer.on('tlsClientError', (error) =>
          log('info', 'sip tls handshake failed', { error: error.message }),
        );
        tlsServer.on('error', (error) => log('error', 'sip tls server error', { error: error.message }));
        const tlsPort = await listen(tlsServer, options.host, options.tls.port);
        return { host: options.host, port, tlsPort };
      }
    },
    send(destination, data, onError) {
      try {
        if (destination.transport === 'udp') sendUdp(destination, data, onError);
        else sendStream(destination, data, onError);
      } catch (error) {
        // dgram/net throw synchronously on invalid ports or hosts; report, never throw.
        log('warn', 'sip send failed', { error: String(error), destination });
        onError?.(error instanceof Error ? error : new Error(String(error)));
      }
    },
    openConnections: () => connections.size,
    async stop() {
      for (const socket of connections.values()) socket.destroy();
      connections.clear();
      const closing: Promise<void>[] = [];
      if (tcp) closing.push(closeServer(tcp));
      if (tlsServer) closing.push(closeServer(tlsServer));
      tlsServer = undefined;
      if (udp) {
        const socket = udp;
        closing.push(new Promise((resolve) => socket.close(() => resolve())));
      }
      tcp = undefined;
      udp = undefined;
      await Promise.all(closing);
    },
  };
}

function endpointKey(endpoint: SipEndpoint): string {
  // A TLS connection and a TCP one to the same address are different flows.
  const secure = endpoint.transport === 'tls' ? 'tls|' : '';
  return `${secure}${normalizeHost(endpoint.host)}|${endpoint.port}`;
}

interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  clientCa?: Buffer;
  peers: { host: string; port?: number; ca?: Buffer; fingerprint?: string }[];
}

/** Hex digits only, upper case: fingerprints compare whatever their spelling. */
function fingerprintDigits(text: string): string {
  return text.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

/**
 * Holds what is written to a pinned peer until its certificate is seen to be the pinned one; any other
 * certificate ends the connection before a byte of SIP is sent.
 */
function pin(socket: tls.TLSSocket, fingerprint: string): void {
  socket.cork();
  socket.once('secureConnect', () => {
    const seen = fingerprintDigits(socket.getPeerCertificate().fingerprint256 ?? '');
    if (seen === fingerprint) socket.uncork();
    else socket.destroy(new Error(`peer certificate ${seen} is not the pinned ${fingerprint}`));
  });
}

function readCredentials(options: TlsOptions): TlsCredentials {
  return {
    cert: readFileSync(options.certificate),
    key: readFileSync(options.key),
    ...(options.ca ? { ca: readFileSync(options.ca) } : {}),
    ...(options.clientCa ? { clientCa: readFileSync(options.clientCa) } : {}),
    peers: (options.peers ?? []).map(({ ca, fingerprint, ...at }) => ({
      ...at,
      ...(ca ? { ca: readFileSync(ca) } : {}),
      ...(fingerprint ? { fingerprint: fingerprintDigits(fingerprint) } : {}),
    })),
  };
}

const MAX_CERTIFICATE_NAMES = 16;

/**
 * What a TLS peer's certificate says about it, or null when it did not verify (or none was sent): a
 * certificate that did not chain to a trusted CA names no one.
 */
function verifiedCertificate(socket: tls.TLSSocket): PeerCertificate | null {
  if (!socket.authorized) return null;
  const peer = socket.getPeerCertificate();
  if (!peer?.fingerprint256) return null;
  const common = peer.subject?.CN;
  // `DNS:pbx.example.com, IP Address:192.0.2.1, URI:sip:pbx.example.com`; other kinds (email, a
  // directory name) name no host. The subject's CN counts only when no DNS or URI name is given
  // (RFC 5922 §7.1), so a CA that checks the alternative names but not the CN cannot be used to claim one.
  const alternatives = (peer.subjectaltname ?? '')
    .split(/,\s*/)
    .map((entry) => ({ kind: entry.slice(0, entry.indexOf(':')), name: entry.slice(entry.indexOf(':') + 1) }))
    .filter(({ kind }) => kind === 'DNS' || kind === 'URI' || kind === 'IP Address');
  const byName = alternatives.some(({ kind }) => kind === 'DNS' || kind === 'URI');
  const names = [
    ...(byName ? [] : Array.isArray(common) ? common : common ? [common] : []),
    ...alternatives.map(({ name }) => name),
  ]
    .map((name) => name.trim().toLowerCase())
    .filter((name, index, all) => name !== '' && name.length <= 255 && all.indexOf(name) === index);
  return { fingerprint: peer.fingerprint256, names: names.slice(0, MAX_CERTIFICATE_NAMES) };
}

/** The trust configured for the peer at `destination`: its own CA or pinned certificate, if any. */
function peerOf(credentials: TlsCredentials, destination: SipEndpoint) {
  const host = normalizeHost(destination.host).toLowerCase();
  return credentials.peers.find(
    (p) => p.host.toLowerCase() === host && (p.port === undefined || p.port === destination.port),
  );
}

/** `::ffff:127.0.0.1` (a dual-stack socket's view of IPv4) -> `127.0.0.1`. */
function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && net.isIPv4(host.slice(7)) ? host.slice(7) : host;
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    socket.once('error', (error) => {
      try {
        socket.close();
      } catch {
        // already closed by the failed bind
      }
      reject(error);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
