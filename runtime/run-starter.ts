/**
 * Creates runs the engine starts by itself (event triggers, cron ticks, schedules that came
 * due). Each has a deterministic run id and is created with expected sequence 0, so a
 * repeated start (a redelivered event, a repeated turn, a second engine) creates nothing.
 * The target's current registration supplies its spec and defaults; the spec captured when
 * the cron or schedule was made serves when no worker has registered the name.
 */
import type { RunStart } from '../actors/effects.js';
import type { Names } from './protocol.js';
import type { RegistryView } from './registry-view.js';
import type { Requester } from './requester.js';
import { createRun } from './run-creation.js';
import { runPlacementOf } from '../actors/run/placement.js';
import { triggerId } from './ids.js';

export class RunStarter {
  constructor(
    private readonly requester: Requester,
    private readonly names: Names,
    private readonly registry: RegistryView,
  ) {}

  async start(run: RunStart): Promise<void> {
    const reg = this.registry.get(run.spec.name);
    await createRun(
      this.requester,
      this.names,
      {
        type: 'Trigger',
        id: triggerId(run.runId),
        runId: run.runId,
        spec: reg?.spec ?? run.spec,
        input: run.input,
        additionalMetadata: { ...reg?.defaultAdditionalMetadata, ...run.additionalMetadata },
        priority: run.priority ?? reg?.defaultPriority ?? 1,
        unparsedInput: run.unparsedInput,
        ...runPlacementOf(run),
        ...(run.traceLink && { traceLink: run.traceLink }),
      },
      run.at,
    );
  }
}
