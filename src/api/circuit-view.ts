import type { Config } from '../../config/schema.ts';
import { lineCurrentsA, rotationOf, type LineLoad } from '../../optimizer/phase-map.ts';
import type { SiteState } from '../state/site-state.ts';

type Triple = [number, number, number];
const round = (t: readonly number[]): Triple => t.map((v) => Math.round(v * 10) / 10) as Triple;

/**
 * A charger's current per charger phase as loads on the site's lines: a line-to-line charger
 * (connection L1-L2 ...) between its two lines, every other phase on the site phase its rotation
 * wires it to. Summed per node with lineCurrentsA: exact line currents (phasor sums), which for
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
  /** Per site phase (line): the submeter when there is one, else the EV draw below this node (exact line currents). */
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
  const margin = 1 - config.grid.safetyMargin;

  /** The loads below a node, for its line currents. */
  const below = new Map<string, { draw: LineLoad[]; cap: LineLoad[] }>();
  const visit = (node: { id: string; maxCurrent: number; chargers?: string[]; meter?: string; children?: Config['circuits'] }): CircuitView => {
    const children = (node.children ?? []).map(visit);
    const draw: LineLoad[] = [];
    const cap: LineLoad[] = [];
    for (const id of node.chargers ?? []) {
      draw.push(...(drawLoads.get(id) ?? []));
      cap.push(...(capLoads.get(id) ?? []));
    }
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
