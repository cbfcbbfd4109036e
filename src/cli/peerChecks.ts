/**
 * Health checks of the SIP peers when the roles run apart over NATS. The SIP edge pings: it owns the
 * transport, so a ping's answer comes back to the process that sent it, wherever the engines are (an
 * answer handed to the bus would go to whichever engine pulls its partition). One adapter per deployment
 * pings at a time: it renews the shared snapshot every interval, and another adapter takes over only
 * once that snapshot is stale. Engines and API processes follow the snapshot, so every engine takes a
 * dead gateway out of rotation and every /healthz and /metrics shows the same peers.
 */
import { connectPeerStateBus } from '../bus/nats/peerState.ts';
import type { Closable, PeerStateBus } from '../bus/port.ts';
import type { PivotConfig } from '../config/index.ts';
import {
  createHealthChecker,
  createPeerHealthMirror,
  type HealthChecker,
  type PeerHealth,
  STALE_AFTER_INTERVALS,
} from '../engine/peerHealth.ts';
import { type TrunkDirectory, trunkDirectory } from '../engine/trunks.ts';
import type { Logger } from '../log.ts';
import type { SipCommand } from '../shared/messages.ts';
import type { PeerSnapshot } from '../shared/peerStatus.ts';
import { healthTargets, startPeerLocator } from './roles.ts';

export interface EdgeHealthChecks {
  /** For `startSipRole`: the answers to the pings. */
  pings: Pick<HealthChecker, 'owns' | 'onResponse'>;
  /** Starts taking turns once the adapter runs. */
  start(adapter: { adapterId: string; execute(command: SipCommand): void }): void;
  stop(): Promise<void>;
}

export async function startEdgeHealthChecks(options: {
  config: PivotConfig & { healthChecks: { intervalSeconds: number } };
  bus: PeerStateBus;
  log: Logger;
  /** The live trunks (the store's); the config's otherwise. */
  trunks?: () => TrunkDirectory;
  now?: () => Date;
}): Promise<EdgeHealthChecks> {
  const { config, bus, log } = options;
  const now = options.now ?? (() => new Date());
  const intervalMs = config.healthChecks.intervalSeconds * 1000;
  // The edge locates the carrier's and the trunks' names itself: it pings every address they stand for.
  const peers = await startPeerLocator(config, log);
  const fixed = trunkDirectory(config, peers);
  const directory = options.trunks
    ? () => trunkDirectory({ ...config, trunks: options.trunks!().trunks }, peers)
    : () => fixed;
  let execute: ((command: SipCommand) => void) | undefined;
  let adapterId = '';
  /** Our last write while we ping; undefined while another adapter does (or before our first turn). */
  let sequence: number | undefined;
  let pinging = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let queue: Promise<void> = Promise.resolve();
  let failing = false;

  const checker = createHealthChecker({
    targets: () => healthTargets(directory()),
    send: (command) => execute?.(command),
    intervalMs,
    publicHost: config.sip.publicHost,
    log,
    now,
    onChange: () => {
      if (sequence !== undefined) inTurn(() => write(sequence!));
    },
  });

  const snapshot = (): PeerSnapshot => ({
    by: adapterId,
    at: now().toISOString(),
    intervalMs,
    peers: checker.statuses(),
  });

  async function write(over: number): Promise<void> {
    sequence = await bus.publish(snapshot(), over);
  }

  /** One turn: ping and renew the snapshot, unless another adapter renewed it lately. */
  async function turn(): Promise<void> {
    const last = await bus.latest();
    const theirs =
      last !== undefined &&
      last.snapshot.by !== adapterId &&
      now().getTime() - Date.parse(last.snapshot.at) < STALE_AFTER_INTERVALS * intervalMs;
    if (theirs) {
      if (pinging) log('info', 'another sip adapter pings the sip peers', { by: last.snapshot.by });
      pinging = false;
      sequence = undefined;
      return;
    }
    if (!pinging) log('info', 'this sip adapter pings the sip peers', { adapterId });
    pinging = true;
    checker.ping();
    await write(last?.sequence ?? 0);
  }

  // Turns and writes one after the other, so our own writes do not race each other's sequence.
  // A NATS outage is logged once, not every interval.
  function inTurn(step: () => Promise<void>): void {
    queue = queue
      .then(() => (stopped ? undefined : step()))
      .then(
        () => {
          if (failing) log('info', 'sip peer health shared again');
          failing = false;
        },
        (error: unknown) => {
          if (!failing) log('warn', 'sip peer health not shared', { error: String(error) });
          failing = true;
        },
      );
  }

  return {
    pings: checker,
    start(adapter) {
      adapterId = adapter.adapterId;
      execute = adapter.execute;
      inTurn(turn);
      timer = setInterval(() => inTurn(turn), intervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await queue;
      peers.stop();
    },
  };
}

/**
 * For `pivot engine`: the peers' health the edge shares, when the config checks peers and the bus is
 * NATS. An engine that cannot follow it still runs, with every gateway in rotation.
 */
export async function followPeerHealthOnBus(
  config: PivotConfig,
  bus: { peerStates?: () => Promise<PeerStateBus> },
  log: Logger,
): Promise<({ health: PeerHealth } & Closable) | undefined> {
  if (!config.healthChecks || !bus.peerStates) return undefined;
  try {
    return await followPeerHealth(await bus.peerStates());
  } catch (error) {
    log('error', 'sip peer health is not followed', { error: String(error) });
    return undefined;
  }
}

/** The peers' health as the pinging edge shares it, for an engine or an API process. */
export async function followPeerHealth(bus: PeerStateBus): Promise<{ health: PeerHealth } & Closable> {
  const health = createPeerHealthMirror();
  const following = await bus.follow((snapshot, live) =>
    health.update(snapshot, live ? new Date() : undefined),
  );
  return { health, close: () => following.close() };
}

/**
 * For `pivot api`, which has no bus of its own: the peers' health over a NATS connection of its own,
 * when the config checks peers and the roles run apart. The API serves without it when NATS is down.
 */
export async function followPeerHealthOverNats(
  config: PivotConfig,
  log: Logger,
): Promise<({ health: PeerHealth } & Closable) | undefined> {
  if (!config.healthChecks || config.bus.kind !== 'nats') return undefined;
  try {
    const bus = await connectPeerStateBus({
      servers: config.bus.url,
      name: 'sip-pivot api peer health',
      log,
    });
    const followed = await followPeerHealth(bus).catch(async (error: unknown) => {
      await bus.close();
      throw error;
    });
    return {
      health: followed.health,
      async close() {
        await followed.close();
        await bus.close();
      },
    };
  } catch (error) {
    log('error', 'sip peer health is not followed', { error: String(error) });
    return undefined;
  }
}
