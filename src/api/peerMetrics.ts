/** The SIP peers' health on /metrics: one gauge per checked address, 1 answering, 0 not, -1 not yet known. */
import { Gauge, type Registry } from 'prom-client';
import type { PeerHealth } from '../engine/peerHealth.ts';

export function registerPeerMetrics(registry: Registry, health: PeerHealth): void {
  new Gauge({
    name: 'pivot_sip_peer_up',
    help: 'Whether a carrier gateway or origination address answers OPTIONS (1), not (0), or is not known yet (-1)',
    labelNames: ['uri', 'transport', 'address', 'port'],
    registers: [registry],
    collect() {
      this.reset();
      for (const peer of health.statuses()) {
        const { transport, host, port } = peer.destination;
        const value = peer.state === 'up' ? 1 : peer.state === 'down' ? 0 : -1;
        this.set({ uri: peer.uri, transport, address: host, port: String(port) }, value);
      }
    },
  });
}
