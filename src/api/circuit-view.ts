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
  /** Per site phase: the submeter when there is one, else the sum of EV draw below this node. */
  loadA: Triple;
  evLoadA: Triple;
  capA: Triple;
  measured: boolean;
  chargers: string[];
  children: CircuitView[];
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
    return {
      id: node.id,
      maxCurrentA: node.maxCurrent,
      limitA: Math.round(node.maxCurrent * margin * 10) / 10,
      loadA: round(measured ? [...meterReading!.currentA!] as Triple : evLoadA),
      evLoadA: round(evLoadA),
      capA: round(capA),
      measured,
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
