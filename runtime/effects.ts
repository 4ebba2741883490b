/** Carries out actor effects. Persisted ones carry a deterministic msgID, so a repeated turn cannot duplicate them. */
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { Effect } from '../actors/effects.js';
import type { Timer } from '../actors/timer/timer.js';
import { assertNever } from '../actors/actor.js';
import { encode } from './codec.js';
import type { Names } from './protocol.js';
import type { EventChecker } from './event-check.js';
import type { Requester } from './requester.js';
import type { RunStarter } from './run-starter.js';
import { effectMsgId, timerStoredMsgId } from './ids.js';

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

export class EffectRunner {
  constructor(
    private readonly nc: NatsConnection,
    private readonly requester: Requester,
    private readonly names: Names,
    /** Creates the runs that crons and schedules start. */
    private readonly runStarter?: RunStarter,
    /** Reads the events a run's deadline is judged on. */
    private readonly eventChecker?: EventChecker,
  ) {}

  /** `source` names the turn that asked for the effects; the i-th effect's msgID derives from it. */
  /** Resolves once the persisted ones are stored; returns nothing when none had to be. */
  run(effects: Effect[], source: string): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined;
    effects.forEach((effect, i) => {
      const p = this.one(effect, effectMsgId(source, i));
      if (p) (pending ??= []).push(p);
    });
    return pending && Promise.all(pending).then(() => undefined);
  }

  /**
   * `run`, tried again with growing pauses while `goOn()` holds (repeats are harmless: the
   * msgIDs dedupe them); rejects if `goOn()` turns false before the effects are stored.
   */
  async runUntilStored(
    effects: Effect[],
    source: string,
    goOn: () => boolean,
    logger: Logger,
  ): Promise<void> {
    for (let pause = RETRY_FIRST_MS; ; pause = Math.min(2 * pause, RETRY_MAX_MS)) {
      try {
        return await this.run(effects, source);
      } catch (err) {
        if (!goOn()) throw err;
        if (pause === RETRY_FIRST_MS)
          logger.warn({ err, source }, 'could not store effects; trying again until stored');
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (!goOn()) throw new Error(`gave up storing the effects of ${source}`);
    }
  }

  private one(effect: Effect, msgID: string): Promise<void> | undefined {
    const n = this.names;
    switch (effect.type) {
      case 'send':
        return this.requester
          .publish(n.inboxSubject(effect.to.type, effect.to.id), encode(effect.message), { msgID })
          .then(() => undefined);
      case 'enqueue':
      case 'abortTask':
      case 'awaitEvent':
      case 'endWait':
        // Stored in the journal entry itself, where the scheduler reads them.
        return;
      case 'startTimer': {
        const timer: Timer = {
          timerId: effect.timerId,
          dueAt: effect.dueAt,
          to: effect.to,
          message: effect.message,
        };
        return this.requester
          .publish(n.timerSubject, encode(timer), { msgID: timerStoredMsgId(effect.timerId) })
          .then(() => undefined);
      }
      case 'runFinished': {
        // The triggering client listens on its own subject; anyone else on the run's.
        this.nc.publish(effect.notify ?? n.runFinished(effect.result.runId), encode(effect.result));
        return;
      }
      case 'startRun':
        if (!this.runStarter) throw new Error('this engine cannot start runs from effects');
        return this.runStarter.start(effect.run);
      case 'checkEvents':
        if (!this.eventChecker) throw new Error('this engine cannot check events');
        return this.eventChecker.check(effect.check);
      default:
        assertNever(effect, 'effect');
    }
  }
}
