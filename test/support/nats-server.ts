/**
 * Throw-away NATS JetStream servers for integration tests.
 *
 *   const srv = await startNatsServer();
 *   try { ...connect({ servers: srv.url })... } finally { await srv.stop(); }
 *
 * Every server gets its own free loopback port and its own temp store dir
 * (`os.tmpdir()/skein-nats-XXXXXX`), so test files can run in parallel and never touch a
 * NATS that happens to be listening on 4222.
 *
 * Binary lookup order: $NATS_SERVER_BIN, `nats-server` on PATH, /usr/sbin/nats-server,
 * /usr/local/bin/nats-server. Without a binary we fall back to Docker (`nats:2.10-alpine`
 * through the optional `testcontainers` package) when `docker info` succeeds;
 * SKEIN_NATS_DOCKER=1 forces the Docker path for startNatsServer() (startNatsCluster() always
 * needs the binary).
 *
 * Leftover processes are reaped three ways: stop() (the normal path), a synchronous
 * process 'exit' hook that SIGKILLs every live server, and a tiny detached `sh` watchdog per
 * server that SIGKILLs it if the Node process that spawned it disappears without running
 * its exit hooks (vitest killing a fork on timeout, SIGKILL, crash).
 *
 * Set SKEIN_NATS_LOG=1 to mirror server output to this process's stderr.
 */
import {
  dockerAvailable,
  findNatsServerBinary,
  missingServerError,
  startNative,
  type NatsServerHandle,
  type StartNatsServerOptions,
} from './nats-process.js';
import { startDocker } from './nats-docker.js';

export {
  findNatsServerBinary,
  getFreePort,
  type NatsClusterHandle,
  type NatsServerHandle,
  type StartNatsServerOptions,
} from './nats-process.js';
export { startNatsCluster } from './nats-cluster.js';

/** Start a standalone JetStream server on a free loopback port with a fresh store dir. */
export async function startNatsServer(
  opts: StartNatsServerOptions = {},
): Promise<NatsServerHandle> {
  const forceDocker = process.env.SKEIN_NATS_DOCKER === '1';
  const bin = forceDocker ? undefined : findNatsServerBinary();
  if (bin) return startNative(bin, opts);
  if (forceDocker || dockerAvailable()) return startDocker(opts);
  throw missingServerError();
}
