// Feeds the car-max learner from what the EMS sees: each connector's latest MeterValues sample,
// taken under the cap in force for at least the car's response time. The live planner and
// `ems simulate` on the plant both run this, so a replay learns a car's max exactly as a site does.
import type { Config } from '../../config/schema.ts';
import type { ConnectorCap, ConnectorSnapshot, SiteSnapshot } from '../../optimizer/types.ts';
import type { ConnectorState } from '../state/site-state.ts';
import { CarMaxLearner, LEARN_GAP_A, type CarDrawModel } from './car-max-learner.ts';

interface CapSeen {
  sessionId: string;
  capA: number;
  sinceMs: number;
  sampleAtMs?: number;
}

export class CarDrawWatcher {
  private readonly learner: CarMaxLearner;
  /** Per connector: the cap in force, since when (as first seen), and the last draw sample used. */
  private readonly capsSeen = new Map<string, CapSeen>();
  private readonly carResponseMs: number;

  constructor(config: Config) {
    this.learner = new CarMaxLearner(config);
    this.carResponseMs = config.control.carResponseS * 1000;
  }

  /**
   * One look at the connectors under the last decision's caps, at `atMs`; true when a car showed a
   * new limit (re-plan).
   */
  watch(atMs: number, connectors: Iterable<ConnectorState>, caps: readonly ConnectorCap[] | undefined): boolean {
    const capByKey = new Map((caps ?? []).map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
    const active = new Set<string>();
    let learnt = false;
    for (const c of connectors) {
      const key = `${c.chargerId}/${c.connectorId}`;
      const s = c.session;
      const capA = capByKey.get(key);
      if (!s || capA === undefined) {
        this.capsSeen.delete(key);
        continue;
      }
      const sessionId = sessionIdOf(c.chargerId, c.connectorId, s.transactionId);
      active.add(sessionId);
      let seen = this.capsSeen.get(key);
      if (!seen || seen.sessionId !== sessionId || seen.capA !== capA) {
        seen = { sessionId, capA, sinceMs: atMs };
        this.capsSeen.set(key, seen);
      }
      const sampleAtMs = c.drawAtMs;
      if (sampleAtMs === undefined || sampleAtMs < seen.sinceMs + this.carResponseMs || sampleAtMs === seen.sampleAtMs) continue;
      seen.sampleAtMs = sampleAtMs;
      const phasesDrawing = c.drawA.filter((a) => a > LEARN_GAP_A).length;
      const wantsMore = c.status === 'Charging' && !s.paused && (s.energyNeedWh === undefined || s.energyWh < s.energyNeedWh - 100) && (s.socPct === undefined || s.socPct < 98);
      if (this.learner.observe({ sessionId, chargerId: c.chargerId, capA, drawA: Math.max(...c.drawA), phases: phasesDrawing === 1 ? 1 : 3, wantsMore, energyWh: s.energyWh })) learnt = true;
    }
    this.learner.keepOnly(active);
    return learnt;
  }

  /**
   * The wall clock stepped by `stepMs` (src/clock-step-watch.ts): the times a cap was first seen and
   * a sample used move with it, like the draw stamps of the site state, so a car's response time is
   * still waited for after a forward step and no learning stops for an hour after a backward one.
   */
  shift(stepMs: number): void {
    for (const seen of this.capsSeen.values()) {
      seen.sinceMs += stepMs;
      if (seen.sampleAtMs !== undefined) seen.sampleAtMs += stepMs;
    }
  }

  /** The plan's max for the car in this transaction, W; undefined: assume (plan-input.ts). */
  carMaxPowerW(chargerId: string, connectorId: number, transactionId: number): number | undefined {
    return this.learner.carMaxPowerW(sessionIdOf(chargerId, connectorId, transactionId));
  }

  /** True once the car in this transaction was seen drawing whole amps (decide() then gives it whole amps). */
  wholeAmps(chargerId: string, connectorId: number, transactionId: number): boolean {
    return this.learner.wholeAmps(sessionIdOf(chargerId, connectorId, transactionId));
  }

  /** The snapshot with `wholeAmps` set on the sessions of cars seen drawing whole amps; `transactions` by connector key. */
  withWholeAmps(snapshot: SiteSnapshot, transactions: ReadonlyMap<string, number>): SiteSnapshot {
    let connectors: ConnectorSnapshot[] | undefined;
    snapshot.connectors.forEach((c, i) => {
      const tx = transactions.get(`${c.chargerId}/${c.connectorId}`);
      if (!c.session || tx === undefined || !this.wholeAmps(c.chargerId, c.connectorId, tx)) return;
      connectors ??= [...snapshot.connectors];
      connectors[i] = { ...c, session: { ...c.session, wholeAmps: true } };
    });
    return connectors ? { ...snapshot, connectors } : snapshot;
  }

  /** The car's max and taper as learnt (car-max-learner.ts); undefined: assume. */
  carModel(chargerId: string, connectorId: number, transactionId: number): CarDrawModel | undefined {
    return this.learner.carModel(sessionIdOf(chargerId, connectorId, transactionId));
  }
}

function sessionIdOf(chargerId: string, connectorId: number, transactionId: number): string {
  return `${chargerId}/${connectorId}#${transactionId}`;
}

/** A learnt car model as the planner session's fields. */
export function carModelOf(model: CarDrawModel | undefined): { carMaxPowerW?: number; carTaperWPerWh?: number; carWholeAmps?: boolean } {
  if (!model) return {};
  return {
    ...(model.maxPowerW !== undefined ? { carMaxPowerW: model.maxPowerW } : {}),
    ...(model.taperWPerWh > 0 ? { carTaperWPerWh: model.taperWPerWh } : {}),
    ...(model.wholeAmps ? { carWholeAmps: true } : {}),
  };
}
