// Builds the horizon LP from a PlanInput. Pure. Units inside the LP: kW and kWh (better scaling).
//
//   min  Σ_t (importPrice_t + carbon_t) · h · g_t − exportPrice_t · h · x_t      energy
//      + demandCharge · P                                                        peak
//      + Σ_i penalty_i · u_i                                                     unmet energy (soft)
//      + overloadPenalty · h · Σ_t s_t                                           unavoidable overload
//   s.t. g_t − x_t − c_t − Σ_i p_it − bc_t + bd_t = base_t − pv_t                balance
//        g_t − s_t ≤ L_t,  P − g_t ≥ 0,  P ≥ peakSoFar                           limits, peak
//        Σ_t h·p_it + u_i = E_i                                                 energy by departure
//        p_it·(1 + f·k_i·h/2) + f·k_i·e_it ≤ f·pmax_i,  e_i,t+1 = e_it + h·p_it      a tapering car
//        (f: the share of the slot it is there; e_it: energy planned before slot t, e_i,first = 0)
//        (u_i split into segments of rising cost when shortfalls are shared: scheme 'equal')
//        Σ_{i on fuse j, phase φ} p_it / (V·w_i) ≤ I_j − reserved_jt                  every fuse, phase
//        (w_i = phases, or √3 for a line-to-line charger counted in full on both its lines)
//        e_t − e_{t−1} − h·η·bc_t + h/η·bd_t = 0,  e_t ∈ [min, max]              battery
import { LpBuilder, type LpModel } from './lp-model.ts';
import type { PlanInput } from './plan-types.ts';

export const OVERLOAD_PENALTY_PER_KWH = 1000;
/**
 * Preference for earlier energy among equal-cost schedules, €/kWh over the whole horizon. The plan
 * knows only the cars plugged in now: energy delivered now cannot be taken by a car that arrives
 * later, energy deferred for no price reason can. It must outweigh the flattening tie-break below
 * (else the plan spreads every car over its whole stay and the next arrivals find the site full:
 * public hub at 120 A, 98.3 % delivered at 1e-5, 99.3 % at 3e-4, LP optimum 100 %) and stay far
 * below real price differences (at most 11 × 3e-4 ≈ 0.003 €/kWh for the tightest session).
 */
const EARLY_BIAS_PER_KWH = 3e-4;
/** Tiny weight on the peak even without a demand charge: flatter among equal costs. */
const FLATTEN_PER_KW = 1e-4;
const FAIR_SEGMENTS = 4;

export interface PlanLayout {
  /** Per session, per slot: column index, or −1 outside the session's window. */
  power: Int32Array[];
  /** Per session, per slot: fraction of the slot the car is plugged in. */
  presence: Float64Array[];
  /** Per session: its unmet-energy columns (one, or rising-cost segments). */
  unmet: number[][];
  grid: number[];
  exported: number[];
  overload: number[];
  peak: number;
  charge: number[];
  discharge: number[];
  hours: number;
}

