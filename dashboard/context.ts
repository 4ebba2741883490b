/** What every dashboard page and action is given. */
import type { Logger } from 'pino';
import type { Skein } from '../sdk/index.js';
import type { Html } from './html.js';

export interface DashboardDeps {
  /** An SDK client of the engine's namespace: the dashboard reads and acts as any user would. */
  skein: Skein;
  logger: Logger;
}

export interface PageRequest {
  deps: DashboardDeps;
  url: URL;
  /** Path parameters, e.g. `{ runId }` for `/runs/:runId`. */
  params: Record<string, string>;
}

/** A page: its title (shown in the tab and the header) and its main content. */
export interface PageResult {
  title: string;
  body: Html;
}

export type PageHandler = (req: PageRequest) => Promise<PageResult>;
