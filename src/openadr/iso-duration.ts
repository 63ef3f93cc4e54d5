import { OpenAdrProtocolError } from './errors.ts';

const PATTERN = /^([+-])?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
const UNIT_MS = [365 * 86_400_000, 30 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000];

/** ISO 8601 duration → ms. Years count 365 days and months 30 (the specs advise against both). */
export function parseIsoDurationMs(text: string): number {
  const trimmed = text.trim();
  const match = PATTERN.exec(trimmed);
  if (!match || trimmed === 'P' || trimmed.endsWith('T')) throw new OpenAdrProtocolError(`not an ISO 8601 duration: ${JSON.stringify(text)}`);
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) if (match[i + 2] !== undefined) ms += Number(match[i + 2]) * UNIT_MS[i];
  return match[1] === '-' ? -ms : ms;
}

/** ms → `PT<n>S`, the form both 2.0b (integer seconds) and 3.1 accept. */
export function formatIsoDuration(ms: number): string {
  return `PT${Math.max(0, Math.round(ms / 1000))}S`;
}

/** Lenient date parsing (RFC 3339, or "YYYY-MM-DD HH:MM:SS" as some VTNs send, read as UTC). */
export function parseDateMs(text: string): number {
  let normalized = text.trim();
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(normalized)) normalized = normalized.replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(normalized)) normalized += normalized.includes('T') ? 'Z' : 'T00:00:00Z';
  const ms = Date.parse(normalized);
  if (Number.isNaN(ms)) throw new OpenAdrProtocolError(`not a date-time: ${JSON.stringify(text)}`);
  return ms;
}

/** xs:dateTime in UTC without milliseconds. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
