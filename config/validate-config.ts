// Cross-checks that zod cannot express: ids, references between sections, the shape of the fuse tree.
// Pure; runs on a config that already passed the schema. Lines are attached later by parse-config.ts.
import { joinPath, type ConfigProblem, type PathSegment } from './config-problem.ts';
import type { CircuitConfig, Config } from './schema.ts';
import { didYouMean } from './suggest.ts';

interface CircuitNode {
  circuit: CircuitConfig;
  path: PathSegment[];
  ancestors: CircuitConfig[];
}

class Problems {
  readonly list: ConfigProblem[] = [];
  error(path: PathSegment[], message: string): void {
    this.list.push({ path: joinPath(path), message, severity: 'error' });
  }
  warning(path: PathSegment[], message: string): void {
    this.list.push({ path: joinPath(path), message, severity: 'warning' });
  }
}

function flattenCircuits(circuits: readonly CircuitConfig[]): CircuitNode[] {
  const nodes: CircuitNode[] = [];
  const visit = (list: readonly CircuitConfig[], path: PathSegment[], ancestors: CircuitConfig[]): void => {
    list.forEach((circuit, index) => {
      const here = [...path, index];
      nodes.push({ circuit, path: here, ancestors });
      // A node that repeats an ancestor's id is reported as a cycle below; do not descend into it.
      if (circuit.children && !ancestors.some((a) => a.id === circuit.id)) {
        visit(circuit.children, [...here, 'children'], [...ancestors, circuit]);
      }
    });
  };
  visit(circuits, ['circuits'], []);
  return nodes;
}

/** Reports each repeat of an id, addressed at `section.N.<key>` and naming the first occurrence. */
function checkUniqueIds(problems: Problems, section: string, key: string, ids: readonly string[], what: string, options: { ignoreCase?: boolean } = {}): void {
  const first = new Map<string, number>();
  ids.forEach((id, index) => {
    const normalized = options.ignoreCase ? id.toUpperCase() : id;
    const seen = first.get(normalized);
    if (seen === undefined) first.set(normalized, index);
    else problems.error([section, index, key], `duplicate ${what} "${id}" (first at ${section}.${seen})`);
  });
}

