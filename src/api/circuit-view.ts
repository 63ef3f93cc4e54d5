import type { Config } from '../../config/schema.ts';
import type { SiteState } from '../state/site-state.ts';

type Triple = [number, number, number];
const zero = (): Triple => [0, 0, 0];
const add = (a: Triple, b: readonly number[]): Triple => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const round = (t: Triple): Triple => t.map((v) => Math.round(v * 10) / 10) as Triple;

/** Charger phase i lands on site phase SITE_INDEX(rotation)[i]. */
function toSitePhases(rotation: string, chargerPhasesA: readonly number[]): Triple {
  const site = zero();
  for (let i = 0; i < 3; i++) site[Number(rotation[2 * i + 1]) - 1] += chargerPhasesA[i] ?? 0;
  return site;
}

export interface CircuitView {
  id: string;
  maxCurrentA: number;
  /** After the safety margin. */
  limitA: number;
  /** Per site phase: the submeter when there is one, else what is below (child submeters, else EV draw). */
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
  const capOf = new Map<string, Triple>();
  for (const cap of state.lastDecision?.caps ?? []) {
    const charger = chargerById.get(cap.chargerId);
    if (!charger) continue;
    const per: Triple = cap.phases === 1 ? [cap.currentA, 0, 0] : [cap.currentA, cap.currentA, cap.currentA];
    capOf.set(cap.chargerId, add(capOf.get(cap.chargerId) ?? zero(), toSitePhases(charger.phaseRotation, per)));
  }
  const drawByCharger = new Map<string, Triple>();
  for (const c of state.connectors.values()) {
    const rotation = chargerById.get(c.chargerId)?.phaseRotation ?? 'L1L2L3';
    drawByCharger.set(c.chargerId, add(drawByCharger.get(c.chargerId) ?? zero(), toSitePhases(rotation, c.drawA)));
  }
  const drawOf = (chargerId: string): Triple => drawByCharger.get(chargerId) ?? zero();
  const margin = 1 - config.grid.safetyMargin;
  // PV and batteries sit behind the grid meter: there it may well read less than the chargers draw.
  const generation = config.devices.some((d) => d.role === 'pv' || d.role === 'battery');
  const reconcileNode = (id: string, measuredA: Triple, belowA: Triple): Reconciliation => {
    const r = reconcile(measuredA, belowA);
    return id === 'site' && generation && r.mismatch ? { ...r, mismatch: false, text: 'PV and battery are behind the grid meter: it may read less than the chargers draw' } : r;
  };

  const visit = (node: { id: string; maxCurrent: number; chargers?: string[]; meter?: string; children?: Config['circuits'] }): CircuitView => {
    const children = (node.children ?? []).map(visit);
    let evLoadA = zero();
    let capA = zero();
    for (const id of node.chargers ?? []) {
      evLoadA = add(evLoadA, drawOf(id));
      capA = add(capA, capOf.get(id) ?? zero());
    }
    for (const child of children) {
      evLoadA = add(evLoadA, child.evLoadA);
      capA = add(capA, child.capA);
    }
    const meterReading = node.meter ? state.devices.get(node.meter)?.reading : undefined;
    const measured = meterReading?.currentA !== undefined;
    let belowA = zero();
    for (const id of node.chargers ?? []) belowA = add(belowA, drawOf(id));
    for (const child of children) belowA = add(belowA, child.loadA);
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
