/**
 * A TCP proxy (node:net) between one NATS client and its server, for partition tests. Modes:
 *   pass          bytes flow both ways
 *   delay(ms)     every chunk is forwarded ms later, in order
 *   hold          nothing is forwarded; bytes are kept, in order, and flushed by heal()
 *                 (a partition whose TCP connection survives: the client is silent, not gone)
 *   drop          bytes are thrown away; heal() closes the connections, whose streams are broken
 *   cut           every connection is closed and new ones are refused (the server sees the
 *                 client leave at once)
 * `watch(text)` counts a text in what the server sends to the client from then on.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { getFreePort } from './nats-server.js';

export type ProxyMode = 'pass' | 'hold' | 'drop' | 'cut' | { delayMs: number };

export interface TcpProxy {
  url: string;
  set(mode: ProxyMode): void;
  /** Back to pass: held bytes are flushed in order, dropped connections closed. */
  heal(): void;
  /** Starts counting `text` in what the server sends; the function returns the count so far. */
  watch(text: string): () => number;
  close(): Promise<void>;
}

interface Pipe {
  client: Socket;
  server: Socket;
  held: { to: Socket; chunk: Buffer }[];
}

export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const port = await getFreePort();
  let mode: ProxyMode = 'pass';
  const pipes = new Set<Pipe>();
  const watched: { text: string; tail: string; count: number }[] = [];

  const forward = (pipe: Pipe, to: Socket, chunk: Buffer) => {
    if (to === pipe.client)
      for (const w of watched) {
        const text = w.tail + chunk.toString('latin1');
        w.count += text.split(w.text).length - 1;
        w.tail = text.slice(-(w.text.length - 1));
      }
    if (mode === 'pass') to.write(chunk);
    else if (mode === 'hold') pipe.held.push({ to, chunk });
    else if (typeof mode === 'object') {
      // Chunks queue behind held ones, so order holds when the delay ends.
      pipe.held.push({ to, chunk });
      setTimeout(() => {
        const next = pipe.held.shift();
        if (next) next.to.write(next.chunk);
      }, mode.delayMs);
    }
    // drop and cut: gone
  };
  const end = (pipe: Pipe) => {
    pipe.client.destroy();
    pipe.server.destroy();
    pipes.delete(pipe);
  };

  const server: Server = createServer((client) => {
    if (mode === 'cut') return void client.destroy();
    const upstream = connect(target.port, target.host ?? '127.0.0.1');
    const pipe: Pipe = { client, server: upstream, held: [] };
    pipes.add(pipe);
    client.on('data', (c: Buffer) => forward(pipe, upstream, c));
    upstream.on('data', (c: Buffer) => forward(pipe, client, c));
    for (const s of [client, upstream]) {
      s.on('error', () => end(pipe));
      s.on('close', () => end(pipe));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    url: `nats://127.0.0.1:${port}`,
    set(next) {
      mode = next;
      if (next === 'cut') for (const p of [...pipes]) end(p);
    },
    heal() {
      const was = mode;
      mode = 'pass';
      for (const p of [...pipes]) {
        if (was === 'drop') end(p);
        for (const { to, chunk } of p.held.splice(0)) to.write(chunk);
      }
    },
    watch(text) {
      const w = { text, tail: '', count: 0 };
      watched.push(w);
      return () => w.count;
    },
    async close() {
      for (const p of [...pipes]) end(p);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
