/** The trigger page (`/trigger`): run a task or workflow by name with JSON input; the names workers serve to pick from. */
import type { PageRequest, PageResult } from '../context.js';
import { html } from '../html.js';
import { PAGES_CSS } from './list-parts.js';

export async function triggerPage({ deps, url }: PageRequest): Promise<PageResult> {
  const workers = await deps.skein.workers.list();
  const names = [
    ...new Set(workers.filter((w) => w.status !== 'LOST').flatMap((w) => w.serves)),
  ].sort();
  const name = url.searchParams.get('name') ?? '';
  return {
    title: 'Trigger',
    body: html`${PAGES_CSS}
      <form method="post" action="/actions/trigger" class="stacked" aria-label="Trigger a run">
        <label for="trigger-name">Task or workflow name</label>
        <input
          id="trigger-name"
          name="name"
          required
          list="trigger-names"
          value="${name}"
          autocomplete="off"
        />
        <datalist id="trigger-names">
          ${names.map((n) => html`<option value="${n}"></option>`)}
        </datalist>
        <label for="trigger-input">Input (JSON)</label>
        <textarea id="trigger-input" name="input" rows="6">{}</textarea>
        <div><button type="submit">Trigger</button></div>
      </form>
      <section aria-labelledby="served-h">
        <h2 id="served-h">Served now</h2>
        ${
          names.length === 0
            ? html`<p class="empty">No running worker serves a task or workflow.</p>`
            : html`<ul>
                ${names.map((n) => html`<li><a href="/trigger?name=${encodeURIComponent(n)}">${n}</a></li>`)}
              </ul>`
        }
      </section>`,
  };
}
