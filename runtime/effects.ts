/** Carries out actor effects. Persisted ones carry a deterministic msgID, so a repeated turn cannot duplicate them. */
import type { NatsConnection } from '@nats-io/nats-core';
import type { Effect } from '../actors/effects.js';
import type { Timer } from '../actors/timer/timer.js';
import { assertNever } from '../actors/actor.js';
import { encode } from './codec.js';
import type { Names } from './protocol.js';
import type { Requester } from './requester.js';

export class EffectRunner {
  constructor(
    private readonly nc: NatsConnection,
    private readonly requester: Requester,
    private readonly names: Names,
  ) {}

  /** `source` names the turn that asked for the effects; the i-th effect's msgID derives from it. */
  async run(effects: Effect[], source: string): Promise<void> {
    if (effects.length === 0) return;
    await Promise.all(effects.map((effect, i) => this.one(effect, `${source}#${i}`)));
  }

  private async one(effect: Effect, msgID: string): Promise<void> {
    const n = this.names;
    switch (effect.type) {
      case 'send':
        await this.requester.publish(n.inboxSubject(effect.to.type, effect.to.id), encode(effect.message), { msgID });
        return;
      case 'enqueue':
      case 'abortTask':
        // Stored in the journal entry itself, where the scheduler reads them.
        return;
      case 'startTimer': {
        const timer: Timer = { timerId: effect.timerId, dueAt: effect.dueAt, to: effect.to, message: effect.message };
        await this.requester.publish(n.timerSubject, encode(timer), { msgID: `t:${effect.timerId}` });
        return;
      }
      case 'runFinished': {
        // The triggering client listens on its own subject; anyone else on the run's.
        this.nc.publish(effect.notify ?? n.runFinished(effect.result.runId), encode(effect.result));
        return;
      }
      default:
        assertNever(effect, 'effect');
    }
  }
}
