// A table that turns into labelled rows on a phone (CSS: .stack), so it never scrolls sideways.
import { h } from '../dom.ts';

export interface Column<T> {
  label: string;
  cell: (row: T) => string | HTMLElement;
  numeric?: boolean;
}

export function table<T>(caption: string, columns: Column<T>[], rows: T[], empty: string): HTMLElement {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h(
    'table',
    { class: 'stack' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : '' }, c.label)))),
    h('tbody', {}, ...rows.map((row) => h('tr', {}, ...columns.map((c) => h('td', { 'data-label': c.label, class: c.numeric ? 'num' : '' }, c.cell(row)))))),
  );
}
