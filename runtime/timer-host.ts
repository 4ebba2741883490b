/**
 * Runs the durable timers: each timer is a message in the timer stream, redelivered by the
 * server after `nak(delay)` until it is due; then its message goes to the target's mailbox.
 * The server keeps the delays across engine restarts but forgets them when it restarts
 * itself or the consumer gets a new leader, so a new engine leader, a leader after a
 * reconnect and a moved consumer start the consumer again (every pending timer is looked at
 * once more and waits its remaining time).
 */
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { decideTimer, type Timer } from '../actors/timer/timer.js';
import type { Clock } from './clock.js';
import { encode } from './codec.js';
import { decodeStored, formatHeaders } from './format.js';
import { checkedId } from './bounds.js';
import { ConsumerLoop, retryInHand } from './consumer-loop.js';
import { rejected } from './rejections.js';
import type { Names } from './protocol.js';
import { restartTimersConsumer } from './setup.js';
import { timerFiredMsgId } from './ids.js';
import type { MetricsSink } from './metrics/engine-metrics.js';

/** The server's nak delay is kept in memory per message; re-check long timers at least this often. */
const MAX_WAIT_MS = 3_600_000;
/** A due timer whose message could not be stored is tried again after this. */
const FIRE_RETRY_MS = 500;

export class TimerHost {
  private loop?: ConsumerLoop;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: Names,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Longest wait before a timer is looked at again (short in tests that move the clock). */
    private readonly maxWaitMs = MAX_WAIT_MS,
    private readonly metrics?: Pick<MetricsSink, 'timerFired'>,
  ) {}

  async start() {
    await restartTimersConsumer(this.jsm, this.names);
    const loop: ConsumerLoop = new ConsumerLoop(
      this.js,
      this.names.streams.timers,
      'timers',
      (m) => this.onTimer(m, loop),
      this.logger,
    );
    this.loop = loop;
    await loop.start();
  }

  /** Its consumer loop is running (see KeepRunning). */
  healthy() {
    return this.loop?.healthy() ?? false;
  }

  async stop() {
    await this.loop?.stop();
    this.loop = undefined;
  }

  private async onTimer(msg: JsMsg, loop: ConsumerLoop) {
    let timer: Timer;
    try {
      timer = decodeStored<Timer>('timer', msg);
      if (
        typeof timer.dueAt !== 'number' ||
        typeof timer.to?.type !== 'string' ||
        !timer.message?.id
      )
        throw new Error('not a timer');
      if (!/^[A-Za-z0-9_-]+$/.test(timer.to.type)) throw new Error('not an actor type');
      checkedId('timer target', timer.to.id);
      checkedId('timer id', timer.timerId);
    } catch (err) {
      rejected(this.logger, 'timer-malformed', err);
      msg.term();
      return;
    }
    const decision = decideTimer(timer, this.clock.now());
    if (decision.type === 'wait') {
      msg.nak(Math.min(decision.delayMs, this.maxWaitMs));
      return;
    }
    // The inbox may have no leader for a moment (a cluster node died): tried again soon.
    const fired = await retryInHand(
      loop,
      msg,
      FIRE_RETRY_MS,
      () =>
        this.js.publish(
          this.names.inboxSubject(timer.to.type, timer.to.id),
          encode(timer.message),
          { msgID: timerFiredMsgId(timer.timerId), headers: formatHeaders() },
        ),
      (err, failures) =>
        this.logger.warn(
          { err, timer: timer.timerId, failures },
          'could not fire a timer; will retry',
        ),
    );
    if (!fired) return;
    msg.ack();
    this.metrics?.timerFired(this.clock.now() - timer.dueAt);
  }
}
