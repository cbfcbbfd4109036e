/** One runner over several (the SQLite views and PostgreSQL): what the CLI, the API and /healthz see. */
import { timedRebuild } from './progress.ts';
import type { ProjectionRunner } from './runner.ts';

export function combineRunners(runners: ProjectionRunner[]): ProjectionRunner {
  if (runners.length === 1) return runners[0]!;
  const owner = (name: string) => runners.find((r) => r.projections.some((p) => p.name === name));
  return {
    projections: runners.flatMap((r) => r.projections),
    async catchUp() {
      let read = 0;
      for (const runner of runners) read = Math.max(read, await runner.catchUp());
      return read;
    },
    start() {
      for (const runner of runners) runner.start();
    },
    async stop() {
      for (const runner of runners) await runner.stop();
    },
    async rebuild(selected) {
      const names =
        selected && selected.length > 0 ? selected : runners.flatMap((r) => r.projections.map((p) => p.name));
      for (const name of names) if (!owner(name)) throw new Error(`no projection named ${name}`);
      return timedRebuild(names, async () => {
        let events = 0;
        for (const runner of runners) {
          const mine = names.filter((name) => owner(name) === runner);
          if (mine.length > 0) events = Math.max(events, (await runner.rebuild(mine)).events);
        }
        return events;
      });
    },
    async status() {
      return (await Promise.all(runners.map((r) => r.status()))).flat();
    },
    async waitFor(position, timeoutMs) {
      await Promise.all(runners.map((r) => r.waitFor(position, timeoutMs)));
    },
    lastError: () => runners.map((r) => r.lastError()).find((e) => e !== undefined),
    stats() {
      const all = runners.map((r) => r.stats());
      return {
        batches: all.reduce((n, s) => n + s.batches, 0),
        events: all.reduce((n, s) => n + s.events, 0),
        conflicts: all.reduce((n, s) => n + s.conflicts, 0),
        failures: all.reduce((n, s) => n + s.failures, 0),
      };
    },
  };
}
