// Closed session bills, one JSON line each, appended as sessions end and read back at start.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EmsError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { SessionBill } from './session-billing.ts';

export class BillLogError extends EmsError {
  override readonly code = 'BILL_LOG';
}

export class BillLog {
  /** The directory was made (once, not on every session's end: a stop's answer waits for this). */
  private dirMade = false;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  append(bill: SessionBill): void {
    try {
      if (!this.dirMade) mkdirSync(dirname(this.path), { recursive: true });
      this.dirMade = true;
      appendFileSync(this.path, `${JSON.stringify(bill)}\n`);
    } catch (error) {
      this.dirMade = false;
      this.log.error({ err: new BillLogError(`cannot append to ${this.path}`, { cause: error }), transactionId: bill.transactionId }, 'session bill not saved');
    }
  }

  /** Every bill that ended in [fromMs, toMs), oldest first (for exports). */
  between(fromMs: number, toMs: number): SessionBill[] {
    return this.read(Number.MAX_SAFE_INTEGER)
      .filter((b) => b.endedAtMs !== undefined && b.endedAtMs >= fromMs && b.endedAtMs < toMs)
      .reverse();
  }

  /** The newest `limit` bills, newest first; damaged lines are skipped with one warning. */
  read(limit: number): SessionBill[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err: error, path: this.path }, 'cannot read earlier session bills');
      return [];
    }
    const bills: SessionBill[] = [];
    let damaged = 0;
    for (const line of text.split('\n').reverse()) {
      if (!line.trim()) continue;
      try {
        const bill = JSON.parse(line) as SessionBill;
        if (typeof bill.transactionId !== 'number' || typeof bill.energyWh !== 'number') throw new Error('not a bill');
        bills.push(bill);
      } catch {
        damaged++;
      }
      if (bills.length >= limit) break;
    }
    if (damaged) this.log.warn({ path: this.path, damaged }, 'skipped damaged lines in the session bill log');
    return bills;
  }
}
