// Pure: solar charging modes per session. `fast` charges without a PV rule; `pv` charges from the
// PV surplus only; `minpv` always gets its minimum and takes the rest from the surplus. A `pv`
// session starts after the surplus has covered its minimum for startDelayMs and stops after it has
// fallen short for stopDelayMs, so cars do not cycle with every cloud.

export type ChargeMode = 'fast' | 'pv' | 'minpv';

export interface SolarSession {
  /** `${chargerId}/${connectorId}`. */
  key: string;
  mode: ChargeMode;
  /** What the car needs to charge at all (min current × voltage × phases), W. */
  minPowerW: number;
  maxPowerW: number;
}

export interface SolarInput {
  atMs: number;
  /**
   * PV power available to solar sessions now, W: export at the connection point plus what the
   * pv/minpv sessions already draw (and, optionally, what the stationary battery is charging).
   * Null when the grid measurement is missing: nothing starts, running sessions keep their minimum.
   */
  surplusW: number | null;
  /** In priority order: earlier sessions get the surplus first. */
  sessions: readonly SolarSession[];
}

export interface SolarParams {
  startDelayMs: number;
  stopDelayMs: number;
}

export interface SolarSessionMemory {
  charging: boolean;
  /** Since when the surplus has disagreed with `charging` (enough while stopped, short while charging). */
  sinceMs?: number;
}

export interface SolarState {
  sessions: Readonly<Record<string, SolarSessionMemory>>;
}

export const initialSolarState: SolarState = { sessions: {} };

export interface SolarResult {
  /** W per session key; `fast` sessions are absent (unconstrained). */
  ceilingsW: Map<string, number>;
  reasons: Map<string, string>;
  nextState: SolarState;
}

export function solarCeilings(input: SolarInput, params: SolarParams, previous: SolarState): SolarResult {
  const ceilingsW = new Map<string, number>();
  const reasons = new Map<string, string>();
  const next: Record<string, SolarSessionMemory> = {};
  const allocW = new Map<string, number>();
  let remainingW = input.surplusW ?? 0;

  for (const s of input.sessions) {
    if (s.mode !== 'minpv') continue;
    allocW.set(s.key, s.minPowerW);
    remainingW -= s.minPowerW;
  }

  for (const s of input.sessions) {
    if (s.mode !== 'pv') continue;
    const memory = previous.sessions[s.key] ?? { charging: false };
    const enough = input.surplusW !== null && remainingW >= s.minPowerW;
    let { charging, sinceMs } = memory;
    if (charging === enough) sinceMs = undefined;
    else {
      sinceMs ??= input.atMs;
      const waitedMs = input.atMs - sinceMs;
      // Without a measurement, nothing starts and nothing stops.
      if (input.surplusW !== null && waitedMs >= (charging ? params.stopDelayMs : params.startDelayMs)) {
        charging = !charging;
        sinceMs = undefined;
      }
    }
    next[s.key] = sinceMs === undefined ? { charging } : { charging, sinceMs };
    if (charging) {
      allocW.set(s.key, s.minPowerW);
      reasons.set(s.key, enough ? 'pv: surplus covers the minimum' : `pv: surplus short since ${sinceMs}, stopping after the stop delay`);
    } else {
      reasons.set(s.key, enough ? `pv: surplus enough since ${sinceMs}, starting after the start delay` : 'pv: waiting for PV surplus');
    }
    // Reserve the minimum for a session that is charging or about to start, so two cars do not
    // both count on the same surplus.
    if (charging || enough) remainingW -= s.minPowerW;
  }

  for (const s of input.sessions) {
    if (s.mode === 'fast') continue;
    const base = allocW.get(s.key);
    if (base === undefined) {
      ceilingsW.set(s.key, 0);
      continue;
    }
    const extraW = Math.max(0, Math.min(s.maxPowerW - base, remainingW));
    remainingW -= extraW;
    ceilingsW.set(s.key, base + extraW);
    if (s.mode === 'minpv') reasons.set(s.key, extraW > 0 ? 'minpv: minimum plus PV surplus' : 'minpv: minimum (no surplus)');
  }
  return { ceilingsW, reasons, nextState: { sessions: next } };
}
