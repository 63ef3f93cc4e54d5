// fast-check generators for whole sites: a 1–3 level fuse tree, chargers (1/3-phase, rotations,
// several connectors), sessions, measured draws, reservations, meters and grid signals.
import fc from 'fast-check';
import type {
  ChargerParams,
  CircuitNode,
  ConnectorSnapshot,
  DecideParams,
  PhaseRotation,
  PhaseValues,
  PriorityScheme,
  SessionSnapshot,
  SiteSnapshot,
} from '../../optimizer/types.ts';

export interface Site {
  snapshot: SiteSnapshot;
  params: DecideParams;
}

const ROTATIONS: PhaseRotation[] = ['L1L2L3', 'L2L3L1', 'L3L1L2', 'L1L3L2', 'L2L1L3', 'L3L2L1'];
export const SCHEMES: PriorityScheme[] = ['fcfs', 'departure', 'soc', 'tier', 'equal'];
export const NOW_MS = 1_800_000_000_000;

/** Tree shape: for each level, how many children each node has (ids are assigned afterwards). */
const arbTree = (): fc.Arbitrary<CircuitNode> =>
  fc.letrec<{ node: CircuitNode }>((tie) => ({
    node: fc.record({
      id: fc.constant(''),
      maxCurrentA: fc.integer({ min: 10, max: 250 }),
      chargerIds: fc.constant([] as string[]),
      children: fc.oneof({ depthSize: 'small', maxDepth: 2 }, fc.constant([]), fc.array(tie('node'), { minLength: 1, maxLength: 3 })),
    }),
  })).node;

function renumber(root: CircuitNode): { root: CircuitNode; ids: string[] } {
  const ids: string[] = [];
  const walk = (node: CircuitNode): CircuitNode => {
    const id = ids.length === 0 ? 'main' : `c${ids.length}`;
    ids.push(id);
    return { ...node, id, children: node.children.map(walk) };
  };
  return { root: walk(root), ids };
}

const arbCharger = fc.record({
  connectorCount: fc.integer({ min: 1, max: 2 }),
  maxCurrentA: fc.constantFrom(16, 32, 63),
  minCurrentA: fc.constantFrom(6, 6, 8),
  phases: fc.constantFrom<1 | 3>(1, 3, 3),
  phaseRotation: fc.constantFrom(...ROTATIONS),
  nodePick: fc.nat(),
});

const arbDraw: fc.Arbitrary<PhaseValues> = fc.oneof(
  fc.tuple(fc.double({ min: 0, max: 40, noNaN: true }), fc.double({ min: 0, max: 40, noNaN: true }), fc.double({ min: 0, max: 40, noNaN: true })),
  fc.double({ min: 0, max: 32, noNaN: true }).map((a): PhaseValues => [a, 0, 0]),
  fc.constant<PhaseValues>([0, 0, 0]),
);

const arbSession = (n: number): fc.Arbitrary<SessionSnapshot> =>
  fc.record(
    {
      id: fc.constant(`s${n}`),
      startedAtMs: fc.integer({ min: NOW_MS - 8 * 3_600_000, max: NOW_MS }),
      departureAtMs: fc.integer({ min: NOW_MS, max: NOW_MS + 12 * 3_600_000 }),
      energyWh: fc.integer({ min: 0, max: 40_000 }),
      energyNeedWh: fc.integer({ min: 0, max: 60_000 }),
      socPct: fc.integer({ min: 0, max: 100 }),
      tierRank: fc.integer({ min: 1, max: 3 }),
      paused: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      carPhases: fc.constantFrom<1 | 3>(1, 3),
      carMaxCurrentA: fc.constantFrom(10, 16, 32),
      targetPowerW: fc.integer({ min: 0, max: 22_000 }),
    },
    { requiredKeys: ['id', 'startedAtMs', 'energyWh', 'tierRank', 'paused'] },
  );

const arbConnectorState = fc.record({
  hasSession: fc.boolean(),
  draw: arbDraw,
  reservedA: fc.option(fc.constantFrom(6, 10, 16, 32), { freq: 6 }),
  drawAgeMs: fc.option(fc.integer({ min: 0, max: 60_000 }), { freq: 3 }),
});

export interface SiteOptions {
  /** Force the grid reading fresh (true) or stale (false); default random-ish fresh. */
  gridFresh?: boolean;
  reservations?: boolean;
}

