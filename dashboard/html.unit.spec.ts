import { describe, expect, it } from 'vitest';
import { html, raw } from './html.js';

/** The tag under another name, so that the formatter leaves these templates as written. */
const h = html;

describe('html templates', () => {
  it('escapes interpolated text, joins arrays, and renders nothing for null, undefined and false', () => {
    const rows = ['a<b', 'plain', `"q" & 'r'`].map((t) => h`<li>${t}</li>`);
    const page = h`<ul title="${'x"y'}">${rows}${null}${undefined}${false}</ul>${7}${true}`;
    expect(page.text).toBe(
      '<ul title="x&quot;y"><li>a&lt;b</li><li>plain</li><li>&quot;q&quot; &amp; &#39;r&#39;</li></ul>7true',
    );
    expect(h`${raw('<b>kept</b>')}${[['<i>', raw('<i>')]]}`.text).toBe('<b>kept</b>&lt;i&gt;<i>');
  });
});
