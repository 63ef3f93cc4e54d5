// What the cars could draw at most right now, given the true building load: progressive filling
// (raise every car's pilot together, freeze those whose limit binds) under every node of the fuse
// tree per phase (less the safety margin) and an import limit. The benchmark "headroom use"
// compares to. The filling is of pilots, not draws: a car draws nothing under a pilot below 6 A
// (IEC 61851), so one that wants less (tapering near full, a lazy car) still needs a 6 A pilot,
// and the caps the EMS installs must fit the limits on their own (DESIGN.md guarantees 1 and 9):
// such a car takes 6 A of the room and draws what it wants.
import { PILOT_MIN_A, ROTATIONS, type PlantScenario, type PlantTruth } from '../../plant/index.ts';

interface Load {
  /** What the car draws at most, A (its want, under the charger's max). */
  wantA: number;
  /** The pilot that lets it draw that: at least the 6 A minimum, A. */
  pilotA: number;
  sitePhases: number[];
  /** Constraint indexes this car loads (one per node and phase, plus the import limit), with the A it adds per A of level. */
  constraints: number[];
  weights: number[];
  wholeAmps: boolean;
  levelA: number;
  frozen: boolean;
}

/** Σ over cars of (A per phase × phases) the site could give them now, and the per-connector shares. */
export function idealEvA(scenario: PlantScenario, truth: PlantTruth, safetyMargin: number, importLimitW?: number): { totalA: number; shareA: Map<string, number> } {
  const keep = 1 - safetyMargin;
  const nodeOf = new Map<string, string[]>();
  const slack: number[] = [];
  const constraintIndex = new Map<string, number>();
  const visit = (node: PlantScenario['circuit'], path: string[]) => {
    const here = [...path, node.id];
    for (const id of node.chargerIds) nodeOf.set(id, here);
    const building = truth.buildingA.get(node.id) ?? [0, 0, 0];
    for (let p = 0; p < 3; p++) {
      constraintIndex.set(`${node.id}/${p}`, slack.length);
      slack.push(node.maxCurrentA * keep - building[p]!);
    }
    node.children.forEach((child) => visit(child, here));
  };
  visit(scenario.circuit, []);
  let importIndex: number | undefined;
  if (importLimitW !== undefined) {
    const root = truth.buildingA.get(scenario.circuit.id) ?? [0, 0, 0];
    importIndex = slack.length;
    slack.push((importLimitW * keep) / scenario.voltageV - (root[0] + root[1] + root[2]));
  }
  const chargers = new Map(scenario.chargers.map((c) => [c.id, c]));
  const loads: Load[] = [];
  const keys: string[] = [];
  for (const c of truth.connectors) {
    if (c.wantA <= 0 || c.transactionId === undefined) continue;
    const charger = chargers.get(c.chargerId);
    if (!charger || charger.profiles !== 'obeys') continue;
    const rotation = ROTATIONS[charger.phaseRotation];
    const sitePhases = Array.from({ length: c.carPhases }, (_, t) => rotation[t]!);
    const path = nodeOf.get(c.chargerId) ?? [scenario.circuit.id];
    const constraints = path.flatMap((node) => sitePhases.map((p) => constraintIndex.get(`${node}/${p}`)!));
    const weights = constraints.map(() => 1);
    if (importIndex !== undefined) {
      constraints.push(importIndex);
      weights.push(sitePhases.length);
    }
    const wholeAmps = scenario.cars.find((car) => car.id === c.carId)?.wholeAmps ?? false;
    const wantA = Math.min(c.wantA, charger.maxCurrentA);
    loads.push({ wantA, pilotA: Math.min(charger.maxCurrentA, Math.max(PILOT_MIN_A, wantA)), sitePhases, constraints, weights, wholeAmps, levelA: 0, frozen: false });
    keys.push(`${c.chargerId}/${c.connectorId}`);
  }
  // Chargers that do not obey draw what they draw: take it off the slack first.
  for (const c of truth.connectors) {
    const charger = chargers.get(c.chargerId);
    if (!charger || charger.profiles === 'obeys' || c.drawA <= 0) continue;
    const rotation = ROTATIONS[charger.phaseRotation];
    const path = nodeOf.get(c.chargerId) ?? [scenario.circuit.id];
    for (const node of path) for (let t = 0; t < c.carPhases; t++) slack[constraintIndex.get(`${node}/${rotation[t]}`)!] -= c.drawA;
    if (importIndex !== undefined) slack[importIndex] -= c.drawA * c.carPhases;
  }
  for (let guard = 0; guard < loads.length + 2; guard++) {
    const active = loads.filter((l) => !l.frozen);
    if (active.length === 0) break;
    const users = slack.map(() => 0);
    for (const l of active) l.constraints.forEach((k, i) => (users[k]! += l.weights[i]!));
    let delta = Math.min(...active.map((l) => l.pilotA - l.levelA));
    users.forEach((n, k) => {
      if (n > 0) delta = Math.min(delta, Math.max(0, slack[k]!) / n);
    });
    for (const l of active) {
      l.levelA += delta;
      l.constraints.forEach((k, i) => (slack[k]! -= delta * l.weights[i]!));
    }
    for (const l of active) if (l.levelA >= l.pilotA - 1e-9 || l.constraints.some((k) => slack[k]! <= 1e-9)) l.frozen = true;
  }
  const shareA = new Map<string, number>();
  let totalA = 0;
  loads.forEach((l, i) => {
    // A pilot below 6 A gives nothing (a car squeezed under it gets nothing); a car may round its
    // pilot down to whole amps and draws no more than it wants.
    const rounded = l.wholeAmps ? Math.floor(l.levelA + 1e-9) : l.levelA;
    const level = l.levelA < PILOT_MIN_A - 1e-9 ? 0 : Math.min(rounded, l.wantA);
    shareA.set(keys[i]!, level);
    totalA += level * l.sitePhases.length;
  });
  return { totalA, shareA };
}
