import type { CircuitConfig, Config } from '../../config/schema.ts';
import { floorToTenth } from './rounding.ts';
import { LINE_PAIRS, powerWeightOf } from '../../optimizer/phase-map.ts';

export type StaticShareInput = Pick<Config, 'site' | 'grid' | 'circuits' | 'chargers'>;

interface ConnectorLoad {
  chargerId: string;
  maxA: number;
  /** Site phases (0..2) this connector loads at full current. */
  sitePhases: number[];
  phases: 1 | 3;
  /** Power per amp in units of site.voltage: phases, or √3 line-to-line. */
  powerWeight: number;
}

interface CurrentLimit {
  chargerIds: ReadonlySet<string>;
  limitA: number;
}

/** Site phase index (0..2) of a charger's phase index under a rotation such as 'L2L3L1'. */
export function sitePhaseOf(rotation: string, chargerPhase: number): number {
  return Number(rotation[chargerPhase * 2 + 1]) - 1;
}

function chargersUnder(node: CircuitConfig): string[] {
  return [...(node.chargers ?? []), ...(node.children ?? []).flatMap(chargersUnder)];
}

function allNodes(nodes: readonly CircuitConfig[]): CircuitConfig[] {
  return nodes.flatMap((node) => [node, ...allNodes(node.children ?? [])]);
}

/**
 * Each charger's static safe share of the site, A per phase per connector: the most every
 * connector of every charger may draw at the same time, all at once, without any node of the fuse
 * tree, the grid fuse or the grid power cap going over its limit less the safety margin. Shares are
 * filled max-min fair (a charger behind a tight sub-circuit or with a lower max leaves the rest to
 * the others), rounded down to 0.1 A,
 * and 0 when below the charger's min current. This is the failsafe floor installed at boot: it
 * holds even if the EMS dies, because it assumes nothing about who is charging.
 * Non-EV load is not known here; the safety margin is what covers it.
 */
export function staticShares(input: StaticShareInput, uncontrollable: ReadonlySet<string> = uncontrollableByConfig(input)): Map<string, number> {
  const margin = 1 - input.grid.safetyMargin;
  const connectors: ConnectorLoad[] = input.chargers.flatMap((charger) => {
    // A line-to-line charger counts in full on both its lines (a safe bound of the phasor sum).
    const lineToLine = charger.phases === 1 && charger.connection ? LINE_PAIRS[charger.connection] : undefined;
    const sitePhases = charger.phases === 3 ? [0, 1, 2] : lineToLine ? [...lineToLine] : [sitePhaseOf(charger.phaseRotation, 0)];
    const powerWeight = powerWeightOf(charger);
    return Array.from({ length: charger.connectors }, () => ({ chargerId: charger.id, maxA: charger.maxCurrent, sitePhases, phases: charger.phases, powerWeight }));
  });
  const everyone = new Set(input.chargers.map((c) => c.id));
  const limits: CurrentLimit[] = [
    { chargerIds: everyone, limitA: input.grid.maxCurrent * margin },
    ...allNodes(input.circuits).map((node) => ({ chargerIds: new Set(chargersUnder(node)), limitA: node.maxCurrent * margin })),
  ];
  const maxPowerW = input.grid.maxPower === undefined ? undefined : input.grid.maxPower * margin;
  const voltageV = input.site.voltage;

  // Progressive filling: raise every connector together; when a limit binds, the connectors under
  // it keep their level and the others go on rising. Max-min fair, and every limit holds.
  const levelOf = new Map<ConnectorLoad, number>();
  const drawOf = (c: ConnectorLoad, levelA: number) => Math.min(levelOf.get(c) ?? levelA, c.maxA);
  type Binding = { chargerIds: ReadonlySet<string> | 'all'; phases: readonly number[] };
  const violated = (levelA: number): Binding[] => {
    const found: Binding[] = [];
    for (const limit of limits) {
      const perPhase = [0, 0, 0];
      for (const c of connectors) {
        if (!limit.chargerIds.has(c.chargerId)) continue;
        for (const phase of c.sitePhases) perPhase[phase] += drawOf(c, levelA);
      }
      const over = [0, 1, 2].filter((phase) => perPhase[phase] > limit.limitA);
      if (over.length) found.push({ chargerIds: limit.chargerIds, phases: over });
    }
    if (maxPowerW !== undefined) {
      const powerW = connectors.reduce((sum, c) => sum + drawOf(c, levelA) * voltageV * c.powerWeight, 0);
      if (powerW > maxPowerW) found.push({ chargerIds: 'all', phases: [0, 1, 2] });
    }
    return found;
  };
  // Chargers that cannot be capped draw their max whatever happens: they are placed first.
  for (const c of connectors) if (uncontrollable.has(c.chargerId)) levelOf.set(c, c.maxA);
  let rising = connectors.filter((c) => c.maxA > 0 && !levelOf.has(c));
  while (rising.length > 0) {
    const topA = Math.max(...rising.map((c) => c.maxA));
    let levelA = topA;
    if (violated(topA).length > 0) {
      let low = 0;
      let high = topA;
      for (let i = 0; i < 60; i++) {
        const mid = (low + high) / 2;
        if (violated(mid).length === 0) low = mid;
        else high = mid;
      }
      levelA = low;
    }
    const binding = violated(levelA + 1e-6);
    const bound = (c: ConnectorLoad, b: Binding) =>
      (b.chargerIds === 'all' || b.chargerIds.has(c.chargerId)) && c.sitePhases.some((phase) => b.phases.includes(phase));
    const frozen = rising.filter((c) => c.maxA <= levelA || binding.some((b) => bound(c, b)));
    for (const c of frozen) levelOf.set(c, Math.min(levelA, c.maxA));
    // Nothing binds any more (all at their max): done. Guard against a stuck loop all the same.
    if (frozen.length === 0) {
      for (const c of rising) levelOf.set(c, Math.min(levelA, c.maxA));
      break;
    }
    rising = rising.filter((c) => !levelOf.has(c));
  }

  const shares = new Map<string, number>();
  for (const charger of input.chargers) {
    if (uncontrollable.has(charger.id)) {
      shares.set(charger.id, 0);
      continue;
    }
    const levels = connectors.filter((c) => c.chargerId === charger.id).map((c) => levelOf.get(c) ?? 0);
    const shareA = floorToTenth(Math.min(charger.maxCurrent, ...levels));
    shares.set(charger.id, shareA < charger.minCurrent ? 0 : shareA);
  }
  return shares;
}

