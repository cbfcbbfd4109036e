/**
 * `pivot keys create|list|revoke`: the HTTP API's keys, straight in the configured store (the API
 * processes follow `$all`, so a change here applies to them without a restart; src/apikeys/registry.ts
 * says how soon). Registered from main.ts with `registerKeyCommands(program)`.
 */
import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { API_KEY_ROLES, type ApiKeyRole, type ApiKeyState } from '../apikeys/events.ts';
import { ApiKeyError, type ApiKeyRegistry, startApiKeyRegistry } from '../apikeys/registry.ts';
import { KEY_SID } from '../apikeys/secret.ts';
import { ConfigError, loadConfig } from '../config/index.ts';
import { openStore } from '../store/open.ts';

const DEFAULT_CONFIG = 'config/pivot.sample.yaml';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function withKeys<T>(configPath: string, work: (keys: ApiKeyRegistry) => Promise<T>): Promise<T> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(configPath);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const store = openStore(config.store);
  try {
    const keys = await startApiKeyRegistry({ store, follow: false });
    try {
      return await work(keys);
    } catch (error) {
      if (error instanceof ApiKeyError) fail(`pivot keys: ${error.message}`);
      throw error;
    }
  } finally {
    await store.close();
  }
}

/** The operating-system user, recorded as who created or revoked a key. */
function operator(): string | undefined {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return undefined;
  }
}

function role(value: string): ApiKeyRole {
  if (!(API_KEY_ROLES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected ${API_KEY_ROLES.join(' or ')}`);
  }
  return value as ApiKeyRole;
}

const view = (k: ApiKeyState) => ({
  sid: k.sid,
  role: k.role,
  name: k.name,
  createdAt: k.createdAt,
  revokedAt: k.revokedAt,
});

export function registerKeyCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description('HTTP API keys: HTTP Basic with the key sid as user and its secret as password');

  keys
    .command('create')
    .description('create a key and print its sid and secret (the secret is shown only this once)')
    .requiredOption('--role <role>', 'admin (everything) or read (GET only)', role)
    .option('--name <name>', 'what the key is for')
    .option('-c, --config <file>', 'configuration file naming the store', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .action(async (options: { role: ApiKeyRole; name?: string; config: string; json?: boolean }) => {
      const by = operator();
      const { key, secret } = await withKeys(options.config, (registry) =>
        registry.create({
          role: options.role,
          ...(options.name ? { name: options.name } : {}),
          ...(by ? { by } : {}),
        }),
      );
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ ...view(key), secret }, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `sid     ${key.sid}\nsecret  ${secret}\nrole    ${key.role}\n` +
          'The secret is not stored and cannot be shown again. Use it as:\n' +
          `  curl -u ${key.sid}:${secret} http://HOST:PORT/v1/Trunks\n`,
      );
    });

  keys
    .command('list')
    .description('every key: sid, role, name, when created and revoked (never a secret)')
    .option('-c, --config <file>', 'configuration file naming the store', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .action(async (options: { config: string; json?: boolean }) => {
      const list = await withKeys(options.config, async (registry) => registry.list());
      if (options.json) {
        process.stdout.write(`${JSON.stringify(list.map(view), null, 2)}\n`);
        return;
      }
      if (list.length === 0) {
        process.stdout.write('no API keys\n');
        return;
      }
      for (const k of list) {
        process.stdout.write(
          `${k.sid}  ${k.role.padEnd(5)}  created ${k.createdAt}  ${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}${k.name ? `  ${k.name}` : ''}\n`,
        );
      }
    });

  keys
    .command('revoke')
    .description('revoke a key: the API refuses it once it has read the revocation from the store')
    .argument('<sid>', 'the key sid, SK…')
    .option('-c, --config <file>', 'configuration file naming the store', DEFAULT_CONFIG)
    .action(async (sid: string, options: { config: string }) => {
      if (!KEY_SID.test(sid)) fail(`pivot keys revoke: ${sid} is not a key sid (SK + 32 hex digits)`);
      const by = operator();
      const key = await withKeys(options.config, (registry) => registry.revoke(sid, by ? { by } : {}));
      process.stdout.write(`revoked ${key.sid} at ${key.revokedAt}\n`);
    });
}
