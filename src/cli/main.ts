/** The `pivot` command line. */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config/index.ts';
import { checkAll, findSessionStream, formatSteps, replayEvents } from '../engine/replay.ts';
import { consoleLogger } from '../log.ts';
import { openStore } from '../store/open.ts';
import { startTrunkRegistry } from '../trunks/registry.ts';
import { runDemo } from './demo.ts';
import { registerKeyCommands } from './keys.ts';
import { followPeerHealthOnBus, startEdgeHealthChecks } from './peerChecks.ts';
import { registerProjectionCommands } from './projections.ts';
import { openBus, startEngineRole, startSipRole } from './roles.ts';
import { startPivot } from './serve.ts';

const DEFAULT_CONFIG = 'config/pivot.sample.yaml';

function wholeNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return parsed;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function config(path: string) {
  try {
    return loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

/** The configuration of a role that sends SIP (host names are located by the engine, src/dns/). */
async function sipConfig(path: string) {
  return config(path);
}

const program = new Command('pivot').description('sip-pivot: an event-sourced SIP call-transfer engine');

/** Stops a running role on Ctrl-C or SIGTERM, once, then exits. */
function stopOnSignal(running: { stop(): Promise<void> }): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void running.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

program
  .command('serve')
  .description('run every role in one process: SIP adapter, engine, projections and HTTP API')
  .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
  .action(async (options: { config: string }) => {
    stopOnSignal(await startPivot(await sipConfig(options.config), consoleLogger()));
  });

program
  .command('sip')
  .description('run the SIP adapter alone, talking to the engines over the configured bus (NATS)')
  .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
  .action(async (options: { config: string }) => {
    const settings = await sipConfig(options.config);
    if (settings.bus.kind !== 'nats') fail('pivot sip: bus.kind must be nats to run the SIP adapter apart');
    const log = consoleLogger();
    const bus = await openBus(settings.bus, log);
    // The trunks as stored (and as the API changes them), so the edge knows which sources are peers. A
    // file store belongs to the engine's host: apart from it, the adapter knows the config's trunks.
    const shared = settings.store.kind === 'postgres' || settings.store.kind === 'eventstoredb';
    const store = shared ? openStore(settings.store) : undefined;
    const trunks = store ? await startTrunkRegistry({ store, config: settings, log }) : undefined;
    const { healthChecks } = settings;
    const checks =
      healthChecks && bus.peerStates
        ? await startEdgeHealthChecks({
            config: { ...settings, healthChecks },
            bus: await bus.peerStates(),
            log,
            ...(trunks ? { trunks: trunks.current } : {}),
          })
        : undefined;
    const sip = await startSipRole({
      config: settings,
      bus: bus.adapter,
      log,
      ...(trunks ? { trunks: trunks.current } : {}),
      ...(checks ? { pings: checks.pings } : {}),
    });
    checks?.start(sip);
    log('info', 'sip adapter serving', { sip: `${sip.sip.host}:${sip.sip.port}`, adapterId: sip.adapterId });
    stopOnSignal({
      stop: async () => {
        await checks?.stop();
        await sip.stop();
        await bus.close();
        await trunks?.stop();
        await store?.close();
      },
    });
  });

program
  .command('engine')
  .description('run an engine: consume inputs from the bus (NATS), decide, store, send commands')
  .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
  .action(async (options: { config: string }) => {
    const settings = await sipConfig(options.config);
    if (settings.bus.kind !== 'nats') fail('pivot engine: bus.kind must be nats to run an engine apart');
    const log = consoleLogger();
    const store = openStore(settings.store, { serving: true });
    const bus = await openBus(settings.bus, log);
    const peers = await followPeerHealthOnBus(settings, bus, log);
    const engine = await startEngineRole({
      config: settings,
      bus: bus.engine,
      store,
      log,
      ...(peers ? { peerHealth: peers.health } : {}),
    });
    stopOnSignal({
      stop: () =>
        engine
          .stop()
          .then(() => peers?.close())
          .then(() => bus.close())
          .then(() => store.close()),
    });
  });

program
  .command('replay')
  .description('replay a call step by step through the machines')
  .argument('[callSid]', 'the call to replay (a child call replays its whole session)')
  .option('-c, --config <file>', 'configuration file naming the store', DEFAULT_CONFIG)
  .option('--json', 'print the steps as JSON')
  .option('--until <revision>', 'stop after this revision', wholeNumber)
  .option('--check', 'replay every stored call and list those whose recorded states differ')
  .action(
    async (
      callSid: string | undefined,
      options: { config: string; json?: boolean; until?: number; check?: boolean },
    ) => {
      const store = openStore(config(options.config).store);
      try {
        if (options.check) {
          const result = await checkAll(store);
          if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          else {
            process.stdout.write(
              `${result.sessions} sessions, ${result.events} events, ${result.mismatches.length} mismatches\n`,
            );
            for (const m of result.mismatches) {
              process.stdout.write(
                `${m.stream} #${m.revision} ${m.type}: recorded ${JSON.stringify(m.recorded)}, replayed ${JSON.stringify(m.replayed)}\n`,
              );
            }
          }
          process.exitCode = result.mismatches.length > 0 ? 1 : 0;
          return;
        }
        if (!callSid) fail('pivot replay: give a CallSid, or --check');
        const stream = await findSessionStream(store, callSid);
        if (!stream) fail(`pivot replay: no call ${callSid} in the store`);
        const steps = replayEvents(
          stream.slice('call-'.length),
          await store.readStream(stream),
          options.until,
        );
        process.stdout.write(
          options.json ? `${JSON.stringify(steps, null, 2)}\n` : `${formatSteps(steps)}\n`,
        );
      } finally {
        await store.close();
      }
    },
  );

program
  .command('demo')
  .description(
    'against the running pivot: SIPp plays a PBX, a carrier and targets; three calls are transferred (answered, busy, refused by policy); prints console links and a replay',
  )
  .option('-c, --config <file>', 'configuration file of the running pivot', DEFAULT_CONFIG)
  .action((options: { config: string }) => runDemo(options.config));

registerProjectionCommands(program);
registerKeyCommands(program);

await program.parseAsync(process.argv);