export function buildPlanModel(input: PlanInput): { model: LpModel; layout: PlanLayout } {
  const b = new LpBuilder();
  const T = input.slotCount;
  const h = input.slotMs / 3_600_000;
  const layout: PlanLayout = {
    power: [],
    presence: [],
    unmet: [],
    grid: [],
    exported: [],
    overload: [],
    peak: -1,
    charge: [],
    discharge: [],
    hours: h,
  };

  // Sessions: power columns inside the window, one unmet column.
  const perSlotPower: number[][] = Array.from({ length: T }, () => []);
  for (const s of input.sessions) {
    // Tight sessions (need over half of what fits their window) lean harder towards early slots:
    // fewer last-minute catch-ups. Loose ones share one slope, which keeps the LP easy to solve.
    const windowH = Math.max(0, Math.min(s.departureAtMs, input.startMs + T * input.slotMs) - Math.max(s.arrivalAtMs, input.startMs)) / 3_600_000;
    const fill = windowH > 0 && s.maxPowerW > 0 ? Math.min(1, s.energyNeedWh / (windowH * averageMaxW(s))) : 1;
    const bias = EARLY_BIAS_PER_KWH * (1 + 20 * Math.max(0, fill - 0.5));
    const cols = new Int32Array(T).fill(-1);
    const presence = new Float64Array(T);
    const pmaxKW = Math.max(0, s.maxPowerW) / 1000;
    const energyIdx: number[] = [];
    const energyVal: number[] = [];
    for (let t = 0; t < T; t++) {
      const slotStart = input.startMs + t * input.slotMs;
      const overlap = Math.min(slotStart + input.slotMs, s.departureAtMs) - Math.max(slotStart, s.arrivalAtMs);
      const f = Math.min(1, Math.max(0, overlap / input.slotMs));
      if (f <= 1e-9 || pmaxKW <= 0) continue;
      presence[t] = f;
      // p_it is the slot-average power, so the car's own max scales with its presence.
      const col = b.addCol(bias * h * (t / T), 0, pmaxKW * f);
      cols[t] = col;
      perSlotPower[t].push(col);
      energyIdx.push(col);
      energyVal.push(h);
    }
    const needKWh = Math.max(0, s.energyNeedWh) / 1000;
    const penalty = input.unmetPenaltyPerKWh * Math.max(1, s.priorityWeight);
    // Unmet energy in segments of rising cost when shortfalls should be shared: the LP then
    // shorts everyone by about the same fraction instead of one car entirely.
    const segments = input.fairShortfall ? FAIR_SEGMENTS : 1;
    const us = Array.from({ length: segments }, (_, k) => b.addCol(penalty * (1 + k / segments), 0, needKWh / segments));
    taperRows(b, s, cols, presence, h);
    layout.power.push(cols);
    layout.presence.push(presence);
    layout.unmet.push(us);
    // Equality: never more than asked (negative prices would otherwise "fill" cars past their need).
    for (const u of us) {
      energyIdx.push(u);
      energyVal.push(1);
    }
    b.addRow(needKWh, needKWh, energyIdx, energyVal);
  }

  // Fuses below the connection point: per phase, the currents of the sessions they feed.
  const voltageV = input.voltageV ?? 230;
  const sessionIndex = new Map(input.sessions.map((s, i) => [s.key, i]));
  for (const circuit of input.circuits ?? []) {
    for (let phase = 0; phase < 3; phase++) {
      const onPhase = circuit.loads.filter((l) => (l.phaseMask >> phase) & 1 && sessionIndex.has(l.key));
      if (!onPhase.length) continue;
      for (let t = 0; t < T; t++) {
        const idx: number[] = [];
        const val: number[] = [];
        for (const l of onPhase) {
          const col = layout.power[sessionIndex.get(l.key)!][t];
          if (col < 0) continue;
          idx.push(col);
          val.push(1000 / (voltageV * l.powerWeight)); // kW → A
        }
        if (idx.length) b.addRow(-Infinity, Math.max(0, circuit.maxCurrentA - (circuit.reservedA?.[t] ?? 0)), idx, val);
      }
    }
  }

  // Peak.
  const peakLowerKW = Math.max(0, input.peakSoFarW) / 1000;
  layout.peak = b.addCol(input.demandChargePerKW + FLATTEN_PER_KW, peakLowerKW, Infinity);

  // Battery columns.
  const bat = input.battery;
  for (let t = 0; t < T; t++) {
    const carbonCost = ((input.carbonGPerKWh?.[t] ?? 0) / 1000) * input.carbonPricePerKg;
    const g = b.addCol((input.importPricePerKWh[t] + carbonCost) * h, 0, Infinity);
    const exportCapKW = (input.exportLimitW?.[t] ?? Infinity) / 1000;
    // Import and export are one net flow: when export pays more than import costs (negative
    // prices), credit export at the import price so the LP cannot "buy to sell" at once.
    const exportPrice = Math.min(input.exportPricePerKWh[t], input.importPricePerKWh[t]);
    const x = b.addCol(-exportPrice * h, 0, Math.max(0, exportCapKW));
    const pvKW = Math.max(0, input.pvW[t]) / 1000;
    const c = b.addCol(0, 0, pvKW);
    const s = b.addCol(OVERLOAD_PENALTY_PER_KWH * h, 0, Infinity);
    layout.grid.push(g);
    layout.exported.push(x);
    layout.overload.push(s);
    const idx = [g, x, c, ...perSlotPower[t]];
    const val = [1, -1, -1, ...perSlotPower[t].map(() => -1)];
    if (bat) {
      // A tiny cost on throughput keeps the battery from cycling for nothing.
      const bc = b.addCol(1e-6, 0, bat.maxChargeW / 1000);
      const bd = b.addCol(1e-6, 0, bat.maxDischargeW / 1000);
      layout.charge.push(bc);
      layout.discharge.push(bd);
      idx.push(bc, bd);
      val.push(-1, 1);
    }
    const rhs = (input.baseLoadW[t] - input.pvW[t]) / 1000;
    b.addRow(rhs, rhs, idx, val);
    b.addRow(-Infinity, Math.max(0, input.importLimitW[t]) / 1000, [g, s], [1, -1]);
    b.addRow(0, Infinity, [layout.peak, g], [1, -1]);
  }
  if (bat) {
    const eta = Math.min(1, Math.max(1e-3, bat.efficiency));
    let previous = -1;
    const e0 = bat.energyWh / 1000;
    for (let t = 0; t < T; t++) {
      // A battery outside its SoC window now must not make the plan infeasible.
      const e = b.addCol(0, Math.min(bat.minEnergyWh / 1000, e0), Math.max(bat.maxEnergyWh / 1000, e0));
      const idx = [e, layout.charge[t], layout.discharge[t]];
      const val = [1, -h * eta, h / eta];
      if (previous >= 0) {
        idx.push(previous);
        val.push(-1);
      }
      const rhs = previous >= 0 ? 0 : e0;
      b.addRow(rhs, rhs, idx, val);
      previous = e;
    }
  }
  return { model: b.build(), layout };
}

