// A table that turns into labelled rows on a phone (CSS: .stack), so it never scrolls sideways.
import { h } from '../dom.ts';

export interface Column<T> {
  label: string;
  cell: (row: T) => string | HTMLElement;
  numeric?: boolean;
  /** Never wrap (times, tags): a value is not broken mid-word. */
  nowrap?: boolean;
}

export function table<T>(caption: string, columns: Column<T>[], rows: T[], empty: string): HTMLElement {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  const cls = (c: Column<T>) => (c.numeric ? 'num' : c.nowrap ? 'nowrap' : '');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
    'table',
    { class: 'stack' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : '' }, c.label)))),
    h('tbody', {}, ...rows.map((row) => h('tr', {}, ...columns.map((c) => h('td', { 'data-label': c.label, class: cls(c) }, c.cell(row)))))),
    ),
  );
}
