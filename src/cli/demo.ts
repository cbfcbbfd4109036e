/**
 * `pivot demo`: runs demo/run.ts (SIPp parties placing and transferring calls against the running
 * pivot) through tsx, from the package root, with the config path made absolute.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export function runDemo(configPath: string): void {
  const root = packageRoot();
  const script = join(root, 'demo', 'run.ts');
  if (!existsSync(script)) {
    process.stderr.write('pivot demo: demo/run.ts is not here; the demo runs from a checkout of sip-pivot\n');
    process.exit(1);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', script, resolve(configPath)], {
    cwd: root,
    stdio: 'inherit',
  });
  child.on('exit', (code) => process.exit(code ?? 1));
}
