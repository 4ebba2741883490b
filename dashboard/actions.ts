/**
 * The dashboard's POST actions (form-encoded, same-origin: server.ts checks). Each goes through
 * the SDK with `by: 'dashboard'`, so a run's history says who acted, and answers with a
 * redirect to the form's `return` (a local path) or the run's page. Bulk actions (`filter`: a
 * runs page query string, or several `runId`s asked with `review=1`) first answer with a page
 * that shows how many runs they will touch; its button sends the same form with `confirm`.
 */
import { z } from 'zod';
import { ValidationError, type RunFilter } from '../sdk/index.js';
import type { DashboardDeps, PageResult } from './context.js';
import { html } from './html.js';
import { parseRunQuery, withParams } from './run-query.js';

export type ActionResult = { redirect: string; notice?: string } | { page: PageResult };

type Action = (form: URLSearchParams, deps: DashboardDeps) => Promise<ActionResult>;

/** Who the run's history names for what the dashboard does. */
export const BY = 'dashboard';

/** Only a path on this server: `return=https://elsewhere` must not send the browser away. */
function returnTo(form: URLSearchParams, fallback: string): string {
  const target = form.get('return');
  return target && target.startsWith('/') && !target.startsWith('//') ? target : fallback;
}

const runPath = (runId: string) => `/runs/${encodeURIComponent(runId)}`;

function jsonField(form: URLSearchParams, field: string): unknown {
  const text = form.get(field)?.trim() ?? '';
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${field} must be JSON: ${(err as Error).message}`);
  }
}

function required(form: URLSearchParams, field: string): string {
  const value = form.get(field)?.trim();
  if (!value) throw new ValidationError(`the form has no ${field}`);
  return value;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Cancel or replay: which runs, what they may be in, and what the SDK does with one or a filter. */
interface BulkKind {
  verb: 'cancel' | 'replay';
  done: 'cancelled' | 'replayed';
  /** The runs it acts on, by status (a run ended cannot be cancelled, a run going cannot be replayed). */
  statuses: readonly ('QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED')[];
  one(deps: DashboardDeps, runId: string, form: URLSearchParams): Promise<void>;
  all(deps: DashboardDeps, filter: RunFilter): Promise<number>;
}

const formSchema = z.object({
  runIds: z.array(z.string().min(1)).max(1000),
  filter: z.string().optional(),
});

function bulkAction(kind: BulkKind): Action {
  return async (form, deps) => {
    const parsed = formSchema.safeParse({
      runIds: form.getAll('runId').filter((id) => id.trim() !== ''),
      filter: form.get('filter') ?? undefined,
    });
    if (!parsed.success) throw new ValidationError(`a ${kind.verb} form: ${parsed.error.message}`);
    const { runIds, filter } = parsed.data;
    const title = kind.verb === 'cancel' ? 'Cancel' : 'Replay';
    if (filter !== undefined) {
      const params = new URLSearchParams(filter);
      const { filter: runFilter } = parseRunQuery(params);
      const back = returnTo(form, withParams(params, {}));
      if (!form.has('confirm')) {
        const counts = await deps.skein.runs.counts(runFilter);
        const n = kind.statuses.reduce((sum, s) => sum + counts[s], 0);
        return { page: confirmPage(kind, title, n, 'matching this filter', form, back) };
      }
      const count = await kind.all(deps, runFilter);
      return { redirect: back, notice: `${plural(count, 'run')} ${kind.done}.` };
    }
    if (runIds.length === 0)
      throw new ValidationError(`select runs to ${kind.verb}, or use "all matching"`);
    const back = returnTo(form, runIds.length === 1 ? runPath(runIds[0]) : '/runs');
    if (form.get('review') === '1' && !form.has('confirm'))
      return { page: confirmPage(kind, title, runIds.length, 'selected', form, back) };
    for (const runId of runIds) await kind.one(deps, runId, form);
    return { redirect: back, notice: `${plural(runIds.length, 'run')} ${kind.done}.` };
  };
}

function confirmPage(
  kind: BulkKind,
  title: string,
  n: number,
  which: string,
  form: URLSearchParams,
  back: string,
): PageResult {
  const fields = [...form].filter(([key]) => key !== 'confirm' && key !== 'return');
  return {
    title: `${title} ${plural(n, 'run')}?`,
    body: html`<p>
        ${plural(n, 'run')} ${which} can be ${kind.done} (${kind.statuses.join(', ')}).
      </p>
      <form method="post" action="/actions/${kind.verb}">
        ${fields.map(([key, value]) => html`<input type="hidden" name="${key}" value="${value}" />`)}
        <input type="hidden" name="return" value="${back}" />
        <input type="hidden" name="confirm" value="${n}" />
        <button type="submit" ${n === 0 ? html`disabled` : ''}>${title} ${plural(n, 'run')}</button>
        <a href="${back}">Back</a>
      </form>`,
  };
}

const ACTIONS: Record<string, Action> = {
  cancel: bulkAction({
    verb: 'cancel',
    done: 'cancelled',
    statuses: ['QUEUED', 'RUNNING'],
    one: (deps, runId) => deps.skein.runs.cancel(runId, { by: BY }),
    all: async (deps, filter) => (await deps.skein.runs.cancel({ filter, by: BY })).count,
  }),
  replay: bulkAction({
    verb: 'replay',
    done: 'replayed',
    statuses: ['COMPLETED', 'FAILED', 'CANCELLED'],
    one: (deps, runId, form) => {
      const fromTask = form.get('fromTask')?.trim() || undefined;
      return deps.skein.runs.replay(runId, { by: BY, ...(fromTask && { fromTask }) });
    },
    all: async (deps, filter) => (await deps.skein.runs.replay({ filter, by: BY })).count,
  }),
  'push-event': async (form, deps) => {
    const key = required(form, 'key');
    const { eventId } = await deps.skein.events.push(key, jsonField(form, 'payload') ?? {});
    return { redirect: returnTo(form, '/events'), notice: `Pushed event ${key} (${eventId}).` };
  },
  trigger: async (form, deps) => {
    const name = required(form, 'name');
    const ref = await deps.skein.runNoWait(name, jsonField(form, 'input') ?? {});
    return { redirect: runPath(ref.runId), notice: `Triggered ${name}.` };
  },
  'delete-cron': async (form, deps) => {
    const id = required(form, 'id');
    await deps.skein.crons.delete(id);
    return { redirect: returnTo(form, '/schedules'), notice: `Deleted cron ${id}.` };
  },
  'delete-schedule': async (form, deps) => {
    const id = required(form, 'id');
    await deps.skein.schedules.delete(id);
    return { redirect: returnTo(form, '/schedules'), notice: `Deleted schedule ${id}.` };
  },
};

export async function runAction(
  name: string,
  form: URLSearchParams,
  deps: DashboardDeps,
): Promise<ActionResult> {
  const action = ACTIONS[name];
  if (!action)
    throw new ValidationError(
      `no action '${name}': the dashboard takes ${Object.keys(ACTIONS).join(', ')}`,
    );
  return action(form, deps);
}
