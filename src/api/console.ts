/**
 * Serves the web console (built into dist/console by `npm run build`, from console/) under /console,
 * and a front page at / that links to it. The files are open (they hold no data); the console itself
 * reads the API with the user's key like any other client. Strict headers keep the page from being
 * framed or loading anything from elsewhere.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const SECURITY_HEADERS = {
  // Inline style attributes position the ladder's arrows; scripts and everything else only from here.
  'content-security-policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** The package root: the first folder upwards with a package.json (the sources and dist/ both sit under it). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

export function consoleDirectory(): string {
  return join(packageRoot(), 'dist', 'console');
}

const FRONT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>sip-pivot</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>sip-pivot</h1>
<p>An event-sourced SIP call-transfer engine.</p>
<ul>
<li><a href="/console/">Console</a>: calls, transfers, trunks, billing and audit</li>
<li><a href="/openapi.json">HTTP API</a> (OpenAPI 3.1)</li>
<li><a href="/healthz">Health</a></li>
</ul>
</body></html>
`;

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sip-pivot console</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem auto; max-width: 40rem">
<h1>The console is not built</h1><p>Run <code>npm run build</code> and reload this page.</p></body></html>
`;

async function sendFile(reply: FastifyReply, directory: string, name: string) {
  const extension = name.slice(name.lastIndexOf('.'));
  const type = TYPES[extension];
  if (!type) return reply.status(404).type('text/plain').send('not found');
  let body: Buffer;
  try {
    body = await readFile(join(directory, name));
  } catch {
    if (name === 'index.html')
      return reply.status(503).type(TYPES['.html']!).headers(SECURITY_HEADERS).send(NOT_BUILT);
    return reply.status(404).type('text/plain').send('not found');
  }
  // Not content-hashed, so always revalidated: a rebuilt console shows on the next load.
  return reply
    .type(type)
    .headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' })
    .send(body);
}

export function registerConsole(app: FastifyInstance, directory = consoleDirectory()): void {
  const open = { config: { access: 'open' as const } };
  app.get('/', open, async (_request, reply) =>
    reply.type(TYPES['.html']!).headers(SECURITY_HEADERS).send(FRONT_PAGE),
  );
  app.get('/console', open, async (_request, reply) => reply.redirect('/console/', 301));
  app.get('/console/', open, async (_request, reply) => sendFile(reply, directory, 'index.html'));
  app.get('/console/:file', open, async (request, reply) => {
    const { file } = request.params as { file: string };
    // One flat folder of known kinds: no path can leave it.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file))
      return reply.status(404).type('text/plain').send('not found');
    return sendFile(reply, directory, file);
  });
}
