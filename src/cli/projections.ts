/**
 * `pivot projections status|rebuild [name]` and `pivot api`: the read side from the command line.
 * Registered from main.ts with `registerProjectionCommands(program)`.
 */
import type { Command } from 'commander';
import {
  createReadSideRunners,
  openViews,
  ProjectionLoadError,
  type ProjectionRunner,
} from '../../projections/index.ts';
import { createMetrics, instrumentStore } from '../api/metrics.ts';
import { registerPeerMetrics } from '../api/peerMetrics.ts';
import { startReadSide } from '../api/start.ts';
import { ConfigError, loadConfig, type PivotConfig } from '../config/index.ts';
import { viewsPathOf } from '../config/schema.ts';
import { consoleLogger } from '../log.ts';
import { openStore } from '../store/open.ts';
import { followPeerHealthOverNats } from './peerChecks.ts';

const DEFAULT_CONFIG = 'config/pivot.sample.yaml';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function configAt(path: string): PivotConfig {
  try {
    return loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

/** Runs `work` with the store and a runner over the views database(s), closing them afterwards. */
async function withRunner<T>(
  configPath: string,
  work: (runner: ProjectionRunner, views: string) => Promise<T>,
  batchSize = 5000,
): Promise<T> {
  const config = configAt(configPath);
  const store = openStore(config.store);
  const views = viewsPathOf(config);
  const db = openViews(views);
  try {
    // Offline work: bigger transactions than the live runner's, nobody waits on the event loop.
    const runners = await createReadSideRunners(config, store, db, { batchSize }).catch((error: unknown) => {
      if (error instanceof ProjectionLoadError) fail(`config: ${error.message}`);
      throw error;
    });
    try {
      return await work(runners.all, views);
    } finally {
      await runners.close();
    }
  } finally {
    db.close();
    await store.close();
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function registerProjectionCommands(program: Command): void {
  const projections = program
    .command('projections')
    .description('read models: call log, transfers, billing, audit');

  projections
    .command('status')
    .description("each projection's position in $all and how far it lags")
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .action(async (options: { config: string; json?: boolean }) => {
      await withRunner(options.config, async (runner, views) => {
        const statuses = await runner.status();
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ views, projections: statuses }, null, 2)}\n`);
          return;
        }
        process.stdout.write(`views: ${views}\n`);
        process.stdout.write(
          `${table(
            ['projection', 'version', 'position', 'lag (events)', 'lag (s)', 'updated'],
            statuses.map((s) => [
              s.name,
              String(s.version),
              String(s.position),
              String(s.lag),
              s.lagSeconds.toFixed(1),
              s.updatedAt ?? '-',
            ]),
          )}\n`,
        );
      });
    });

  projections
    .command('rebuild')
    .description('empty a projection (all when none is named) and fold every event again from position 0')
    .argument('[name]', 'callLog | transfers | billing | audit | a projection loaded from a module')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .option('--batch-size <events>', 'events folded per transaction (default 5000)', (v) => {
      const size = Number(v);
      if (!Number.isInteger(size) || size < 1)
        fail('pivot projections rebuild: --batch-size expects a positive integer');
      return size;
    })
    .action(
      async (name: string | undefined, options: { config: string; json?: boolean; batchSize?: number }) => {
        await withRunner(
          options.config,
          async (runner) => {
            const known = runner.projections.map((p) => p.name);
            if (name && !known.includes(name))
              fail(`pivot projections rebuild: no projection ${name} (${known.join(', ')})`);
            const result = await runner.rebuild(name ? [name] : undefined);
            if (options.json) {
              process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
              return;
            }
            process.stdout.write(
              `rebuilt ${result.projections.join(', ')}: ${result.events} events in ${result.seconds.toFixed(2)} s ` +
                `(${Math.round(result.eventsPerSecond)} events/s)\n`,
            );
          },
          options.batchSize,
        );
      },
    );

  program
    .command('api')
    .description('run the HTTP API with the projections and the trunk registry over the configured store')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--host <host>', 'listen address (default: http.host)')
    .option('--port <port>', 'listen port (default: http.port)', (v) => {
      const port = Number(v);
      if (!Number.isInteger(port) || port < 0 || port > 65535) fail('pivot api: --port expects 0-65535');
      return port;
    })
    .action(async (options: { config: string; host?: string; port?: number }) => {
      const config = configAt(options.config);
      const log = consoleLogger();
      const metrics = createMetrics({ processMetrics: true });
      const store = instrumentStore(openStore(config.store), metrics);
      const peers = await followPeerHealthOverNats(config, log);
      if (peers) registerPeerMetrics(metrics.registry, peers.health);
      const running = await startReadSide({
        config,
        store,
        log,
        metrics,
        publishEvents: true,
        ...(peers ? { peerHealth: peers.health } : {}),
        ...(options.host !== undefined ? { host: options.host } : {}),
        ...(options.port !== undefined ? { port: options.port } : {}),
      });
      process.stdout.write(`${running.api.url}\n`);
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        void running
          .stop()
          .then(() => peers?.close())
          .then(() => store.close())
          .then(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
