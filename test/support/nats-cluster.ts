/** A cluster of test NATS servers on loopback, for the replicated (R3) paths. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  dockerAvailable,
  findNatsServerBinary,
  getFreePort,
  installExitHook,
  makeNativeHandle,
  missingServerError,
  NativeServer,
  trackTempDir,
  waitJetStreamReady,
  type NatsClusterHandle,
} from './nats-process.js';

const CLUSTER_READY_TIMEOUT_MS = 30_000;

/**
 * Start `n` nats-server processes on loopback, clustered (`--cluster_name skein-test`, full
 * mesh `--routes`) with JetStream, and wait until every node answers JetStream account info
 * and an R<n> stream can be placed (every peer has joined the meta group). Each server handle supports kill()/restart() for failover tests.
 */
export async function startNatsCluster(n = 3): Promise<NatsClusterHandle> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`startNatsCluster: n must be >= 1, got ${n}`);
  const bin = findNatsServerBinary();
  if (!bin) {
    throw new Error(
      dockerAvailable()
        ? 'startNatsCluster needs a local nats-server binary (the Docker fallback supports single servers only). Install nats-server (`apt-get install nats-server`).'
        : missingServerError().message,
    );
  }
  // Free-port probes race with other workers; retry the whole cluster on EADDRINUSE.
  for (let attempt = 0; ; attempt++) {
    try {
      return await startClusterOnce(bin, n);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (attempt >= 3 || !/address already in use/i.test(msg)) throw err;
    }
  }
}

async function startClusterOnce(bin: string, n: number): Promise<NatsClusterHandle> {
  installExitHook();
  const suffix = Math.random().toString(36).slice(2, 8);
  const nodes: {
    port: number;
    clusterPort: number;
    monitorPort: number;
    storeDir: string;
    name: string;
  }[] = [];
  const used = new Set<number>();
  const freshPort = async () => {
    for (;;) {
      const p = await getFreePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };
  for (let i = 0; i < n; i++) {
    const storeDir = await mkdtemp(join(tmpdir(), 'skein-nats-'));
    trackTempDir(storeDir);
    nodes.push({
      port: await freshPort(),
      clusterPort: await freshPort(),
      monitorPort: await freshPort(),
      storeDir,
      name: `skein-${suffix}-n${i + 1}`,
    });
  }

  const servers: NativeServer[] = nodes.map((node) => {
    const routes = nodes
      .filter((other) => other !== node)
      .map((other) => `nats://127.0.0.1:${other.clusterPort}`)
      .join(',');
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(node.port),
      '-m',
      String(node.monitorPort),
      '-n',
      node.name,
      '-js',
      '-sd',
      node.storeDir,
      '--cluster_name',
      'skein-test',
      '--cluster',
      `nats://127.0.0.1:${node.clusterPort}`,
      ...(routes ? ['--routes', routes] : []),
    ];
    return new NativeServer({
      bin,
      port: node.port,
      storeDir: node.storeDir,
      args,
      tag: node.name,
    });
  });
  const handles = servers.map((server, i) =>
    makeNativeHandle(server, nodes[i].port, nodes[i].storeDir, CLUSTER_READY_TIMEOUT_MS),
  );
  let stopPromise: Promise<void> | undefined;
  const cluster: NatsClusterHandle = {
    urls: handles.map((h) => h.url),
    servers: handles,
    monitorUrls: nodes.map((node) => `http://127.0.0.1:${node.monitorPort}`),
    stop() {
      stopPromise ??= Promise.all(handles.map((h) => h.stop())).then(() => undefined);
      return stopPromise;
    },
  };

  try {
    const deadline = Date.now() + CLUSTER_READY_TIMEOUT_MS;
    await Promise.all(servers.map((s) => s.spawn(CLUSTER_READY_TIMEOUT_MS)));
    await Promise.all(
      handles.map((h, i) =>
        waitJetStreamReady(
          h.url,
          deadline,
          () =>
            servers.map((s) => `=== ${nodes[servers.indexOf(s)].name}\n${s.log.text()}`).join('\n'),
          () => servers[i].running,
        ),
      ),
    );
    await waitForPlacement(handles[0].url, n, deadline);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/**
 * A meta leader can exist before every peer has joined the meta group; until they have,
 * streams with `replicas` replicas fail with "no suitable peers for placement". Wait for it
 * by placing (and removing) a probe stream.
 */
async function waitForPlacement(url: string, replicas: number, deadline: number) {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    for (;;) {
      try {
        await jsm.streams.add({
          name: 'SKEIN_TEST_PLACEMENT_PROBE',
          subjects: ['skein-test-probe.>'],
          num_replicas: replicas,
        });
        await jsm.streams.delete('SKEIN_TEST_PLACEMENT_PROBE');
        return;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`cluster could not place an R${replicas} stream: ${String(err)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await nc.close();
  }
}
