/** A run resolves where and when its tasks may start as it queues them. */
import { describe, expect, it } from 'vitest';
import type { QueuedTask } from '../scheduler/queued-task.js';
import { runActor, type RunMessage, type RunState } from './index.js';
import type { RunCreation } from './messages.js';
import type { RunSpec, TaskSpec } from './spec.js';
import { aTask } from './fixtures.js';

const RUN = 'run-1';
const task = (name: string, over: Partial<TaskSpec> = {}) => aTask(name, { retries: 1, ...over });

function play(
  spec: Omit<RunSpec, 'name' | 'kind'> & Partial<RunSpec>,
  messages: RunMessage[],
  creation: Partial<RunCreation> = {},
) {
  let state: RunState = runActor.initial(RUN);
  const queued: QueuedTask[] = [];
  const trigger: RunMessage = {
    type: 'Trigger',
    id: 'trigger',
    runId: RUN,
    spec: { name: 'wf', kind: 'workflow', ...spec },
    input: { userId: 'u-7', n: 3 },
    additionalMetadata: { tenant: 'acme' },
    priority: 1,
    ...creation,
  };
  for (const [i, message] of [trigger, ...messages].entries()) {
    const d = runActor.decide(state, message, 1000 + i);
    for (const e of d.events) state = runActor.evolve(state, e);
    queued.push(...d.effects.flatMap((fx) => (fx.type === 'enqueue' ? [fx.task] : [])));
  }
  return { state, queued };
}

const ok = (name: string, workerId: string): RunMessage => ({
  type: 'TaskResult',
  id: `result:${name}`,
  key: `${RUN}:${name}:0.1`,
  taskName: name,
  workerId,
  startedAt: 1,
  finishedAt: 2,
  output: null,
});

describe('placement of a queued task', () => {
  it('resolves static and dynamic rate-limit keys (CEL over input and additionalMetadata)', () => {
    const { queued } = play(
      {
        tasks: [
          task('a', {
            rateLimits: [
              { staticKey: 'openai', units: 2 },
              { dynamicKey: 'input.userId', units: 1, limit: 5, durationMs: 60_000 },
              {
                dynamicKey: "additionalMetadata.tenant + '-' + string(input.n)",
                units: 1,
                limit: 9,
                durationMs: 1000,
              },
            ],
          }),
        ],
      },
      [],
    );
    expect(queued[0].rateLimits).toEqual([
      { key: 'openai', units: 2 },
      { key: 'u-7', units: 1, limit: 5, durationMs: 60_000 },
      { key: 'acme-3', units: 1, limit: 9, durationMs: 1000 },
    ]);
    expect(queued[0].placementError).toBeUndefined();
  });

  it('a dynamic key that names nothing for this run makes the task fail on its worker, saying why', () => {
    const { queued } = play(
      {
        tasks: [
          task('a', {
            rateLimits: [{ dynamicKey: 'input.missing', units: 1, limit: 5, durationMs: 1000 }],
          }),
        ],
      },
      [],
    );
    expect(queued[0].rateLimits).toBeUndefined();
    expect(queued[0].placementError).toMatch(/task 'a': rate limit dynamicKey 'input.missing'/);
  });

  it('merges the run’s desired labels over the task’s', () => {
    const { queued } = play(
      {
        tasks: [
          task('a', {
            desiredWorkerLabels: {
              gpu: { value: 'a100', required: true },
              region: { value: 'eu' },
            },
          }),
        ],
      },
      [],
      { desiredWorkerLabels: { region: { value: 'us', weight: 5 } } },
    );
    expect(queued[0].desiredLabels).toEqual({
      gpu: { value: 'a100', required: true },
      region: { value: 'us', weight: 5 },
    });
  });

  it('a sticky run keeps later tasks on the worker that ran its first one', () => {
    const tasks = [task('a'), task('b', { parents: ['a'] }), task('c', { parents: ['b'] })];
    const sticky = play({ tasks, sticky: 'hard' }, [ok('a', 'w-1'), ok('b', 'w-2')]);
    expect(sticky.queued.map((t) => [t.taskName, t.sticky])).toEqual([
      ['a', { strategy: 'hard' }],
      ['b', { strategy: 'hard', workerId: 'w-1' }],
      ['c', { strategy: 'hard', workerId: 'w-1' }],
    ]);
    const perRun = play({ tasks, sticky: 'hard' }, [ok('a', 'w-1')], { sticky: 'soft' });
    expect(perRun.queued[1].sticky).toEqual({ strategy: 'soft', workerId: 'w-1' });
    const none = play({ tasks }, [ok('a', 'w-1')]);
    expect(none.queued[1].sticky).toBeUndefined();
    expect(none.state.stickyWorkerId).toBeUndefined();
  });
});
