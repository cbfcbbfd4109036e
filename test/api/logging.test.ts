/** fastify writes through the process's pino logger: a request that fails inside the server is logged. */
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { type ApiWorld, apiWorld } from './support.ts';

let w: ApiWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

it('a request that fails inside the server is answered 500 and its error logged; requests are not logged one by one', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ messageKey: 'message' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  w = await apiWorld({ logger });
  expect((await w.get('/v1/Calls')).status).toBe(200);
  expect(lines).toEqual([]);
  w.views.close(); // the read models are gone: listing calls fails inside the handler
  const failed = await w.get('/v1/Calls');
  expect(failed).toMatchObject({ status: 500, body: { code: 'internal-error' } });
  expect(lines).toEqual([
    expect.objectContaining({
      level: 50,
      message: 'request failed',
      err: expect.objectContaining({ message: expect.any(String) }),
    }),
  ]);
});
