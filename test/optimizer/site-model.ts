// An independent model of a site's loads, written apart from optimizer/ so tests check decide()
// against the spec rather than against itself: which site phases a connector loads, the non-EV
// load at each node, and how much each (node, phase) and the grid power carry under given caps.
import type { CircuitNode, ConnectorCap, ConnectorSnapshot, DecideParams, SiteSnapshot } from '../../optimizer/types.ts';
import { charger, circuit, params } from './scenario.ts';

export const ROTATION_TO_SITE: Record<string, number[]> = {
  L1L2L3: [0, 1, 2],
  L2L3L1: [1, 2, 0],
  L3L1L2: [2, 0, 1],
  L1L3L2: [0, 2, 1],
  L2L1L3: [1, 0, 2],
  L3L2L1: [2, 1, 0],
};

export interface FlatNode {
  id: string;
  limitA: number;
  /** Ids of this node and all its ancestors up to the root circuit. */
  ancestors: string[];
  children: string[];
}

export function flatten(root: CircuitNode): Map<string, FlatNode> {
  const out = new Map<string, FlatNode>();
  const walk = (node: CircuitNode, ancestors: string[]): void => {
    const chain = [node.id, ...ancestors];
    out.set(node.id, { id: node.id, limitA: node.maxCurrentA, ancestors: chain, children: node.children.map((c) => c.id) });
    for (const child of node.children) walk(child, chain);
  };
  walk(root, []);
  return out;
}

const clean = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);

/** Site phases (0..2) a connector's current lands on. */
export function sitePhases(connector: ConnectorSnapshot, params: DecideParams): number[] {
  const charger = params.chargers.find((c) => c.id === connector.chargerId)!;
  const rot = ROTATION_TO_SITE[charger.phaseRotation];
  if (charger.phases === 1) return [rot[0]];
  if (!connector.session) return [0, 1, 2];
  const draw = connector.drawA.map(clean);
  for (let p = 0; p < 3; p++) {
    if (draw[p] > 1 && draw.every((a, q) => q === p || a < 0.5)) return [rot[p]];
  }
  if (connector.session.carPhases === 1) return [rot[0]];
  return [0, 1, 2];
}

function freshDraw(connector: ConnectorSnapshot, snapshot: SiteSnapshot, params: DecideParams): number[] {
  const fresh = connector.drawAtMs !== undefined && snapshot.atMs - connector.drawAtMs <= params.staleAfterMs;
  const site = [0, 0, 0];
  if (!fresh) return site;
  const charger = params.chargers.find((c) => c.id === connector.chargerId)!;
  const rot = ROTATION_TO_SITE[charger.phaseRotation];
  // A reported draw counts at most at what the charger could draw (its max, or its reservation):
  // the estimator keeps any excess in the building load (optimizer/site-view.ts).
  const mostA = Math.max(charger.maxCurrentA, clean(connector.reservedA ?? 0));
  connector.drawA.forEach((a, p) => (site[rot[p]] += Math.min(clean(a), mostA)));
  return site;
}

export interface Loads {
  /** Non-EV load per node id, per site phase, A. */
  building: Map<string, number[]>;
  buildingPowerW: number;
}

/** Non-EV loads as the spec defines them (measured = the grid meter and submeters are trusted). */
export function nonEvLoads(snapshot: SiteSnapshot, params: DecideParams, measured: boolean): Loads {
  const nodes = flatten(params.circuit);
  const chargerNode = new Map(params.chargers.map((c) => [c.id, c.circuitId]));
  const evUnder = new Map<string, number[]>([...nodes.keys()].map((id) => [id, [0, 0, 0]]));
  const evTotal = [0, 0, 0];
  for (const connector of snapshot.connectors) {
    const draw = freshDraw(connector, snapshot, params);
    for (const id of nodes.get(chargerNode.get(connector.chargerId)!)!.ancestors) draw.forEach((a, p) => (evUnder.get(id)![p] += a));
    draw.forEach((a, p) => (evTotal[p] += a));
  }
  const building = new Map<string, number[]>();
  const own = new Map<string, number[]>();
  if (measured) {
    for (const load of snapshot.circuitLoads) {
      if (!nodes.has(load.circuitId)) continue;
      const before = own.get(load.circuitId) ?? [0, 0, 0];
      own.set(load.circuitId, load.currentA.map((a, p) => Math.max(before[p], a - evUnder.get(load.circuitId)![p], 0)));
    }
  }
  const compute = (id: string): number[] => {
    const node = nodes.get(id)!;
    const sum = [0, 0, 0];
    for (const child of node.children) compute(child).forEach((a, p) => (sum[p] += a));
    const mine = own.get(id) ?? [0, 0, 0];
    const value = sum.map((a, p) => Math.max(a, mine[p]));
    building.set(id, value);
    return value;
  };
  const rootValue = compute(params.circuit.id);
  let buildingPowerW = 0;
  if (measured && params.grid.metered && snapshot.grid) {
    const grid = snapshot.grid.currentA.map((a, p) => Math.max(0, a - evTotal[p]));
    building.set(params.circuit.id, rootValue.map((a, p) => Math.max(a, grid[p])));
    buildingPowerW = Math.max(0, snapshot.grid.powerW - (evTotal[0] + evTotal[1] + evTotal[2]) * params.voltageV);
  }
  building.set('@grid', building.get(params.circuit.id)!);
  return { building, buildingPowerW };
}