/**
 * A tapering car's max falls with the energy it takes (k W per Wh): in each slot of its window it
 * takes at most its max now less k times the energy planned before (and half its own in the slot).
 * Planned at its average power instead, the plan counted on power near full the car could not draw
 * and left room unplanned while it could (issue #11). Cumulative energy columns keep this sparse.
 */
function taperRows(b: LpBuilder, s: PlanInput['sessions'][number], cols: Int32Array, presence: Float64Array, h: number): void {
  const k = s.taperWPerWh ?? 0;
  const pmaxKW = Math.max(0, s.maxPowerW) / 1000;
  if (!(k > 0) || !(pmaxKW > 0) || !(s.energyNeedWh > 0)) return;
  let before = -1;
  for (let t = 0; t < cols.length; t++) {
    const col = cols[t];
    if (col < 0) continue;
    const f = presence[t];
    const idx = [col];
    const val = [1 + (f * k * h) / 2];
    if (before >= 0) {
      idx.push(before);
      val.push(f * k);
    }
    b.addRow(-Infinity, f * pmaxKW, idx, val);
    // Energy planned before the next slot of the window.
    const next = b.addCol(0, 0, Infinity);
    b.addRow(0, 0, before >= 0 ? [next, before, col] : [next, col], before >= 0 ? [1, -1, -h] : [1, -h]);
    before = next;
  }
}

/** Per slot, the most a tapering car can take while there after the energy planned before it, W (as taperRows bounds it). */
export function taperSlotMaxW(s: PlanInput['sessions'][number], powerW: readonly number[], presence: ArrayLike<number>, h: number): number[] | undefined {
  const k = s.taperWPerWh ?? 0;
  if (!(k > 0) || !(s.maxPowerW > 0) || !(s.energyNeedWh > 0)) return undefined;
  let beforeWh = 0;
  return powerW.map((p, t) => {
    const f = presence[t];
    const maxW = f > 0 ? Math.max(0, s.maxPowerW - k * beforeWh) / (1 + (f * k * h) / 2) : 0;
    beforeWh += p * h;
    return maxW;
  });
}

/** A car's average max over its need, W: its max now, or with a linear taper ln(P0 / (P0 − k·E)) / k hours for E. */
function averageMaxW(s: PlanInput['sessions'][number]): number {
  const k = s.taperWPerWh ?? 0;
  const endW = s.maxPowerW - k * s.energyNeedWh;
  if (!(k > 0) || !(s.energyNeedWh > 0) || !(endW > 0)) return s.maxPowerW;
  return (s.energyNeedWh * k) / Math.log(s.maxPowerW / endW);
}
