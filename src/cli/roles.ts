/**
 * The pivot's roles, which `pivot serve` runs together on the in-process bus and `pivot sip` /
 * `pivot engine` / `pivot api` run apart over NATS:
 * - sip: the SIP adapter at the edge, publishing inputs and executing the commands addressed to it;
 * - engine: consumes inputs, decides, stores, sends commands; follows the store for timers;
 * - api: projections and the HTTP API (src/api/start.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Metrics } from '../api/metrics.ts';
import { createInProcessBus } from '../bus/inprocess.ts';
import { createNatsBus } from '../bus/nats/index.ts';
import type { AdapterBus, EngineBus, PeerStateBus } from '../bus/port.ts';
import { type BusConfig, carrierUris, type PivotConfig } from '../config/index.ts';
import { createPeerLocator, type PeerLocator, watchName } from '../dns/peers.ts';
import { createEngine, type Engine } from '../engine/engine.ts';
import { knownPeers } from '../engine/knownPeers.ts';
import { createHealthChecker, type HealthChecker, type PeerHealth } from '../engine/peerHealth.ts';
import { type TrunkDirectory, trunkDirectory } from '../engine/trunks.ts';
import type { Logger } from '../log.ts';
import type { SipCommand, SipEndpoint } from '../shared/messages.ts';
import { createSipAdapter, type SipAdapter } from '../sip/index.ts';
import type { EventStore } from '../store/port.ts';
import { openTrace } from '../trace/open.ts';
import type { TraceStore } from '../trace/store.ts';
import { startTrunkRegistry, type TrunkRegistry } from '../trunks/registry.ts';

export interface OpenBus {
  adapter: AdapterBus;
  engine: EngineBus;
  /** The peers' health between processes (NATS only). */
  peerStates?: () => Promise<PeerStateBus>;
  close(): Promise<void>;
}

export async function openBus(config: BusConfig, log: Logger): Promise<OpenBus> {
  if (config.kind === 'inprocess') {
    const bus = createInProcessBus({ log });
    return { ...bus, close: async () => {} };
  }
  const bus = await createNatsBus({
    servers: config.url,
    log,
    ...(config.partitions ? { partitions: config.partitions } : {}),
  });
  return {
    adapter: bus.adapter(),
    engine: bus.engine(),
    peerStates: () => bus.peerStates(),
    close: () => bus.close(),
  };
}

export interface RunningSip {
  adapterId: string;
  sip: { host: string; port: number };
  stats: SipAdapter['stats'];
  /** Sends a request or response from this adapter directly (the health checks' pings). */
  execute(command: SipCommand): void;
  stop(): Promise<void>;
}

export async function startSipRole(options: {
  config: PivotConfig;
  bus: AdapterBus;
  log: Logger;
  /** The SIP trace to record into; one is opened as the config says when not given. */
  trace?: TraceStore;
  /** The live trunks, so the adapter knows its peers as trunks change; the config's trunks otherwise. */
  trunks?: () => TrunkDirectory;
  /** Health checks pinging from this adapter: the answers to their pings are theirs, not the engines'. */
  pings?: Pick<HealthChecker, 'owns' | 'onResponse'>;
}): Promise<RunningSip> {
  const { config, bus, log } = options;
  const ownTrace = options.trace === undefined ? openTrace(config, log) : undefined;
  const trace = options.trace ?? ownTrace;
  const fixed = options.trunks ? undefined : trunkDirectory(config);
  const isKnownSource = knownPeers(options.trunks ?? (() => fixed!));
  const adapterId = `sip-${randomUUID().slice(0, 8)}`;
  const adapter = createSipAdapter({
    host: config.sip.host,
    port: config.sip.port,
    publicHost: config.sip.publicHost,
    adapterId,
    log,
    ...(trace ? { tap: trace.record } : {}),
    ...(config.sip.sourceLimit !== undefined ? { sourceLimit: config.sip.sourceLimit } : {}),
    ...(config.sip.tls ? { tls: config.sip.tls } : {}),
    ...(config.sip.maxPendingServerTransactions !== undefined
      ? { maxPendingServerTransactions: config.sip.maxPendingServerTransactions }
      : {}),
    isKnownSource,
    ...(config.sip.unknownSourceLimit !== undefined
      ? { unknownSourceLimit: config.sip.unknownSourceLimit }
      : {}),
  });
  await bus.onCommand(adapterId, (command) => adapter.execute(command));
  adapter.onInput((input) => {
    if (options.pings?.owns(input)) return Promise.resolve(options.pings.onResponse(input));
    // The bus retries a publish for a while (NATS: publishTimeoutMs); the in-process bus rejects when
    // the engine could not handle the input (the store failed). Either way, a request is published
    // again on the peer's next retransmission (src/sip/serverSide.ts), and a new INVITE gets no 100
    // Trying until its input is durable; its caller is told to try later rather than wait.
    const published = bus.publishInput(input);
    published.catch((error) => {
      log('warn', 'input not published or not handled', {
        error: String(error),
        transactionKey: input.transactionKey,
      });
      if (input.kind === 'request' && input.method === 'INVITE' && !input.to.params.tag) {
        adapter.execute({
          kind: 'response',
          adapterId,
          transactionKey: input.transactionKey,
          status: 503,
          reason: 'Service Unavailable',
          headers: { 'Retry-After': '5' },
        });
      }
    });
    return published;
  });
  const sip = await adapter.start();
  trace?.setLocal({ host: config.sip.publicHost, port: sip.port });
  return {
    adapterId,
    sip,
    stats: () => adapter.stats(),
    execute: (command) => adapter.execute(command),
    async stop() {
      await adapter.stop();
      ownTrace?.close();
    },
  };
}

