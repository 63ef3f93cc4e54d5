import type { CircuitConfig, Config } from '../../config/schema.ts';
import { floorToTenth } from './rounding.ts';

export type StaticShareInput = Pick<Config, 'site' | 'grid' | 'circuits' | 'chargers'>;

interface ConnectorLoad {
  chargerId: string;
  maxA: number;
  /** Site phases (0..2) this connector loads at full current. */
  sitePhases: number[];
  phases: 1 | 3;
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
 * filled evenly (a charger with a lower max leaves the rest to the others), rounded down to 0.1 A,
 * and 0 when below the charger's min current. This is the failsafe floor installed at boot: it
 * holds even if the EMS dies, because it assumes nothing about who is charging.
 * Non-EV load is not known here; the safety margin is what covers it.
 */
export function staticShares(input: StaticShareInput): Map<string, number> {
  const margin = 1 - input.grid.safetyMargin;
  const connectors: ConnectorLoad[] = input.chargers.flatMap((charger) => {
    const sitePhases = charger.phases === 3 ? [0, 1, 2] : [sitePhaseOf(charger.phaseRotation, 0)];
    return Array.from({ length: charger.connectors }, () => ({ chargerId: charger.id, maxA: charger.maxCurrent, sitePhases, phases: charger.phases }));
  });
  const everyone = new Set(input.chargers.map((c) => c.id));
  const limits: CurrentLimit[] = [
    { chargerIds: everyone, limitA: input.grid.maxCurrent * margin },
    ...allNodes(input.circuits).map((node) => ({ chargerIds: new Set(chargersUnder(node)), limitA: node.maxCurrent * margin })),
  ];
  const maxPowerW = input.grid.maxPower === undefined ? undefined : input.grid.maxPower * margin;
  const voltageV = input.site.voltage;

  const fits = (levelA: number): boolean => {
    for (const limit of limits) {
      const perPhase = [0, 0, 0];
      for (const c of connectors) {
        if (!limit.chargerIds.has(c.chargerId)) continue;
        for (const phase of c.sitePhases) perPhase[phase] += Math.min(levelA, c.maxA);
      }
      if (perPhase.some((a) => a > limit.limitA)) return false;
    }
    if (maxPowerW !== undefined) {
      const powerW = connectors.reduce((sum, c) => sum + Math.min(levelA, c.maxA) * voltageV * c.phases, 0);
      if (powerW > maxPowerW) return false;
    }
    return true;
  };

  const highestMaxA = Math.max(0, ...connectors.map((c) => c.maxA));
  let levelA = highestMaxA;
  if (!fits(highestMaxA)) {
    let low = 0;
    let high = highestMaxA;
    for (let i = 0; i < 60; i++) {
      const mid = (low + high) / 2;
      if (fits(mid)) low = mid;
      else high = mid;
    }
    levelA = low;
  }

  const shares = new Map<string, number>();
  for (const charger of input.chargers) {
    const shareA = floorToTenth(Math.min(levelA, charger.maxCurrent));
    shares.set(charger.id, shareA < charger.minCurrent ? 0 : shareA);
  }
  return shares;
}

/** The ChargePointMaxProfile limit for connector 0: the per-connector share for all connectors. */
export function chargerShareA(perConnectorA: number, connectorCount: number): number {
  return floorToTenth(perConnectorA * connectorCount);
}
