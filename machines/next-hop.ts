/**
 * Where a request inside a dialog goes and how it is addressed (RFC 3261 §12.2.1.1): through the route
 * set when the peer's proxies record-routed (loose routing, or strict routing for RFC 2543 proxies),
 * otherwise straight to the peer's Contact. Two real-world corrections: a peer that called us is
 * reached on the flow its requests came from when the next hop is that same host (a NAT rewrote its
 * port, or it holds a TCP connection open and listens on no port of its own), and a private Contact
 * (RFC 1918, a PBX behind NAT that does not know its public address) is never a destination when the
 * peer's requests came from a public one. Pure: IP literals only; a host name keeps the stored address.
 */
import { isIP } from 'node:net';
import type { SipEndpoint } from '../src/shared/messages.ts';
import type { LegDialog } from './dialog.ts';
import { parseNameAddr, uriHostPort, uriParams, uriScheme } from './sip-syntax.ts';

export interface Addressing {
  requestUri: string;
  route: string[];
  destination: SipEndpoint;
}

/** How a request in `dialog` is addressed. Before the peer answered, the stored destination is used. */
export function addressing(dialog: LegDialog): Addressing {
  const legacy = { requestUri: dialog.remoteTarget, route: dialog.routeSet, destination: dialog.destination };
  // Legs stored before routing followed the route set keep going where they always went.
  if (!dialog.routed || !dialog.remote.params.tag) return legacy;
  const first = dialog.routeSet[0];
  const firstUri = first === undefined ? undefined : parseNameAddr(first)?.uri;
  let requestUri = dialog.remoteTarget;
  let route = dialog.routeSet;
  let hop = dialog.remoteTarget;
  if (firstUri !== undefined) {
    hop = firstUri;
    if (!('lr' in uriParams(firstUri))) {
      // §12.2.1.1 strict routing: the first route becomes the Request-URI, the remote target the last route.
      requestUri = firstUri;
      route = [...dialog.routeSet.slice(1), `<${dialog.remoteTarget}>`];
    }
  }
  return { requestUri, route, destination: destinationOf(hop, dialog) };
}

function destinationOf(uri: string, dialog: LegDialog): SipEndpoint {
  const hostPort = uriHostPort(uri);
  const flow = dialog.flow ?? dialog.destination;
  if (!hostPort || isIP(hostPort.host) === 0) return dialog.destination;
  if (dialog.flow && hostPort.host === dialog.flow.host) return dialog.flow;
  if (isPrivate(hostPort.host) && !isPrivate(flow.host)) return flow;
  const transport = uriTransport(uri) ?? dialog.destination.transport;
  const port = hostPort.port ?? (transport === 'tls' ? 5061 : 5060);
  return { transport, host: hostPort.host, port };
}

/**
 * The transport a URI asks for: TLS for `sips:` (RFC 3261 §19.1) or `;transport=tls`, else its
 * `;transport=` when it is one we speak; undefined when it says nothing (the caller's default applies).
 */
export function uriTransport(uri: string): SipEndpoint['transport'] | undefined {
  if (uriScheme(uri) === 'sips') return 'tls';
  const named = uriParams(uri).transport?.toLowerCase();
  return named === 'tcp' || named === 'udp' || named === 'tls' ? named : undefined;
}

/** RFC 1918, RFC 6598 shared space, link-local, and IPv6 unique-local / link-local addresses. */
export function isPrivate(address: string): boolean {
  if (isIP(address) === 4) {
    const [a = 0, b = 0] = address.split('.').map(Number);
    return (
      a === 10 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254)
    );
  }
  const lower = address.toLowerCase();
  return /^f[cd]/.test(lower) || lower.startsWith('fe80:');
}