/** What the health checks ping: every carrier gateway, answering or not, and each trunk's origination. */
export function healthTargets(directory: TrunkDirectory): { uri: string; destination: SipEndpoint }[] {
  const gateways = directory.carrierGateways.map(({ host, destination }) => {
    // A name stays the Request-URI (RFC 3263); an address is written with its port and transport.
    const literal = /^\[|^[\d.]+$/.test(host);
    const transport = destination.transport === 'udp' ? '' : `;transport=${destination.transport}`;
    return { uri: literal ? `sip:${host}:${destination.port}${transport}` : `sip:${host}`, destination };
  });
  const originations = directory.trunks.flatMap((trunk) => {
    const found = directory.originationOf(trunk, { everyGateway: true });
    return 'gateways' in found
      ? found.gateways.map((gateway) => ({ uri: trunk.originationUri, destination: gateway.destination }))
      : [];
  });
  return [...gateways, ...originations];
}

/**
 * The locator of the carrier's and the trunks' host names (RFC 3263), with a first answer for each
 * before calls are taken. A name that does not resolve is logged and fails its calls, not the start.
 */
export async function startPeerLocator(config: PivotConfig, log: Logger): Promise<PeerLocator> {
  const peers = createPeerLocator({
    log,
    ...(config.dns?.servers ? { servers: config.dns.servers } : {}),
    ...(config.dns?.minTtlSeconds ? { minTtlSeconds: config.dns.minTtlSeconds } : {}),
    ...(config.dns?.maxTtlSeconds ? { maxTtlSeconds: config.dns.maxTtlSeconds } : {}),
  });
  const uris = [...carrierUris(config), ...config.trunks.map((trunk) => trunk.originationUri)];
  const answers = await Promise.all(uris.map((uri) => watchName(peers, uri)));
  answers.forEach((answer, i) => {
    if (answer && !answer.ok)
      log('warn', 'sip peer does not resolve', { uri: uris[i], reason: answer.reason });
  });
  return peers;
}

export interface RunningEngine {
  engine: Engine;
  trunks: TrunkRegistry;
  /** The carrier's and the trunks' peers and whether they answer (with `healthChecks`). */
  health?: PeerHealth;
  stop(): Promise<void>;
}

export async function startEngineRole(options: {
  config: PivotConfig;
  bus: EngineBus;
  store: EventStore;
  log: Logger;
  metrics?: Metrics;
  /** The peers' health as the SIP edge checks it, when the roles run apart (src/cli/peerChecks.ts). */
  peerHealth?: PeerHealth;
}): Promise<RunningEngine> {
  const { config, bus, store, log, metrics } = options;
  const peers = await startPeerLocator(config, log);
  // Over NATS a ping's answer could reach any engine: there the SIP edge pings, and engines follow it.
  let directory: (() => TrunkDirectory) | undefined;
  const checker =
    config.healthChecks && config.bus.kind === 'inprocess'
      ? createHealthChecker({
          targets: () => (directory ? healthTargets(directory()) : []),
          send: (command) => bus.sendCommand(command, undefined),
          intervalMs: config.healthChecks.intervalSeconds * 1000,
          publicHost: config.sip.publicHost,
          log,
        })
      : undefined;
  const health = checker ?? options.peerHealth;
  const trunks = await startTrunkRegistry({ store, config, log, peers, ...(health ? { health } : {}) });
  directory = trunks.current;
  const engine = createEngine({
    store,
    config,
    log,
    peers,
    ...(health ? { health } : {}),
    trunks: trunks.current,
    send: (command, adapterId) => bus.sendCommand(command, adapterId),
  });
  const rearmed = await engine.start();
  await bus.consumeInputs(async (input) => {
    try {
      // Handled first, then observed: `metrics?.observeOutcome(input, await ...)` would skip the handling
      // itself when there are no metrics (optional chaining drops the arguments too).
      if (checker?.owns(input)) return checker.onResponse(input);
      const outcome = await engine.handle(input);
      metrics?.observeOutcome(input, outcome);
    } catch (error) {
      metrics?.observeFailure(error);
      throw error;
    }
  });
  log('info', 'engine consuming inputs', { rearmedTimers: rearmed });
  checker?.start();
  return {
    engine,
    trunks,
    ...(health ? { health } : {}),
    async stop() {
      checker?.stop();
      await engine.stop();
      await trunks.stop();
      peers.stop();
    },
  };
}
