// The dashboard's one script (no build step): the runs page's rows follow /live.
//
// /live sends a `run` event for each turn of a run that changes its row (status, attempts,
// error). The row changes at once; then, at most every REFRESH_MS, the page is fetched again
// and its rows and counts replace these (attempts, durations and counts as the run index has
// them). `hello` says the stream reads: whatever changed before it is in the fetch that follows.
const REFRESH_MS = 2000;

const table = document.querySelector('table[data-live]');
if (table && 'EventSource' in window) follow(table);

function follow(table) {
  const insertsNew = table.dataset.insert === '1';
  const source = new EventSource('/live?' + table.dataset.live);
  let fetching = false;
  let again = false;
  let timer;

  source.addEventListener('hello', () => refresh());
  source.addEventListener('run', (e) => {
    apply(JSON.parse(e.data));
    soon();
  });

  function rowOf(id) {
    for (const row of table.tBodies[0].rows) if (row.dataset.runId === id) return row;
    return undefined;
  }

  function apply(change) {
    let row = rowOf(change.id);
    if (!row) {
      if (!change.created || !insertsNew) return;
      row = newRow(change);
      table.tBodies[0].prepend(row);
      document.querySelector('p.empty')?.remove();
    }
    row.dataset.status = change.status;
    const status = row.querySelector('[data-col="status"]');
    if (status) status.textContent = change.status;
    if (change.errorClass && change.status === 'FAILED') {
      const error = row.querySelector('[data-col="error"]');
      if (error) error.textContent = change.errorClass;
    }
  }

  function newRow(change) {
    const row = document.createElement('tr');
    row.dataset.runId = change.id;
    const cell = (text, col) => {
      const td = document.createElement('td');
      if (col) td.dataset.col = col;
      td.textContent = text;
      row.append(td);
      return td;
    };
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.name = 'runId';
    box.value = change.id;
    box.setAttribute('form', 'selected-runs');
    box.setAttribute('aria-label', `Select run ${change.id}`);
    cell('').append(box);
    cell(change.status, 'status');
    cell(change.name);
    const link = document.createElement('a');
    link.href = `/runs/${encodeURIComponent(change.id)}`;
    link.textContent = change.id;
    cell('').append(link);
    cell(new Date(change.createdAt).toISOString().slice(0, 19).replace('T', ' '), 'started');
    cell('–', 'duration');
    cell('0', 'attempts');
    cell('', 'error');
    return row;
  }

  function soon() {
    if (timer === undefined) timer = setTimeout(refresh, REFRESH_MS);
  }

  async function refresh() {
    clearTimeout(timer);
    timer = undefined;
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    try {
      const res = await fetch(location.href, { headers: { accept: 'text/html' } });
      if (!res.ok) return;
      const next = new DOMParser().parseFromString(await res.text(), 'text/html');
      const checked = new Set(
        [...document.querySelectorAll('input[name="runId"]:checked')].map((b) => b.value),
      );
      const rows = next.querySelector('table[data-live] tbody');
      if (rows) {
        for (const box of rows.querySelectorAll('input[name="runId"]'))
          box.checked = checked.has(box.value);
        table.tBodies[0].replaceWith(document.adoptNode(rows));
      }
      for (const selector of ['ul.counts', '[data-matching]']) {
        const fresh = next.querySelector(selector);
        const old = document.querySelector(selector);
        if (fresh && old) old.replaceWith(document.adoptNode(fresh));
      }
      if (table.tBodies[0].rows.length > 0) document.querySelector('p.empty')?.remove();
    } catch {
      // The next change tries again.
    } finally {
      fetching = false;
      if (again) {
        again = false;
        soon();
      }
    }
  }
}
