/**
 * Loads the projections named in the config (`projections.modules`, see docs/projections.md). A module's
 * default export is a projection definition (projections/api.ts), or a function of the module's
 * `options` returning one. TypeScript modules load through tsx when Node cannot import them itself,
 * so they work from the compiled `dist/` as well as from the sources.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProjectionModule } from '../src/config/schema.ts';
import {
  compileProjection,
  isPostgresDefinition,
  type PostgresProjectionDefinition,
  type Projection,
  problemsOf,
} from './api.ts';

export class ProjectionLoadError extends Error {}

async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !/\.m?ts$/.test(path)) throw error;
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
}

function isWrapped(value: unknown): value is { default: unknown } {
  return typeof value === 'object' && value !== null && 'default' in value && !('name' in value);
}

export interface LoadedModules {
  /** Projections on the SQLite views database, compiled for runner.ts. */
  sqlite: Projection[];
  /** Projections on PostgreSQL (`database: 'postgres'`), for postgres.ts. */
  postgres: PostgresProjectionDefinition[];
}

/**
 * Imports, checks and compiles each module's projection. Throws a ProjectionLoadError naming the
 * module and the field when one cannot run (so `pivot serve` refuses to start instead of skipping it).
 */
export async function loadProjectionModuleSet(
  modules: readonly ProjectionModule[] | undefined,
  options: { cwd?: string; knownTypes?: ReadonlySet<string> } = {},
): Promise<LoadedModules> {
  const loaded: LoadedModules = { sqlite: [], postgres: [] };
  for (const [index, entry] of (modules ?? []).entries()) {
    const where = `projections.modules[${index}] (${entry.module})`;
    const path = isAbsolute(entry.module)
      ? entry.module
      : resolve(options.cwd ?? process.cwd(), entry.module);
    let exported: Record<string, unknown>;
    try {
      exported = await importModule(path);
    } catch (error) {
      throw new ProjectionLoadError(`${where}: cannot load: ${(error as Error).message}`);
    }
    let definition = exported.default ?? exported.projection;
    // A module outside an ESM package is loaded as CommonJS, its exports wrapped in one more default.
    if (isWrapped(definition)) definition = definition.default;
    if (typeof definition === 'function') definition = await definition(entry.options ?? {});
    const problems = problemsOf(definition, options.knownTypes);
    if (problems.length > 0) {
      throw new ProjectionLoadError(`${where}: ${problems.join('; ')}`);
    }
    if (isPostgresDefinition(definition)) loaded.postgres.push(definition);
    else loaded.sqlite.push(compileProjection(definition as Parameters<typeof compileProjection>[0]));
  }
  return loaded;
}

/** The SQLite projections of the modules; refuses PostgreSQL ones (use loadProjectionModuleSet). */
export async function loadProjectionModules(
  modules: readonly ProjectionModule[] | undefined,
  options: { cwd?: string; knownTypes?: ReadonlySet<string> } = {},
): Promise<Projection[]> {
  const { sqlite, postgres } = await loadProjectionModuleSet(modules, options);
  if (postgres.length > 0) {
    throw new ProjectionLoadError(`${postgres.map((p) => p.name).join(', ')}: a PostgreSQL projection here`);
  }
  return sqlite;
}
