// RFC 4180 CSV for exports that open in a spreadsheet: CRLF lines, a header row, fields quoted
// when they hold a comma, quote or line break. A text field starting with = + - @ (a formula to a
// spreadsheet) is prefixed with an apostrophe, so a crafted idTag cannot run as a formula.
export type CsvValue = string | number | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

function field(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return [header, ...rows].map((row) => row.map(field).join(',')).join('\r\n') + '\r\n';
}
