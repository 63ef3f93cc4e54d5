// Answering an export: the time range it covers and the CSV reply (a download with a file name).
import type { FastifyReply } from 'fastify';
import { ApiValidationError } from './api-errors.ts';

const HOUR_MS = 3_600_000;
const DEFAULT_EXPORT_MS = 31 * 24 * HOUR_MS;

/** An export's [from, to): to defaults to now, from to 31 days before; from must precede to. */
export function exportRange(from: number | undefined, to: number | undefined, nowMs: number): { fromMs: number; toMs: number } {
  const toMs = to ?? nowMs;
  const fromMs = from ?? toMs - DEFAULT_EXPORT_MS;
  if (!(fromMs < toMs)) throw new ApiValidationError([{ path: 'from', message: '`from` must be before `to`' }]);
  return { fromMs, toMs };
}

export const fileStamp = (atMs: number) => new Date(atMs).toISOString().slice(0, 16).replace(/[-:]/g, '');

export function sendCsv(reply: FastifyReply, fileName: string, body: string): FastifyReply {
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${fileName}"`).send(body);
}