function listNames(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.join(', ');
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function checkCircuits(problems: Problems, config: Config, nodes: readonly CircuitNode[]): void {
  const firstById = new Map<string, CircuitNode>();
  for (const node of nodes) {
    const { circuit, path, ancestors } = node;
    const ancestorIndex = ancestors.findIndex((a) => a.id === circuit.id);
    if (ancestorIndex >= 0) {
      const loop = [...ancestors.slice(ancestorIndex).map((a) => a.id), circuit.id].join(' → ');
      problems.error([...path, 'id'], `circuit id cycle: ${loop}`);
      continue;
    }
    const first = firstById.get(circuit.id);
    if (first) problems.error([...path, 'id'], `duplicate circuit id "${circuit.id}" (first at ${joinPath(first.path)})`);
    else firstById.set(circuit.id, node);

    const parent = ancestors[ancestors.length - 1];
    if (parent && circuit.maxCurrent > parent.maxCurrent) {
      problems.warning([...path, 'maxCurrent'], `${circuit.maxCurrent} A is above its parent circuit "${parent.id}" (${parent.maxCurrent} A); the parent's limit applies`);
    }
    if (!parent && circuit.maxCurrent > config.grid.maxCurrent) {
      problems.warning([...path, 'maxCurrent'], `${circuit.maxCurrent} A is above grid.maxCurrent (${config.grid.maxCurrent} A); the grid limit applies`);
    }
    if (circuit.meter !== undefined) {
      const device = config.devices.find((d) => d.id === circuit.meter);
      if (!device) {
        problems.error([...path, 'meter'], `unknown device "${circuit.meter}"${didYouMean(circuit.meter, config.devices.map((d) => d.id))}`);
      } else if (device.role !== 'load' && device.role !== 'grid-meter') {
        problems.error([...path, 'meter'], `device "${device.id}" has role ${device.role}; a circuit meter must have role load or grid-meter`);
      }
    }
  }
}

function checkChargerPlacement(problems: Problems, config: Config, nodes: readonly CircuitNode[]): void {
  const chargerIds = config.chargers.map((c) => c.id);
  const known = new Set(chargerIds);
  const placedIn = new Map<string, { circuitId: string; path: PathSegment[] }>();
  for (const { circuit, path, ancestors } of nodes) {
    if (ancestors.some((a) => a.id === circuit.id)) continue;
    (circuit.chargers ?? []).forEach((chargerId, index) => {
      const here = [...path, 'chargers', index];
      if (!known.has(chargerId)) {
        problems.error(here, `unknown charger "${chargerId}"${didYouMean(chargerId, chargerIds)}`);
        return;
      }
      const earlier = placedIn.get(chargerId);
      if (earlier) {
        const where = earlier.circuitId === circuit.id ? 'listed twice in this circuit' : `already in circuit "${earlier.circuitId}" (${joinPath(earlier.path)})`;
        problems.error(here, `charger "${chargerId}" is ${where}; a charger belongs to exactly one circuit`);
        return;
      }
      placedIn.set(chargerId, { circuitId: circuit.id, path: here });
    });
  }
  if (nodes.length === 0) return;
  config.chargers.forEach((charger, index) => {
    if (!placedIn.has(charger.id)) {
      problems.error(['chargers', index, 'id'], `charger "${charger.id}" is in no circuit; list it under the chargers of the circuit that feeds it`);
    }
  });
}

/** A charger whose minimum exceeds a limit on its path (after the safety margin) can never charge. */
function checkReachableMinimum(problems: Problems, config: Config, nodes: readonly CircuitNode[]): void {
  const keep = 1 - config.grid.safetyMargin;
  const pathOf = new Map<string, CircuitConfig[]>();
  for (const { circuit, ancestors } of nodes) {
    for (const chargerId of circuit.chargers ?? []) if (!pathOf.has(chargerId)) pathOf.set(chargerId, [...ancestors, circuit]);
  }
  config.chargers.forEach((charger, index) => {
    const limits = [{ name: 'grid.maxCurrent', limitA: config.grid.maxCurrent }, ...(pathOf.get(charger.id) ?? []).map((c) => ({ name: `circuit "${c.id}"`, limitA: c.maxCurrent }))];
    const tightest = limits.reduce((a, b) => (b.limitA < a.limitA ? b : a));
    const usableA = Math.round(tightest.limitA * keep * 100) / 100;
    if (charger.minCurrent > usableA) {
      problems.warning(['chargers', index, 'minCurrent'], `${charger.minCurrent} A is above what ${tightest.name} allows after the safety margin (${usableA} A): this charger can never charge`);
    }
  });
}

/**
 * Chargers without smart charging (smartCharging: false) draw their max whatever the EMS does: warn
 * when they alone could exceed the grid fuse or a circuit (after the safety margin).
 */
function checkUncontrollable(problems: Problems, config: Config, nodes: readonly CircuitNode[]): void {
  const keep = 1 - config.grid.safetyMargin;
  const dumb = config.chargers.filter((c) => c.smartCharging === false);
  if (dumb.length === 0) return;
  const worstPhaseA = (ids: ReadonlySet<string>) => {
    const perPhase = [0, 0, 0];
    for (const c of dumb) {
      if (!ids.has(c.id)) continue;
      const phases = c.phases === 3 ? [0, 1, 2] : [Number(c.phaseRotation[1]) - 1];
      for (const phase of phases) perPhase[phase] += c.maxCurrent * c.connectors;
    }
    return Math.max(...perPhase);
  };
  const under = (circuit: CircuitConfig): string[] => [...(circuit.chargers ?? []), ...(circuit.children ?? []).flatMap(under)];
  const limits: { path: PathSegment[]; name: string; limitA: number; ids: Set<string> }[] = [
    { path: ['grid', 'maxCurrent'], name: 'grid.maxCurrent', limitA: config.grid.maxCurrent, ids: new Set(config.chargers.map((c) => c.id)) },
    ...nodes.map(({ circuit, path }) => ({ path: [...path, 'maxCurrent'], name: `circuit "${circuit.id}"`, limitA: circuit.maxCurrent, ids: new Set(under(circuit)) })),
  ];
  for (const limit of limits) {
    const drawA = worstPhaseA(limit.ids);
    const usableA = Math.round(limit.limitA * keep * 100) / 100;
    if (drawA > usableA) {
      problems.warning(limit.path, `chargers without smart charging (smartCharging: false) alone can draw ${drawA} A, above what ${limit.name} allows after the safety margin (${usableA} A); nothing the EMS does can prevent that`);
    }
  }
}

function checkChargers(problems: Problems, config: Config, tiers: readonly string[]): void {
  const failsafeA = config.control.failsafeCurrent;
  config.chargers.forEach((charger, index) => {
    // Failsafe only happens on a metered site; 0 A means "pause everyone" on purpose.
    if (config.grid.meter !== undefined && failsafeA > 0 && charger.minCurrent > failsafeA && charger.minCurrent <= charger.maxCurrent) {
      problems.warning(['chargers', index, 'minCurrent'], `${charger.minCurrent} A is above control.failsafeCurrent (${failsafeA} A): this charger pauses whenever site data is stale`);
    }
    if (charger.connection !== undefined && charger.phases !== 1) {
      problems.error(['chargers', index, 'connection'], `a line-to-line connection (${charger.connection}) is for a single-phase charger: set phases: 1`);
    }
    if (charger.minCurrent > charger.maxCurrent) {
      problems.error(['chargers', index, 'minCurrent'], `minCurrent ${charger.minCurrent} A is above maxCurrent ${charger.maxCurrent} A`);
    }
    if (charger.tier !== undefined && !tiers.includes(charger.tier)) {
      problems.error(['chargers', index, 'tier'], `tier "${charger.tier}" is not in control.tiers (${listNames(tiers)})${didYouMean(charger.tier, tiers)}`);
    }
  });
}

function checkIdTags(problems: Problems, config: Config, tiers: readonly string[]): void {
  config.idTags.forEach((tag, index) => {
    if (!tiers.includes(tag.tier)) {
      problems.error(['idTags', index, 'tier'], `tier "${tag.tier}" is not in control.tiers (${listNames(tiers)})${didYouMean(tag.tier, tiers)}`);
    }
    if (tag.departure !== undefined) {
      const [hours, minutes] = tag.departure.split(':').map(Number);
      if (hours > 23 || minutes > 59) problems.error(['idTags', index, 'departure'], `"${tag.departure}" is not a time of day (00:00 to 23:59)`);
    }
  });
}

function checkGrid(problems: Problems, config: Config): void {
  const { meter } = config.grid;
  if (meter !== undefined) {
    const device = config.devices.find((d) => d.id === meter);
    if (!device) {
      problems.error(['grid', 'meter'], `unknown device "${meter}"${didYouMean(meter, config.devices.map((d) => d.id))}`);
    } else if (device.role !== 'grid-meter') {
      problems.error(['grid', 'meter'], `device "${meter}" has role ${device.role}; the grid meter must have role grid-meter`);
    }
  } else {
    const index = config.devices.findIndex((d) => d.role === 'grid-meter');
    if (index >= 0) {
      problems.warning(['grid', 'meter'], `not set, so device "${config.devices[index].id}" (grid-meter) is not used and balancing is static; set grid.meter: ${config.devices[index].id} to use it`);
    }
  }
}

function checkMqttBroker(problems: Problems, config: Config): void {
  if (config.mqtt) return;
  config.devices.forEach((device, index) => {
    if (device.driver === 'mqtt') {
      problems.error(['devices', index, 'driver'], 'an mqtt device reads from the broker in mqtt.url, and there is no mqtt section');
    }
  });
  if (config.tariffs?.feed?.driver === 'mqtt') {
    problems.error(['tariffs', 'feed', 'driver'], 'an mqtt price feed reads from the broker in mqtt.url, and there is no mqtt section');
  }
}

const ANY_HOST = new Set(['0.0.0.0', '::', '']);

function checkListeners(problems: Problems, config: Config): void {
  const { ocpp, http } = config;
  const sameHost = ocpp.host === http.host || ANY_HOST.has(ocpp.host) || ANY_HOST.has(http.host);
  if (ocpp.port !== 0 && ocpp.port === http.port && sameHost) {
    problems.error(['http', 'port'], `${http.port} is also ocpp.port; the OCPP and HTTP servers need different ports`);
  }
}

/** Two chargers must not share an identity towards the CSMS; upstream keys need an upstream. */
function checkUpstream(problems: Problems, config: Config): void {
  const identities = config.chargers.map((c) => c.upstreamId ?? c.id);
  if (config.upstream) checkUniqueIds(problems, 'chargers', 'upstreamId', identities, 'upstream identity');
  config.chargers.forEach((charger, index) => {
    if (!config.upstream && (charger.upstreamId !== undefined || charger.upstreamPassword !== undefined)) {
      problems.warning(['chargers', index, charger.upstreamId !== undefined ? 'upstreamId' : 'upstreamPassword'], 'has no effect without an upstream section');
    }
  });
  if (config.upstream?.url.startsWith('ws:') && config.chargers.some((c) => c.upstreamPassword !== undefined)) {
    problems.warning(['upstream', 'url'], 'upstream passwords travel in clear text over ws:// (Security Profile 1); use wss://');
  }
}

/** Every cross-reference problem in a schema-valid config, errors and warnings, in file order. */
export function validateConfig(config: Config): ConfigProblem[] {
  const problems = new Problems();
  const tiers = Object.keys(config.control.tiers);
  const nodes = flattenCircuits(config.circuits);

  if (!isValidTimeZone(config.site.timezone)) {
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    problems.error(['site', 'timezone'], `unknown time zone "${config.site.timezone}"${didYouMean(config.site.timezone, zones)}`);
  }
  checkGrid(problems, config);
  checkCircuits(problems, config, nodes);
  checkChargerPlacement(problems, config, nodes);
  checkReachableMinimum(problems, config, nodes);
  checkUniqueIds(problems, 'chargers', 'id', config.chargers.map((c) => c.id), 'charger id');
  checkChargers(problems, config, tiers);
  checkUncontrollable(problems, config, nodes);
  // OCPP 1.6 compares idTags case-insensitively, so "04a1" and "04A1" are the same card.
  checkUniqueIds(problems, 'idTags', 'idTag', config.idTags.map((t) => t.idTag), 'idTag', { ignoreCase: true });
  checkIdTags(problems, config, tiers);
  checkUniqueIds(problems, 'devices', 'id', config.devices.map((d) => d.id), 'device id');
  checkMqttBroker(problems, config);
  checkListeners(problems, config);
  checkUniqueIds(problems, 'openadr', 'id', (config.openadr ?? []).map((o) => o.id), 'openadr id');
  checkUpstream(problems, config);
  return problems.list;
}
