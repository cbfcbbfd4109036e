/**
 * Which TCP connections carry a confirmed INVITE dialog, so the idle close spares them: a PBX behind NAT
 * that connected to us and listens on no port of its own can only be reached over the connection it
 * opened (RFC 3261 §18.2.2, RFC 5626 §3.3). A dialog is pinned when a 2xx to an INVITE crosses a
 * connection and released when a BYE transaction of its Call-ID completes. Bounded: a pin lasts at most
 * `maxAgeMs` (a dialog whose BYE we never saw must not hold a connection for ever) and at most
 * `maxDialogs` dialogs are remembered (the oldest go first).
 */
import type { SipEndpoint } from '../shared/messages.ts';

export interface DialogPins {
  pin(callId: string, remote: SipEndpoint): void;
  release(callId: string): void;
  /** Whether a live dialog is pinned to the connection with this remote end. */
  holds(remote: SipEndpoint): boolean;
  readonly size: number;
}

export interface DialogPinsOptions {
  now: () => number;
  maxAgeMs: number;
  maxDialogs: number;
}

/** A dialog reaches its peer over one connection; a few more cover a re-INVITE after a reconnect. */
const MAX_CONNECTIONS_PER_DIALOG = 4;

interface Pin {
  connections: Set<string>;
  expiresAt: number;
}

export function createDialogPins(options: DialogPinsOptions): DialogPins {
  const byCallId = new Map<string, Pin>();
  const byConnection = new Map<string, Set<string>>();

  const release = (callId: string) => {
    const pin = byCallId.get(callId);
    if (!pin) return;
    byCallId.delete(callId);
    for (const connection of pin.connections) {
      const callIds = byConnection.get(connection);
      callIds?.delete(callId);
      if (callIds?.size === 0) byConnection.delete(connection);
    }
  };

  return {
    pin(callId, remote) {
      const connection = connectionKey(remote);
      let pin = byCallId.get(callId);
      if (!pin) {
        if (byCallId.size >= options.maxDialogs) {
          const oldest = byCallId.keys().next().value;
          if (oldest !== undefined) release(oldest);
        }
        pin = { connections: new Set(), expiresAt: options.now() + options.maxAgeMs };
        byCallId.set(callId, pin);
      }
      if (pin.connections.has(connection) || pin.connections.size >= MAX_CONNECTIONS_PER_DIALOG) return;
      pin.connections.add(connection);
      let callIds = byConnection.get(connection);
      if (!callIds) {
        callIds = new Set();
        byConnection.set(connection, callIds);
      }
      callIds.add(callId);
    },
    release,
    holds(remote) {
      const callIds = byConnection.get(connectionKey(remote));
      if (!callIds) return false;
      const now = options.now();
      for (const callId of [...callIds]) {
        const pin = byCallId.get(callId);
        if (pin && pin.expiresAt > now) return true;
        release(callId);
      }
      return false;
    },
    get size() {
      return byCallId.size;
    },
  };
}

function connectionKey(remote: SipEndpoint): string {
  return `${remote.host}|${remote.port}`;
}
