/**
 * What the health checks know of a SIP peer the pivot sends calls to (a carrier gateway, a trunk's
 * origination address), and the snapshot of all of them that the pinging SIP edge hands to the engines
 * and the API when the roles run apart.
 */
import type { SipEndpoint } from './messages.ts';

export type PeerState = 'up' | 'down' | 'unknown';

export interface PeerStatus {
  /** The configured URI the address belongs to. */
  uri: string;
  destination: SipEndpoint;
  state: PeerState;
  /** ISO time of the last state change, and the status of the last answer (ours on a timeout). */
  since?: string;
  lastStatus?: number;
}

export interface PeerSnapshot {
  /** The adapter that pings (one per deployment) and wrote this. */
  by: string;
  /** ISO time it was written: a snapshot not renewed within a few intervals is stale. */
  at: string;
  intervalMs: number;
  peers: PeerStatus[];
}
