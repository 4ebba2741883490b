/** What a concurrency group (one per key) receives: runs and task runs asking for and giving back slots. */

/** The one list the wire and the SDK use. */
export const CONCURRENCY_STRATEGIES = [
  'GROUP_ROUND_ROBIN',
  'CANCEL_IN_PROGRESS',
  'CANCEL_NEWEST',
] as const;
export type ConcurrencyStrategy = (typeof CONCURRENCY_STRATEGIES)[number];

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
