/** The frame around every page: title, navigation, the client script. */
import { html, type Html } from './html.js';

export const NAV: readonly { href: string; label: string }[] = [
  { href: '/runs', label: 'Runs' },
  { href: '/workers', label: 'Workers' },
  { href: '/events', label: 'Events' },
  { href: '/schedules', label: 'Crons and schedules' },
  { href: '/flow', label: 'Flow control' },
  { href: '/trigger', label: 'Trigger' },
];

export function layout(title: string, body: Html, currentPath: string): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Skein</title>
        <link rel="stylesheet" href="/assets/style.css" />
        <script type="module" src="/assets/client.js"></script>
      </head>
      <body>
        <header>
          <a class="brand" href="/">Skein</a>
          <nav aria-label="Main">
            ${NAV.map(
              (item) =>
                html`<a
                  href="${item.href}"
                  ${currentPath.startsWith(item.href) ? html` aria-current="page"` : ''}
                  >${item.label}</a
                >`,
            )}
          </nav>
        </header>
        <main>
          <h1>${title}</h1>
          ${body}
        </main>
      </body>
    </html> `;
}
