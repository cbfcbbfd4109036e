/**
 * The console's files over HTTP: open (they hold no data), a front page linking to them, strict
 * headers, nothing outside the bundle's folder.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../console/browser.ts';
import { type ApiWorld, apiWorld } from './support.ts';

let w: ApiWorld | undefined;
beforeAll(() => buildConsole());
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const get = (url: string) => w!.app.inject({ method: 'GET', url });

describe('the console over HTTP', () => {
  it('/ links to /console, which serves the bundle without an API key, with strict headers', async () => {
    w = await apiWorld();
    const front = await get('/');
    expect(front.statusCode).toBe(200);
    expect(front.body).toContain('href="/console/"');
    const bare = await get('/console');
    expect(bare.statusCode).toBe(301);
    expect(bare.headers.location).toBe('/console/');
    const page = await get('/console/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('<script type="module" src="app.js"></script>');
    const script = await get('/console/app.js');
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.body.length).toBeGreaterThan(10_000);
    expect((await get('/console/app.css')).headers['content-type']).toMatch(/^text\/css/);
  });

  it('answers 404 for anything else under /console, and /v1 still needs a key', async () => {
    w = await apiWorld();
    for (const url of [
      '/console/nope.js',
      '/console/..%2Fpackage.json',
      '/console/.env',
      '/console/app.exe',
    ]) {
      expect((await get(url)).statusCode, url).toBe(404);
    }
    expect((await get('/console/a/b')).statusCode).toBe(401);
    expect((await get('/v1/Calls')).statusCode).toBe(401);
  });
});
