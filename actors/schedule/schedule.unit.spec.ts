import { describe } from 'vitest';
import { it } from 'vitest';
import { deciderSpec } from '../testing/decider-spec.js';
import { scheduleActor, type ScheduleDefinition, type ScheduleEvent } from './index.js';

const spec = { name: 'remind', kind: 'task' as const, tasks: [] };
const def = (triggerAt: number): ScheduleDefinition => ({
  spec,
  triggerAt,
  input: { to: 'ada' },
  additionalMetadata: { source: 'test' },
});
const created = (triggerAt: number, at: number): ScheduleEvent => ({
  type: 'ScheduleCreated',
  schedule: def(triggerAt),
  at,
});
const startRun = (at: number) => ({
  type: 'startRun' as const,
  run: {
    runId: 'schedule-s1',
    spec,
    input: { to: 'ada' },
    additionalMetadata: { source: 'test', skein__schedule_id: 's1' },
    priority: undefined,
    unparsedInput: undefined,
    at,
  },
});
const schedule = deciderSpec(scheduleActor, 's1');

describe('schedule actor', () => {
  it('given nothing, when created for later, then it records it and sets a timer', () => {
    schedule.when({ type: 'CreateSchedule', id: 'c', schedule: def(5000) }, 1000).then(
      [created(5000, 1000)],
      [
        {
          type: 'startTimer',
          timerId: 'schedule:s1',
          dueAt: 5000,
          to: { type: 'schedule', id: 's1' },
          message: { type: 'ScheduleDue', id: 'schedule-due:s1' },
        },
      ],
    );
  });

  it('given nothing, when created for a time already past, then the run starts at once', () => {
    schedule
      .when({ type: 'CreateSchedule', id: 'c', schedule: def(500) }, 1000)
      .then(
        [created(500, 1000), { type: 'ScheduleTriggered', runId: 'schedule-s1', at: 1000 }],
        [startRun(1000)],
      );
  });

  it('given a schedule, when it is due, then its run starts; when due again, nothing', () => {
    const triggered: ScheduleEvent = { type: 'ScheduleTriggered', runId: 'schedule-s1', at: 5001 };
    schedule
      .given([created(5000, 1000)])
      .when({ type: 'ScheduleDue', id: 'schedule-due:s1' }, 5001)
      .then([triggered], [startRun(5001)]);
    schedule
      .given([created(5000, 1000), triggered])
      .when({ type: 'ScheduleDue', id: 'again' }, 5002)
      .thenNothing();
  });

  it('given a deleted schedule, when it is due, then nothing runs', () => {
    schedule
      .given([created(5000, 1000), { type: 'ScheduleDeleted', at: 2000 }])
      .when({ type: 'ScheduleDue', id: 'schedule-due:s1' }, 5001)
      .thenNothing();
  });

  it('given a schedule, when created again with its id, then nothing changes', () => {
    schedule
      .given([created(5000, 1000)])
      .when({ type: 'CreateSchedule', id: 'c2', schedule: def(9000) }, 1500)
      .thenNothing();
  });
});
