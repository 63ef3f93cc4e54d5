import { z } from 'zod';
import { gridSignal } from '../grid-signal.ts';
import { SignalInputError } from './errors.ts';
import type { TimelineSignal } from './types.ts';

const KIND = z.enum(['import-limit', 'export-limit', 'price', 'ghg', 'load-shed', 'alert']);
const time = z.union([z.number(), z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not an ISO 8601 time')]);
const toMs = (t: number | string) => (typeof t === 'number' ? t : Date.parse(t));

/**
 * One signal as an operator, a grid operator's box or a script sends it over MQTT or HTTP.
 * `end` or `durationS` is required: every limit expires unless it is sent again.
 */
export const externalSignalSchema = z
  .strictObject({
    id: z.string().min(1).max(100).optional(),
    kind: KIND,
    value: z.number().finite(),
    start: time.optional().describe('ISO 8601 or ms since epoch; default now'),
    end: time.optional(),
    durationS: z.number().positive().max(10 * 365 * 86_400).optional(),
    open: z.literal(true).optional().describe('in force until withdrawn (instead of end or durationS)'),
    text: z.string().max(500).optional(),
    eventId: z.string().min(1).max(100).optional(),
  })
  .refine((s) => [s.end, s.durationS, s.open].filter((v) => v !== undefined).length === 1, { message: 'give exactly one of end, durationS or open' })
  .refine((s) => !['import-limit', 'export-limit'].includes(s.kind) || s.value >= 0, { message: 'a limit cannot be negative (W)' });

export type ExternalSignal = z.input<typeof externalSignalSchema>;

const listSchema = z.array(externalSignalSchema).max(1000);

/** Parses a producer's full current set (one object or an array; [] clears). Throws SignalInputError. */
export function parseSignalInput(input: unknown, source: string, nowMs: number): TimelineSignal[] {
  const result = Array.isArray(input) ? listSchema.safeParse(input) : externalSignalSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new SignalInputError(`signals from ${source}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, { cause: result.error });
  }
  const list = Array.isArray(result.data) ? result.data : [result.data];
  return list.map((s, index) => {
    const startMs = s.start === undefined ? nowMs : toMs(s.start);
    const endMs = s.open ? 'open' : s.end !== undefined ? toMs(s.end) : startMs + s.durationS! * 1000;
    const id = s.id ?? `${s.kind}-${index}`;
    try {
      return gridSignal({ id, source, kind: s.kind, value: s.value, startMs, endMs, eventId: s.eventId ?? id, ...(s.text ? { text: s.text } : {}) });
    } catch (error) {
      throw new SignalInputError(`signals from ${source}: [${index}] ${(error as Error).message}`, { cause: error });
    }
  });
}
