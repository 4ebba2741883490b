// The run page's script: it follows the run through /live?runId= and fetches the page again
// when the run changes (at most every REFRESH_MS), so statuses, the graph, the timeline, the
// history and the logs stay current. A page showing a past state (?at=) stays as it is.
const REFRESH_MS = 700;

const root = document.getElementById('run-page');
if (root && root.dataset.at === '' && 'EventSource' in window) follow(root);

function follow(root) {
  const source = new EventSource('/live?runId=' + encodeURIComponent(root.dataset.runId));
  let timer;
  let fetching = false;
  let again = false;

  source.addEventListener('hello', () => soon());
  source.addEventListener('run', () => soon());
  source.addEventListener('stream', (e) => showChunk(JSON.parse(e.data)));

  function soon() {
    if (timer === undefined) timer = setTimeout(refresh, REFRESH_MS);
  }

  // Someone typing in a form (a payload to push) keeps what they typed: try again later.
  function busy() {
    const active = document.activeElement;
    return active && root.contains(active) && active.closest('form');
  }

  async function refresh() {
    timer = undefined;
    if (fetching) {
      again = true;
      return;
    }
    if (busy()) return soon();
    fetching = true;
    try {
      const res = await fetch(location.href, { headers: { accept: 'text/html' } });
      if (!res.ok) return;
      const next = new DOMParser().parseFromString(await res.text(), 'text/html');
      const fresh = next.getElementById('run-page');
      if (!fresh || busy()) return soon();
      const open = new Set(
        [...root.querySelectorAll('details[open] summary')].map((s) => s.textContent),
      );
      for (const s of fresh.querySelectorAll('details summary'))
        if (open.has(s.textContent)) s.parentElement.open = true;
      const chunk = root.querySelector('[data-stream]');
      root.replaceChildren(...[...fresh.childNodes].map((n) => document.adoptNode(n)));
      if (chunk) root.querySelector('[data-stream]')?.replaceWith(chunk);
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

  function showChunk(chunk) {
    let box = root.querySelector('[data-stream]');
    if (!box) {
      box = document.createElement('section');
      box.dataset.stream = '';
      box.setAttribute('aria-label', 'Latest stream chunk');
      const pre = document.createElement('pre');
      box.append(pre);
      root.prepend(box);
    }
    box.querySelector('pre').textContent =
      typeof chunk === 'string' ? chunk : JSON.stringify(chunk, null, 2);
  }
}