export interface Violation {
  where: string;
  extraA: number;
  freeA: number;
}

/**
 * Site phases a car was last measured on this session (fresh sample: one phase > 1 A and the
 * others < 0.5 A, or all three > 1 A on a three-phase charger), or undefined when no fresh sample
 * showed it. DESIGN: a car does not change its phase count within a session (optimizer/slot.ts
 * usedPhases), so while it draws nothing its phases stay those it was measured on.
 */
export function measuredPhases(connector: ConnectorSnapshot, snapshot: SiteSnapshot, params: DecideParams): number[] | undefined {
  const charger = params.chargers.find((c) => c.id === connector.chargerId)!;
  if (!connector.session || connector.drawAtMs === undefined) return undefined;
  if (snapshot.atMs - connector.drawAtMs > (params.drawStaleAfterMs ?? params.staleAfterMs)) return undefined;
  const rot = ROTATION_TO_SITE[charger.phaseRotation];
  const draw = connector.drawA.map(clean);
  for (let p = 0; p < 3; p++) if (draw[p] > 1 && draw.every((a, q) => q === p || a < 0.5)) return [rot[p]];
  if (charger.phases === 3 && draw.every((a) => a > 1)) return [0, 1, 2];
  return undefined;
}

/** sitePhases(), but a car measured earlier this session keeps those phases while its sample says nothing. */
export function phasesWithMemory(connector: ConnectorSnapshot, params: DecideParams, learned: number[] | undefined): number[] {
  const charger = params.chargers.find((c) => c.id === connector.chargerId)!;
  const now = sitePhases(connector, params);
  if (charger.phases === 1 || now.length === 1 || !learned) return now;
  return learned;
}

/**
 * Every (node, phase), the grid per phase and the grid power: what caps add beyond reservations
 * must fit in what the limit (less margin) leaves after the non-EV load and reservations.
 */