/** The ChargePointMaxProfile limit for connector 0: the per-connector share for all connectors. */
export function chargerShareA(perConnectorA: number, connectorCount: number): number {
  return floorToTenth(perConnectorA * connectorCount);
}

/** Chargers the config says cannot be capped (chargers[].smartCharging: false). */
export function uncontrollableByConfig(input: Pick<Config, 'chargers'>): Set<string> {
  return new Set(input.chargers.filter((c) => c.smartCharging === false).map((c) => c.id));
}

export interface Overload {
  /** 'grid' or the circuit id. */
  limit: string;
  limitA: number;
  /** What the uncontrollable chargers under it draw at their max, A on the worst site phase. */
  drawA: number;
}

/**
 * The limits (grid fuse, circuits, less the safety margin) that the uncontrollable chargers alone
 * exceed at their max: nothing the EMS does can keep those within their limit.
 */
export function uncontrollableOverloads(input: StaticShareInput, uncontrollable: ReadonlySet<string>): Overload[] {
  const margin = 1 - input.grid.safetyMargin;
  const drawOn = (ids: ReadonlySet<string>) => {
    const perPhase = [0, 0, 0];
    for (const charger of input.chargers) {
      if (!ids.has(charger.id) || !uncontrollable.has(charger.id)) continue;
      const phases = charger.phases === 3 ? [0, 1, 2] : [sitePhaseOf(charger.phaseRotation, 0)];
      for (const phase of phases) perPhase[phase] += charger.maxCurrent * charger.connectors;
    }
    return Math.max(...perPhase);
  };
  const overloads: Overload[] = [];
  const everyone = new Set(input.chargers.map((c) => c.id));
  const gridDrawA = drawOn(everyone);
  if (gridDrawA > input.grid.maxCurrent * margin) overloads.push({ limit: 'grid', limitA: input.grid.maxCurrent * margin, drawA: gridDrawA });
  for (const node of allNodes(input.circuits)) {
    const drawA = drawOn(new Set(chargersUnder(node)));
    if (drawA > node.maxCurrent * margin) overloads.push({ limit: node.id, limitA: node.maxCurrent * margin, drawA });
  }
  return overloads;
}
