import { OcppCallError } from './errors.ts';

/**
 * What a SetChargingProfile answer means for what the charger holds:
 * - accepted: installed;
 * - refused: the charger said no (Rejected, or a CALLERROR about the message): it holds what it held;
 * - unsupported: it cannot do smart charging at all (NotSupported, CALLERROR NotImplemented or
 *   NotSupported): it is uncontrollable, asking again changes nothing;
 * - unanswered: timeout or dropped socket: installed or not, we cannot tell.
 */
export type ProfileOutcome = 'accepted' | 'refused' | 'unsupported' | 'unanswered';

const UNSUPPORTED_CODES = new Set(['NotImplemented', 'NotSupported']);

export function profileOutcome(answer: { status: string } | { error: unknown }): { outcome: ProfileOutcome; detail: string } {
  if ('status' in answer) {
    if (answer.status === 'Accepted') return { outcome: 'accepted', detail: 'Accepted' };
    if (answer.status === 'NotSupported') return { outcome: 'unsupported', detail: 'NotSupported' };
    return { outcome: 'refused', detail: answer.status };
  }
  const error = answer.error;
  const code = error instanceof OcppCallError ? error.rpcErrorCode : undefined;
  const detail = error instanceof Error ? error.message : String(error);
  if (code !== undefined && UNSUPPORTED_CODES.has(code)) return { outcome: 'unsupported', detail: `CALLERROR ${code}` };
  if (code !== undefined && code !== 'Timeout') return { outcome: 'refused', detail: `CALLERROR ${code}` };
  return { outcome: 'unanswered', detail };
}

/** Sends and classifies; never throws. */
export async function settleProfileCall(send: () => Promise<string>): Promise<{ outcome: ProfileOutcome; detail: string }> {
  try {
    return profileOutcome({ status: await send() });
  } catch (error) {
    return profileOutcome({ error });
  }
}
