/**
 * baresip's ctrl_tcp protocol: JSON in netstrings (`<len>:<json>,`) both ways. Commands carry a token
 * their response echoes; events (call established, closed, …) arrive unasked.
 */
import net from 'node:net';

/** A ctrl_tcp event, e.g. `{ type: 'CALL_ESTABLISHED', peeruri: 'sip:…', param: '…' }`. */
export interface BaresipEvent {
  type: string;
  class?: string;
  accountaor?: string;
  direction?: string;
  peeruri?: string;
  id?: string;
  param?: string;
  [key: string]: unknown;
}

export interface BaresipResponse {
  ok: boolean;
  data?: string;
  token?: string;
}

export interface Control {
  events: BaresipEvent[];
  send(command: string, params?: string): Promise<BaresipResponse>;
  waitFor(predicate: (event: BaresipEvent) => boolean, deadlineMs: number): Promise<BaresipEvent>;
  close(): void;
}

/** Connects to ctrl_tcp, retrying while baresip starts (it listens only once its modules are loaded). */
export async function connectControl(port: number, exited: () => boolean): Promise<Control> {
  let socket: net.Socket | undefined;
  for (let attempt = 0; !socket; attempt++) {
    if (exited()) throw new Error('baresip exited');
    if (attempt >= 400) throw new Error('ctrl_tcp never accepted a connection');
    socket = await new Promise<net.Socket | undefined>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (!socket) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return control(socket);
}

function control(socket: net.Socket): Control {
  const events: BaresipEvent[] = [];
  const waiters = new Set<(event: BaresipEvent) => void>();
  const pending = new Map<string, (response: BaresipResponse) => void>();
  let buffer = Buffer.alloc(0);
  let nextToken = 1;
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const colon = buffer.indexOf(':');
      if (colon < 0) return;
      const length = Number(buffer.subarray(0, colon).toString());
      if (buffer.length < colon + 1 + length + 1) return;
      const text = buffer.subarray(colon + 1, colon + 1 + length).toString();
      buffer = buffer.subarray(colon + 1 + length + 1);
      // biome-ignore lint/suspicious/noExplicitAny: ctrl_tcp's JSON is checked field by field.
      const message: any = JSON.parse(text);
      if (message.event) {
        events.push(message as BaresipEvent);
        for (const waiter of [...waiters]) waiter(message as BaresipEvent);
      } else if (message.response) {
        pending.get(String(message.token))?.(message as BaresipResponse);
        pending.delete(String(message.token));
      }
    }
  });
  socket.on('error', () => {});
  return {
    events,
    send(command, params) {
      const token = String(nextToken++);
      const json = JSON.stringify({ command, ...(params === undefined ? {} : { params }), token });
      const length = Buffer.byteLength(json);
      return new Promise((resolve) => {
        pending.set(token, resolve);
        socket.write(`${length}:${json},`);
      });
    },
    waitFor(predicate, deadlineMs) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = (event: BaresipEvent) => {
          if (!predicate(event)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          resolve(event);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error('deadline'));
        }, deadlineMs);
        waiters.add(waiter);
      });
    },
    close() {
      socket.destroy();
    },
  };
}