export function arbSite(options: SiteOptions = {}): fc.Arbitrary<Site> {
  return fc
    .record({
      tree: arbTree(),
      gridMaxA: fc.integer({ min: 16, max: 400 }),
      margin: fc.constantFrom(0, 0.05, 0.1),
      metered: fc.boolean(),
      maxImportPowerW: fc.option(fc.integer({ min: 5_000, max: 200_000 }), { freq: 2 }),
      importSignalW: fc.option(fc.integer({ min: 5_000, max: 200_000 }), { freq: 3 }),
      gridA: fc.tuple(fc.double({ min: 0, max: 300, noNaN: true }), fc.double({ min: 0, max: 300, noNaN: true }), fc.double({ min: 0, max: 300, noNaN: true })),
      gridPowerW: fc.double({ min: -20_000, max: 150_000, noNaN: true }),
      gridAgeMs: fc.integer({ min: 0, max: 9_000 }),
      submeters: fc.array(fc.record({ pick: fc.nat(), currentA: fc.tuple(fc.double({ min: 0, max: 80, noNaN: true }), fc.double({ min: 0, max: 80, noNaN: true }), fc.double({ min: 0, max: 80, noNaN: true })) }), { maxLength: 3 }),
      chargers: fc.array(arbCharger, { minLength: 1, maxLength: 8 }),
      states: fc.array(arbConnectorState, { minLength: 16, maxLength: 16 }),
      sessions: fc.array(arbSession(0), { minLength: 16, maxLength: 16 }),
      priority: fc.constantFrom(...SCHEMES),
    })
    .map((g): Site => {
      const { root, ids } = renumber(g.tree);
      const chargers: ChargerParams[] = g.chargers.map((c, i) => ({
        id: `CP${String(i + 1).padStart(2, '0')}`,
        connectorCount: c.connectorCount,
        maxCurrentA: c.maxCurrentA,
        minCurrentA: c.minCurrentA,
        phases: c.phases,
        phaseRotation: c.phaseRotation,
        circuitId: ids[c.nodePick % ids.length],
      }));
      const attach = (node: CircuitNode): CircuitNode => ({
        ...node,
        chargerIds: chargers.filter((c) => c.circuitId === node.id).map((c) => c.id),
        children: node.children.map(attach),
      });
      const connectors: ConnectorSnapshot[] = [];
      let k = 0;
      for (const charger of chargers) {
        for (let connectorId = 1; connectorId <= charger.connectorCount; connectorId++, k++) {
          const state = g.states[k % 16];
          const session = state.hasSession ? { ...g.sessions[k % 16], id: `s${k}` } : null;
          const connector: ConnectorSnapshot = {
            chargerId: charger.id,
            connectorId,
            status: session ? 'Charging' : 'Available',
            session,
            drawA: session ? state.draw : [0, 0, 0],
          };
          if (state.drawAgeMs !== null) connector.drawAtMs = NOW_MS - state.drawAgeMs;
          if (options.reservations !== false && state.reservedA !== null) connector.reservedA = Math.min(state.reservedA, charger.maxCurrentA);
          connectors.push(connector);
        }
      }
      const fresh = options.gridFresh ?? true;
      const params: DecideParams = {
        voltageV: 230,
        grid: { maxCurrentA: g.gridMaxA, safetyMargin: g.margin, metered: g.metered || options.gridFresh === false },
        circuit: attach(root),
        chargers,
        priority: g.priority,
        deadbandA: 0.5,
        capHoldMs: 15_000,
        minPauseMs: 120_000,
        staleAfterMs: 10_000,
        failsafeCurrentA: 6,
        unusedHoldMs: 30_000,
        rampReserveA: 2,
        carResponseMs: 0, // cars here follow at once; estimation.test.ts covers the response
      };
      if (g.maxImportPowerW !== null) params.grid.maxImportPowerW = g.maxImportPowerW;
      const snapshot: SiteSnapshot = {
        atMs: NOW_MS,
        // Readings a fuse of this size allows (up to 2.5× its rating); implausible ones have their own tests.
        grid: params.grid.metered
          ? {
              atMs: fresh ? NOW_MS - g.gridAgeMs : NOW_MS - 10_001 - g.gridAgeMs,
              currentA: g.gridA.map((a) => Math.min(a, 2.5 * g.gridMaxA)) as unknown as readonly [number, number, number],
              powerW: Math.min(g.gridPowerW, 2.5 * 3 * 230 * g.gridMaxA),
            }
          : null,
        circuitLoads: g.submeters.map((s) => ({ circuitId: ids[s.pick % ids.length], atMs: NOW_MS, currentA: s.currentA })),
        connectors,
        signals: g.importSignalW !== null ? { importLimitW: g.importSignalW } : {},
      };
      return { snapshot, params };
    });
}

/** The upper bound the spec gives a session: charger max, car max, planner target (A per phase). */
export function sessionUpperA(connector: ConnectorSnapshot, params: DecideParams, phases: number): number {
  const charger = params.chargers.find((c) => c.id === connector.chargerId)!;
  const session = connector.session!;
  let upper = charger.maxCurrentA;
  if (session.carMaxCurrentA !== undefined) upper = Math.min(upper, Math.max(session.carMaxCurrentA, charger.minCurrentA));
  if (session.targetPowerW !== undefined) {
    const t = Math.floor((session.targetPowerW / (params.voltageV * phases)) * 10 + 1e-6) / 10;
    upper = t < charger.minCurrentA ? 0 : Math.min(upper, t);
  }
  return session.paused ? 0 : upper;
}
