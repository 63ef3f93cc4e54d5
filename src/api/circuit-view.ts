import type { Config } from '../../config/schema.ts';
import { lineCurrentsA, rotationOf, type LineLoad } from '../../optimizer/phase-map.ts';
import type { SiteState } from '../state/site-state.ts';

type Triple = [number, number, number];
const zero = (): Triple => [0, 0, 0];
const add = (a: Triple, b: readonly number[]): Triple => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const round = (t: readonly number[]): Triple => t.map((v) => Math.round(v * 10) / 10) as Triple;

/**
 * A charger's current per charger phase as loads on the site's lines: a line-to-line charger
 * (connection L1-L2 ...) between its two lines, every other phase on the site phase its rotation
 * wires it to. Summed with lineCurrentsA: exact line currents (phasor sums), which for
 * line-to-neutral loads are the plain per-phase sums.
 */
function lineLoads(charger: Config['chargers'][number], chargerPhasesA: readonly number[]): LineLoad[] {
  if (charger.phases === 1 && charger.connection) return [{ currentA: chargerPhasesA[0] ?? 0, connection: charger.connection }];
  const rotation = rotationOf(charger.phaseRotation);
  return [0, 1, 2].map((i) => ({ currentA: chargerPhasesA[i] ?? 0, phase: rotation[i] }));
}

export interface CircuitView {
  id: string;
  maxCurrentA: number;
  /** After the safety margin. */
  limitA: number;
  /** Per site phase (line): the submeter when there is one, else what is below (child submeters, else EV draw as exact line currents). */
  loadA: Triple;
  evLoadA: Triple;
  capA: Triple;
  measured: boolean;
  /** A node with a submeter: its reading against what is below it. */
  reconciliation: Reconciliation | null;
  chargers: string[];
  children: CircuitView[];
}

export interface Reconciliation {
  /** Child circuits (their submeter, else their EV draw) plus this node's chargers, A per site phase. */
  belowA: Triple;
  /** Measured − below: load not seen separately (building, lights); negative: the meter reads less than what is below it. */
  unmeteredA: Triple;
  /** The submeter reads clearly less than the sum below it: a wrong meter, CT or phase mapping. */
  mismatch: boolean;
  text: string;
}

/** A submeter may read this much below the sum under it (meter and charger accuracy, sample times) before it is a mismatch. */
const MISMATCH_FLOOR_A = 2;
const MISMATCH_SHARE = 0.1;

/** A submeter's reading against the sum below it, per phase. */
export function reconcile(measuredA: Triple, belowA: Triple): Reconciliation {
  const unmeteredA = round([measuredA[0] - belowA[0], measuredA[1] - belowA[1], measuredA[2] - belowA[2]]);
  const short = unmeteredA.map((d, i) => -d - Math.max(MISMATCH_FLOOR_A, MISMATCH_SHARE * belowA[i]));
  const worst = short.indexOf(Math.max(...short));
  const mismatch = short[worst] > 0;
  const text = mismatch
    ? `meter reads ${measuredA[worst].toFixed(1)} A on L${worst + 1}, less than the ${belowA[worst].toFixed(1)} A below it: check the meter, its CTs and the phase mapping`
    : `meter agrees with the load below it; ${Math.max(0, ...unmeteredA).toFixed(1)} A not metered separately`;
  return { belowA: round(belowA), unmeteredA, mismatch, text };
}

/** The fuse tree with its load per phase. The root is the connection point (grid fuse). */
export function circuitViews(state: SiteState, config: Config): CircuitView {
  const chargerById = new Map(config.chargers.map((c) => [c.id, c]));
  const capLoads = new Map<string, LineLoad[]>();
  for (const cap of state.lastDecision?.caps ?? []) {
    const charger = chargerById.get(cap.chargerId);
    if (!charger) continue;
    const per = cap.phases === 1 ? [cap.currentA, 0, 0] : [cap.currentA, cap.currentA, cap.currentA];
    capLoads.set(cap.chargerId, [...(capLoads.get(cap.chargerId) ?? []), ...lineLoads(charger, per)]);
  }
  const drawLoads = new Map<string, LineLoad[]>();
  for (const c of state.connectors.values()) {
    const charger = chargerById.get(c.chargerId);
    if (!charger) continue;
    drawLoads.set(c.chargerId, [...(drawLoads.get(c.chargerId) ?? []), ...lineLoads(charger, c.drawA)]);
  }
  /** The EV loads below each node (by id), for its line currents. */
  const below = new Map<string, { draw: LineLoad[]; cap: LineLoad[] }>();
  const margin = 1 - config.grid.safetyMargin;
  // PV and batteries sit behind the grid meter: there it may well read less than the chargers draw.
  const generation = config.devices.some((d) => d.role === 'pv' || d.role === 'battery');
  const reconcileNode = (id: string, measuredA: Triple, belowA: Triple): Reconciliation => {
    const r = reconcile(measuredA, belowA);
    return id === 'site' && generation && r.mismatch ? { ...r, mismatch: false, text: 'PV and battery are behind the grid meter: it may read less than the chargers draw' } : r;
  };

  const visit = (node: { id: string; maxCurrent: number; chargers?: string[]; meter?: string; children?: Config['circuits'] }): CircuitView => {
    const children = (node.children ?? []).map(visit);
    const ownDraw: LineLoad[] = [];
    const draw: LineLoad[] = [];
    const cap: LineLoad[] = [];
    for (const id of node.chargers ?? []) {
      ownDraw.push(...(drawLoads.get(id) ?? []));
      cap.push(...(capLoads.get(id) ?? []));
    }
    draw.push(...ownDraw);
    for (const child of children) {
      const loads = below.get(child.id);
      if (loads) {
        draw.push(...loads.draw);
        cap.push(...loads.cap);
      }
    }
    below.set(node.id, { draw, cap });
    const evLoadA = lineCurrentsA(draw);
    const capA = lineCurrentsA(cap);
    const meterReading = node.meter ? state.devices.get(node.meter)?.reading : undefined;
    const measured = meterReading?.currentA !== undefined;
    // Without submetered children the exact line currents below; with them, their readings added
    // to this node's own chargers (a magnitude sum: never less than the phasor sum).
    let belowA: Triple = evLoadA;
    if (children.some((c) => c.measured || c.loadA.some((a, p) => a !== c.evLoadA[p]))) {
      belowA = lineCurrentsA(ownDraw);
      for (const child of children) belowA = add(belowA, child.loadA);
    }
    return {
      id: node.id,
      maxCurrentA: node.maxCurrent,
      limitA: Math.round(node.maxCurrent * margin * 10) / 10,
      // Unmetered: what is below it, with the submeters of its children where they have one.
      loadA: round(measured ? [...meterReading!.currentA!] as Triple : belowA),
      evLoadA: round(evLoadA),
      capA: round(capA),
      measured,
      reconciliation: measured ? reconcileNode(node.id, [...meterReading!.currentA!] as Triple, belowA) : null,
      chargers: node.chargers ?? [],
      children,
    };
  };

  const placed = new Set<string>();
  const collect = (nodes: Config['circuits']) => nodes.forEach((n) => (n.chargers?.forEach((c) => placed.add(c)), collect(n.children ?? [])));
  collect(config.circuits);
  const root = visit({
    id: 'site',
    maxCurrent: config.grid.maxCurrent,
    chargers: config.chargers.map((c) => c.id).filter((id) => !placed.has(id)),
    meter: config.grid.meter,
    children: config.circuits,
  });
  return root;
}
