/** The dashboard's pages by path pattern (`:name` is a path parameter). */
import type { PageHandler } from './context.js';
import { eventsPage } from './pages/events.js';
import { flowPage } from './pages/flow.js';
import { runPage } from './pages/run.js';
import { runsPage } from './pages/runs.js';
import { schedulesPage } from './pages/schedules.js';
import { triggerPage } from './pages/trigger.js';
import { workersPage } from './pages/workers.js';

export const ROUTES: { pattern: string; page: PageHandler }[] = [
  { pattern: '/', page: runsPage },
  { pattern: '/runs', page: runsPage },
  { pattern: '/runs/:runId', page: runPage },
  { pattern: '/workers', page: workersPage },
  { pattern: '/events', page: eventsPage },
  { pattern: '/schedules', page: schedulesPage },
  { pattern: '/flow', page: flowPage },
  { pattern: '/trigger', page: triggerPage },
];
