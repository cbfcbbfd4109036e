/** Raw TCP peers for the adapter tests: a connecting client (a PBX behind NAT) and a listening UAS. */
import net from 'node:net';

export interface TcpPeer {
  socket: net.Socket;
  send(text: string | Buffer): void;
  /** The next whole SIP message received, framed by Content-Length (queued if it already arrived). */
  next(): Promise<string>;
  /** Every byte received so far, as text (pongs included). */
  received(): string;
  /** Resolves once the bytes received so far satisfy the predicate. */
  until(predicate: (received: string) => boolean): Promise<void>;
  closed: Promise<void>;
  isClosed(): boolean;
}

export function wrapSocket(socket: net.Socket): TcpPeer {
  let all = '';
  let pending = '';
  let closed = false;
  const messages: string[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  socket.on('data', (chunk: Buffer) => {
    all += chunk.toString('utf8');
    pending += chunk.toString('utf8');
    for (;;) {
      pending = pending.replace(/^(\r\n)+/, '');
      const end = pending.indexOf('\r\n\r\n');
      if (end === -1) break;
      const length = Number(
        /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(pending.slice(0, end))?.[1] ?? 0,
      );
      if (pending.length < end + 4 + length) break;
      messages.push(pending.slice(0, end + 4 + length));
      pending = pending.slice(end + 4 + length);
    }
    wake();
  });
  socket.on('error', () => {});
  const closedPromise = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true;
      resolve();
      wake();
    }),
  );
  const waitUntil = <T>(check: () => T | undefined): Promise<T> =>
    new Promise((resolve) => {
      const attempt = () => {
        const value = check();
        if (value === undefined) return;
        waiters.delete(attempt);
        resolve(value);
      };
      waiters.add(attempt);
      attempt();
    });
  return {
    socket,
    send: (text) => socket.write(text),
    next: () => waitUntil(() => messages.shift()),
    received: () => all,
    until: (predicate) => waitUntil(() => (predicate(all) ? true : undefined)).then(() => {}),
    closed: closedPromise,
    isClosed: () => closed,
  };
}

export function tcpConnect(port: number, localAddress = '127.0.0.1'): Promise<TcpPeer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(wrapSocket(socket));
    });
  });
}

export interface TcpListener {
  port: number;
  /** The next connection accepted (queued if it already came). */
  accepted(): Promise<TcpPeer>;
  /** How many connections were accepted so far. */
  count(): number;
  close(): Promise<void>;
}

export async function tcpListen(host = '127.0.0.1'): Promise<TcpListener> {
  const queue: TcpPeer[] = [];
  const sockets: net.Socket[] = [];
  const waiting: Array<(peer: TcpPeer) => void> = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    const peer = wrapSocket(socket);
    const waiter = waiting.shift();
    if (waiter) waiter(peer);
    else queue.push(peer);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    accepted: () => {
      const queued = queue.shift();
      return queued ? Promise.resolve(queued) : new Promise((resolve) => waiting.push(resolve));
    },
    count: () => sockets.length,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