export function violations(
  snapshot: SiteSnapshot,
  params: DecideParams,
  caps: readonly ConnectorCap[],
  measured: boolean,
  phasesOf: (connector: ConnectorSnapshot) => number[] = (c) => sitePhases(c, params),
): Violation[] {
  const nodes = flatten(params.circuit);
  const loads = nonEvLoads(snapshot, params, measured);
  const margin = params.grid.safetyMargin;
  const chargerNode = new Map(params.chargers.map((c) => [c.id, c.circuitId]));
  const capOf = new Map(caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
  const extra = new Map<string, number>();
  const reserved = new Map<string, number>();
  let extraPower = 0;
  let reservedPower = 0;
  for (const connector of snapshot.connectors) {
    const cap = capOf.get(`${connector.chargerId}/${connector.connectorId}`) ?? 0;
    const r = clean(connector.reservedA ?? 0);
    const phases = phasesOf(connector);
    const chain = [...nodes.get(chargerNode.get(connector.chargerId)!)!.ancestors, '@grid'];
    for (const id of chain)
      for (const p of phases) {
        extra.set(`${id}:${p}`, (extra.get(`${id}:${p}`) ?? 0) + Math.max(0, cap - r));
        reserved.set(`${id}:${p}`, (reserved.get(`${id}:${p}`) ?? 0) + r);
      }
    extraPower += Math.max(0, cap - r) * phases.length * params.voltageV;
    reservedPower += r * phases.length * params.voltageV;
  }
  const out: Violation[] = [];
  const limits = new Map<string, number>([...nodes.values()].map((n) => [n.id, n.limitA]));
  limits.set('@grid', params.grid.maxCurrentA);
  for (const [id, limitA] of limits) {
    for (let p = 0; p < 3; p++) {
      const free = Math.max(0, limitA * (1 - margin) - loads.building.get(id)![p] - (reserved.get(`${id}:${p}`) ?? 0));
      const used = extra.get(`${id}:${p}`) ?? 0;
      if (used > free + 1e-6) out.push({ where: `${id} L${p + 1}`, extraA: used, freeA: free });
    }
  }
  const limitW = [params.grid.maxImportPowerW, snapshot.signals.importLimitW].filter((v): v is number => v !== undefined);
  if (limitW.length > 0) {
    const free = Math.max(0, Math.min(...limitW) * (1 - margin) - loads.buildingPowerW - reservedPower);
    if (extraPower > free + 1e-3) out.push({ where: 'grid power', extraA: extraPower / params.voltageV, freeA: free / params.voltageV });
  }
  return out;
}

/** Smallest free current on any constraint this connector loads, A (power converted per phase). */
export function freeOnPath(snapshot: SiteSnapshot, params: DecideParams, caps: readonly ConnectorCap[], connector: ConnectorSnapshot, measured: boolean): number {
  const nodes = flatten(params.circuit);
  const loads = nonEvLoads(snapshot, params, measured);
  const margin = params.grid.safetyMargin;
  const chargerNode = new Map(params.chargers.map((c) => [c.id, c.circuitId]));
  const capOf = new Map(caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
  const usedAt = (id: string, p: number): number => {
    let sum = 0;
    for (const other of snapshot.connectors) {
      const chain = [...nodes.get(chargerNode.get(other.chargerId)!)!.ancestors, '@grid'];
      if (!chain.includes(id) || !sitePhases(other, params).includes(p)) continue;
      sum += Math.max(capOf.get(`${other.chargerId}/${other.connectorId}`) ?? 0, clean(other.reservedA ?? 0));
    }
    return sum;
  };
  const chain = [...nodes.get(chargerNode.get(connector.chargerId)!)!.ancestors, '@grid'];
  const phases = sitePhases(connector, params);
  let least = Number.POSITIVE_INFINITY;
  for (const id of chain) {
    const limitA = id === '@grid' ? params.grid.maxCurrentA : nodes.get(id)!.limitA;
    for (const p of phases) least = Math.min(least, limitA * (1 - margin) - loads.building.get(id)![p] - usedAt(id, p));
  }
  const limitW = [params.grid.maxImportPowerW, snapshot.signals.importLimitW].filter((v): v is number => v !== undefined);
  if (limitW.length > 0) {
    let usedW = loads.buildingPowerW;
    for (const other of snapshot.connectors) {
      const a = Math.max(capOf.get(`${other.chargerId}/${other.connectorId}`) ?? 0, clean(other.reservedA ?? 0));
      usedW += a * sitePhases(other, params).length * params.voltageV;
    }
    least = Math.min(least, (Math.min(...limitW) * (1 - margin) - usedW) / params.voltageV / phases.length);
  }
  return least;
}

/** Free current at one node (or '@grid') and site phase under the given caps, A. */
export function freeAt(snapshot: SiteSnapshot, params: DecideParams, caps: readonly ConnectorCap[], id: string, phase: number, measured: boolean): number {
  const nodes = flatten(params.circuit);
  const loads = nonEvLoads(snapshot, params, measured);
  const chargerNode = new Map(params.chargers.map((c) => [c.id, c.circuitId]));
  const capOf = new Map(caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
  const limitA = id === '@grid' ? params.grid.maxCurrentA : nodes.get(id)!.limitA;
  let used = 0;
  for (const c of snapshot.connectors) {
    const chain = [...nodes.get(chargerNode.get(c.chargerId)!)!.ancestors, '@grid'];
    if (!chain.includes(id) || !sitePhases(c, params).includes(phase)) continue;
    used += Math.max(capOf.get(`${c.chargerId}/${c.connectorId}`) ?? 0, clean(c.reservedA ?? 0));
  }
  return limitA * (1 - params.grid.safetyMargin) - loads.building.get(id)![phase] - used;
}

/** Free import power under the given caps, W (Infinity without a limit). */
export function freePowerW(snapshot: SiteSnapshot, params: DecideParams, caps: readonly ConnectorCap[], measured: boolean): number {
  const limits = [params.grid.maxImportPowerW, snapshot.signals.importLimitW].filter((v): v is number => v !== undefined);
  if (limits.length === 0) return Number.POSITIVE_INFINITY;
  const capOf = new Map(caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
  let usedW = nonEvLoads(snapshot, params, measured).buildingPowerW;
  for (const c of snapshot.connectors) {
    const a = Math.max(capOf.get(`${c.chargerId}/${c.connectorId}`) ?? 0, clean(c.reservedA ?? 0));
    usedW += a * sitePhases(c, params).length * params.voltageV;
  }
  return Math.min(...limits) * (1 - params.grid.safetyMargin) - usedW;
}

/**
 * `next` with meters that see its cars: each meter reads the non-EV load `first`'s meters showed
 * beyond its draws, plus the draws in `next` under it. A property that changes what cars draw must
 * move the meters with them, as a real site does (a grid reading below the cars' draw is one the
 * estimator distrusts).
 */
export function withMetersSeeingCars(first: SiteSnapshot, next: SiteSnapshot, params: DecideParams): SiteSnapshot {
  const { building, buildingPowerW } = nonEvLoads(first, params, true);
  const nodes = flatten(params.circuit);
  const chargerNode = new Map(params.chargers.map((c) => [c.id, c.circuitId]));
  const evUnder = new Map<string, number[]>([...nodes.keys()].map((id) => [id, [0, 0, 0]]));
  const evTotal = [0, 0, 0];
  for (const connector of next.connectors) {
    const draw = freshDraw(connector, next, params);
    for (const id of nodes.get(chargerNode.get(connector.chargerId)!)!.ancestors) draw.forEach((a, p) => (evUnder.get(id)![p] += a));
    draw.forEach((a, p) => (evTotal[p] += a));
  }
  const sum = (a: readonly number[], b: readonly number[]) => [a[0]! + b[0]!, a[1]! + b[1]!, a[2]! + b[2]!] as [number, number, number];
  // Submeters generated beyond their circuits' fuses can add up to more than the grid fuse could
  // ever carry. The non-EV load the grid meter sees is held to 1.5× the fuse (per phase, and in
  // power): with the cars, which decide() keeps within the fuse, it reads at most the 2.5× arbSite()
  // allows a reading, and that load stays the same whatever the cars draw.
  const buildingMostA = 1.5 * params.grid.maxCurrentA;
  const gridBuildingA = building.get('@grid')!.map((a) => Math.min(a, buildingMostA));
  const gridBuildingW = Math.min(buildingPowerW, 3 * buildingMostA * params.voltageV);
  return {
    ...next,
    grid: next.grid && { ...next.grid, currentA: sum(gridBuildingA, evTotal), powerW: gridBuildingW + (evTotal[0]! + evTotal[1]! + evTotal[2]!) * params.voltageV },
    circuitLoads: next.circuitLoads.map((l) => (nodes.has(l.circuitId) ? { ...l, currentA: sum(building.get(l.circuitId)!, evUnder.get(l.circuitId)!) } : l)),
  };
}

/**
 * The site of the four-charger replays (start-step-replay.ts, pause-lower-limit.test.ts): one
 * metered, gated fuse of `fuseA` with the 5 % margin, the chargers `ids` on it, equal priority, the
 * IEC car response (5 s) and MeterValues taken as fresh for 25 s; `overrides` for the rest (e.g.
 * minPauseMs).
 */
export function replaySiteParams(fuseA: number, ids: string[], overrides: Partial<Omit<DecideParams, 'chargers' | 'circuit'>> = {}): DecideParams {
  return params({
    grid: { maxCurrentA: fuseA, safetyMargin: REPLAY_MARGIN, metered: true, meterGate: true },
    circuit: circuit('main', fuseA, ids),
    chargers: ids.map((id) => charger(id, 'main')),
    priority: 'equal',
    carResponseMs: 5_000,
    drawStaleAfterMs: 25_000,
    ...overrides,
  });
}

/** The replays' safety margin (grid.safetyMargin). */
export const REPLAY_MARGIN = 0.05;
