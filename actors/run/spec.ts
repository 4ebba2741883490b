/** The shape of what a run executes, copied into the run when it is triggered. */
export interface TaskSpec {
  name: string;
  retries: number;
  backoff?: { factor?: number; maxSeconds?: number };
  executionTimeoutMs: number;
  scheduleTimeoutMs: number;
  /** Tasks whose success this one waits for (workflows). */
  parents?: string[];
  /** A workflow's onFailure / onSuccess task: runs after the others, not part of the output. */
  role?: 'onFailure' | 'onSuccess';
}

export interface RunSpec {
  /** The task's or workflow's registered name. */
  name: string;
  kind: 'task' | 'workflow';
  tasks: TaskSpec[];
}

/** Delay before retry `n` (1-based): factor^n seconds, capped at maxSeconds; none without backoff. */
export function retryDelayMs(spec: TaskSpec, retryNumber: number): number {
  if (!spec.backoff) return 0;
  const factor = spec.backoff.factor ?? 2;
  const seconds = Math.pow(factor, retryNumber);
  const capped =
    spec.backoff.maxSeconds === undefined ? seconds : Math.min(seconds, spec.backoff.maxSeconds);
  return Math.max(0, Math.round(capped * 1000));
}
