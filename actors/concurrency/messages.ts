/** What a concurrency group (one per key) receives: runs and task runs asking for and giving back slots. */

export type ConcurrencyStrategy = 'GROUP_ROUND_ROBIN' | 'CANCEL_IN_PROGRESS' | 'CANCEL_NEWEST';

export type ConcurrencyMessage =
  /**
   * `holder` wants a slot: a run (`<runId>#<generation>`) or a task run
   * (`<runId>#<generation>/<task>`). The group's limit and strategy come with every request,
   * so a redeployed declaration takes effect with the next one.
   */
  | {
      type: 'Acquire';
      id: string;
      holder: string;
      runId: string;
      maxRuns: number;
      strategy: ConcurrencyStrategy;
    }
  /** The holder ended (or gave up waiting): its slot, or its place in line, is free. */
  | { type: 'Release'; id: string; holder: string };
