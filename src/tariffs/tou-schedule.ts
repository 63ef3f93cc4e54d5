// Time-of-use values (import price, export price, carbon intensity) evaluated in local time.
import type { z } from 'zod';
import type { touScheduleSchema } from '../../config/schema.ts';
import type { LocalTime, LocalTimeZone } from './local-time.ts';

export type TouScheduleConfig = z.infer<typeof touScheduleSchema>;

interface CompiledPeriod {
  days: ReadonlySet<string>;
  fromMin: number;
  toMin: number;
  months?: ReadonlySet<number>;
  value: number;
}

const toMinutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** A weekly schedule with seasons and holidays; the first period that matches wins. */
export class TouSchedule {
  private readonly periods: CompiledPeriod[];
  private readonly holidays: ReadonlySet<string>;

  constructor(
    config: TouScheduleConfig,
    private readonly zone: LocalTimeZone,
    holidays: readonly string[] = [],
  ) {
    this.defaultValue = config.default;
    this.holidays = new Set(holidays);
    this.periods = config.periods.map((p) => ({
      days: new Set(p.days),
      fromMin: toMinutes(p.from),
      toMin: toMinutes(p.to),
      months: p.months ? new Set(p.months) : undefined,
      value: p.price,
    }));
  }

  readonly defaultValue: number;

  valueAt(atMs: number): number {
    return this.valueAtLocal(this.zone.at(atMs));
  }

  valueAtLocal(local: LocalTime): number {
    // On a holiday only periods that list 'hol' apply; weekday periods do not.
    const day = this.holidays.has(local.date) ? 'hol' : local.weekday;
    for (const p of this.periods) {
      if (!p.days.has(day)) continue;
      if (p.months && !p.months.has(local.month)) continue;
      const m = local.minuteOfDay;
      const inside = p.fromMin <= p.toMin ? m >= p.fromMin && m < p.toMin : m >= p.fromMin || m < p.toMin;
      if (inside) return p.value;
    }
    return this.defaultValue;
  }
}
