/**
 * /v1/Events: the paged feed by global position, the server-sent-events stream that resumes from
 * Last-Event-ID, and the event catalogue.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_SCHEMA } from '../../src/events/schema.ts';
import { keyFrom } from '../helpers/apiKeys.ts';
import { UK_NUMBER, US_NUMBER } from '../projections/drive.ts';
import { type ApiWorld, apiWorld } from './support.ts';

let w: ApiWorld;
afterEach(async () => {
  await w?.close();
});

async function transferredCall() {
  const call = await w.driver.terminating({ to: US_NUMBER });
  w.driver.advance(5);
  await call.answer();
  w.driver.advance(20);
  const transfer = await call.refer(`<tel:${UK_NUMBER}>`, '<sip:agent@127.0.0.1>');
  await transfer.complete(3);
  await call.hangup('customer');
  return call;
}

describe('API: /v1/Events', () => {
  it('pages through $all by position, filtered by type, to the head', async () => {
    w = await apiWorld();
    await transferredCall();
    await transferredCall();
    const all = (await w.store.readAll({})).filter((e) => e.streamName.startsWith('call-'));
    const wanted = ['ReferReceived', 'TransferCompleted', 'CallEnded'];
    const expected = all.filter((e) => wanted.includes(e.type));

    const seen: { Position: number; Type: string; Stream: string; Version: number }[] = [];
    let url: string | null = `/v1/Events?Types=${wanted.join(',')}&PageSize=2`;
    let pages = 0;
    while (url) {
      const page = await w.get(url);
      expect(page.status).toBe(200);
      expect(page.body.Events.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.Events);
      url = page.body.NextPageUri;
      pages++;
    }
    expect(seen.map((e) => [e.Position, e.Type, e.Stream])).toEqual(
      expected.map((e) => [e.position, e.type, e.streamName]),
    );
    expect(pages).toBeGreaterThanOrEqual(expected.length / 2);
    expect(seen.every((e) => e.Version === 1)).toBe(true);

    // After a position: exactly the events past it.
    const middle = expected[2]!.position;
    const rest = await w.get(`/v1/Events?After=${middle}&PageSize=1000`);
    expect(rest.body.Events.map((e: { Position: number }) => e.Position)).toEqual(
      all.filter((e) => e.position > middle).map((e) => e.position),
    );
    expect(rest.body).toMatchObject({ After: middle, Head: all.at(-1)!.position, NextPageUri: null });
  });

  it('answers bad input with a 400 naming the field, and needs a key', async () => {
    w = await apiWorld();
    expect((await w.get('/v1/Events?Types=CallRecieved')).body).toMatchObject({ field: 'Types' });
    expect((await w.get('/v1/Events?After=-1')).status).toBe(400);
    expect((await w.get('/v1/Events?After=x')).body).toMatchObject({ field: 'After' });
    expect((await w.get('/v1/Events?Typo=1')).body).toMatchObject({ field: 'Typo' });
    const anonymous = await w.app.inject({ method: 'GET', url: '/v1/Events' });
    expect(anonymous.statusCode).toBe(401);
    const reader = await keyFrom(w.apiKeys, 'read');
    const read = await w.app.inject({
      method: 'GET',
      url: '/v1/Events/Schema',
      headers: { authorization: reader.authorization },
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(EVENT_SCHEMA);
  });
});

/** A server-sent-events reader: collects events as they arrive; `until` waits for a condition. */
function sse(url: string, headers: Record<string, string>) {
  const events: { id: number; event: string; data: { Position: number; Type: string } }[] = [];
  const waiters: (() => void)[] = [];
  let response: IncomingMessage | undefined;
  const request = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } });
  const opened = new Promise<IncomingMessage>((resolve, reject) => {
    request.on('response', (res) => {
      response = res;
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((line) => !line.startsWith(':'))
              .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
          );
          if (fields.data)
            events.push({
              id: Number(fields.id),
              event: String(fields.event),
              data: JSON.parse(fields.data),
            });
          end = buffer.indexOf('\n\n');
        }
        for (const wake of waiters.splice(0)) wake();
      });
      resolve(res);
    });
    request.on('error', reject);
  });
  request.end();
  return {
    events,
    opened,
    async until(condition: () => boolean) {
      while (!condition()) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    close() {
      response?.destroy();
      request.destroy();
    },
  };
}

describe('API: /v1/Events/Stream (server-sent events)', () => {
  it('catches up, follows live, and resumes after Last-Event-ID without gaps or repeats', async () => {
    w = await apiWorld();
    await transferredCall();
    const address = await w.app.listen({ host: '127.0.0.1', port: 0 });
    const stored = async () =>
      (await w.store.readAll({})).filter((e) => e.streamName.startsWith('call-')).map((e) => e.position);

    const first = sse(
      `${address}/v1/Events/Stream?Types=CallReceived,CallEnded,TransferCompleted`,
      w.headers,
    );
    const res = await first.opened;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const types = ['CallReceived', 'CallEnded', 'TransferCompleted'];
    const catchUp = (await w.store.readAll({})).filter((e) => types.includes(e.type));
    await first.until(() => first.events.length === catchUp.length);
    expect(first.events.map((e) => [e.id, e.event])).toEqual(catchUp.map((e) => [e.position, e.type]));
    expect(first.events.every((e) => e.id === e.data.Position)).toBe(true);

    // Live: a new call appears on the open stream.
    const live = await w.driver.terminating({ to: US_NUMBER });
    await first.until(() =>
      first.events.some((e) => e.event === 'CallReceived' && e.id > first.events[0]!.id),
    );
    first.close();

    // The client missed what follows; it comes back with the last id it saw.
    const lastSeen = first.events.at(-1)!.id;
    await live.reject(486, 'Busy Here');
    const all = await stored();
    const resumed = sse(`${address}/v1/Events/Stream`, { ...w.headers, 'last-event-id': String(lastSeen) });
    await resumed.until(() => resumed.events.length > 0 && resumed.events.at(-1)!.id === all.at(-1));
    expect(resumed.events.map((e) => e.id)).toEqual(all.filter((p) => p > lastSeen));
    resumed.close();

    const bad = await w.app.inject({
      method: 'GET',
      url: '/v1/Events/Stream',
      headers: { ...w.headers, 'last-event-id': 'yesterday' },
    });
    expect(bad.json()).toMatchObject({ field: 'Last-Event-ID' });

    // Closing the API ends open streams instead of waiting for their clients.
    const open = sse(`${address}/v1/Events/Stream`, w.headers);
    const response = await open.opened;
    const ended = new Promise<void>((resolve) => response.on('close', resolve));
    await w.app.close();
    await ended;
  });
});
