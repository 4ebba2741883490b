/**
 * Crons: a nightly report declared with `onCrons` (every worker that serves it registers the
 * same cron; it exists once), and a cron made at run time with `createCron`, in a timezone.
 * Each tick runs once, however many engines run; a tick missed while no engine ran fires
 * once when one is back.
 *
 *   const { nightlyReport } = nightlyCronExample(skein);
 *   await (await skein.worker('reports', { workflows: [nightlyReport] })).start(); // declares '0 2 * * *'
 *   await nightlyReport.createCron('paris-morning', '0 7 * * 1-5', { scope: 'fr' }, { timezone: 'Europe/Paris' });
 *   await skein.crons.list(); // both, with nextRunAt
 */
import type { Skein } from 'skein';

export function nightlyCronExample(skein: Skein, expression = '0 2 * * *') {
  const nightlyReport = skein.task({
    name: 'nightly-report',
    onCrons: [expression],
    fn: (input: { scope?: string }, ctx) => ({
      scope: input.scope ?? 'all',
      // Which tick this run is for (an ISO time), and which cron started it.
      tick: ctx.additionalMetadata.skein__cron_tick,
      cron: ctx.additionalMetadata.skein__cron_name,
    }),
  });
  return { nightlyReport };
}
