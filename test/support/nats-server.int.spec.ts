import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNatsCluster, startNatsServer, type NatsServerHandle } from './nats-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function withConnection<T>(url: string, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url, reconnect: false });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

async function retry<T>(fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
  });
}

describe('startNatsServer', () => {
  let srv: NatsServerHandle;

  it('starts a JetStream server on a fresh loopback port and store dir', async () => {
    srv = await startNatsServer();
    cleanups.push(() => srv.stop());
    expect(srv.url).toBe(`nats://127.0.0.1:${srv.port}`);
    expect(srv.port).not.toBe(4222);
    expect(srv.storeDir).toMatch(/skein-nats-/);
    expect(existsSync(srv.storeDir)).toBe(true);

    await withConnection(srv.url, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'HELPER', subjects: ['helper.>'] });
      const ack = await jetstream(nc).publish('helper.a', 'hello');
      expect(ack.stream).toBe('HELPER');
      expect(ack.seq).toBe(1);
    });
  });

  it('kill() then restart() keeps stream data on the same port and store', async () => {
    const { port, storeDir, url } = srv;
    await srv.kill();
    expect(await tcpAccepts(port)).toBe(false);

    await srv.restart();
    expect(srv.port).toBe(port);
    expect(srv.storeDir).toBe(storeDir);
    expect(srv.url).toBe(url);

    await withConnection(srv.url, async (nc) => {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info('HELPER');
      expect(info.state.messages).toBe(1);
      const msg = await jsm.streams.getMessage('HELPER', { seq: 1 });
      expect(msg?.string()).toBe('hello');
      const ack = await jetstream(nc).publish('helper.b', 'again');
      expect(ack.seq).toBe(2);
    });
  });

  it('kill(SIGTERM) resolves once the process has exited', async () => {
    await srv.kill('SIGTERM');
    expect(await tcpAccepts(srv.port)).toBe(false);
    await srv.kill(); // no-op when not running
    await srv.restart();
    expect(await tcpAccepts(srv.port)).toBe(true);
  });

  it('stop() kills the server, removes the store dir and is idempotent', async () => {
    await srv.stop();
    expect(existsSync(srv.storeDir)).toBe(false);
    expect(await tcpAccepts(srv.port)).toBe(false);
    await srv.stop();
    await expect(srv.restart()).rejects.toThrow(/after stop/);
  });

  it('honours maxPayload and extra args', async () => {
    const big = await startNatsServer({
      maxPayload: 4 * 1024 * 1024,
      args: ['--server_name', 'big'],
    });
    cleanups.push(() => big.stop());
    await withConnection(big.url, async (nc) => {
      expect(nc.info?.max_payload).toBe(4 * 1024 * 1024);
      expect(nc.info?.server_name).toBe('big');
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'BIG', subjects: ['big'] });
      const ack = await jetstream(nc).publish('big', new Uint8Array(3 * 1024 * 1024));
      expect(ack.seq).toBe(1);
    });
    await big.stop();
  });

  it('runs independent servers side by side', async () => {
    const [a, b] = await Promise.all([startNatsServer(), startNatsServer()]);
    cleanups.push(
      () => a.stop(),
      () => b.stop(),
    );
    expect(a.port).not.toBe(b.port);
    expect(a.storeDir).not.toBe(b.storeDir);
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('startNatsCluster', () => {
  it('starts a 3-node JetStream cluster that accepts an R3 stream', async () => {
    const cluster = await startNatsCluster(3);
    cleanups.push(() => cluster.stop());
    expect(cluster.urls).toHaveLength(3);
    expect(new Set(cluster.servers.map((s) => s.port)).size).toBe(3);

    await withConnection(cluster.urls[0], async (nc) => {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
      expect(info.config.num_replicas).toBe(3);
      const ack = await jetstream(nc).publish('r3.x', 'replicated');
      expect(ack.seq).toBe(1);
    });
    // every node sees the stream with all three replicas
    for (const url of cluster.urls) {
      await withConnection(url, async (nc) => {
        const jsm = await jetstreamManager(nc);
        const info = await jsm.streams.info('R3');
        expect(info.state.messages).toBe(1);
        expect(1 + (info.cluster?.replicas?.length ?? 0)).toBe(3);
      });
    }

    // losing one node keeps the R3 stream writable; the node rejoins on restart
    const [n1, n2, n3] = cluster.servers;
    await n3.kill();
    await withConnection(n1.url, async (nc) => {
      // If n3 led the stream, publishes get "no responders" until a new leader is elected.
      const ack = await retry(() => jetstream(nc).publish('r3.y', 'quorum', { msgID: 'y' }));
      expect(ack.seq).toBe(2);
    });
    await n3.restart();
    expect(n3.url).toBe(cluster.urls[2]);
    await withConnection(n2.url, async (nc) => {
      const info = await (await jetstreamManager(nc)).streams.info('R3');
      expect(info.state.messages).toBe(2);
    });

    await cluster.stop();
    for (const s of cluster.servers) expect(existsSync(s.storeDir)).toBe(false);
    await cluster.stop();
  });
});
