import type { Config } from '../../config/schema.ts';
import type { Decision } from '../../optimizer/types.ts';
import type { Bus } from '../bus.ts';
import { monotonicMs, type Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { ChargerHoldings, type RestoredSlot } from './charger-holdings.ts';
import type { HoldingsStore } from './holdings-store.ts';
import { staticShares, uncontrollableByConfig, uncontrollableOverloads } from './static-share.ts';

/** At most this many charger ids in one log line. */
const MAX_IDS_LOGGED = 20;

/**
 * The holdings of every charger of the site, the static shares they are built on, and the
 * site-wide reactions: a charger found uncontrollable is reserved at its max and the others' static
 * shares shrink around it; a step of the wall clock makes every profile due again; with
 * `control.uncontrollable: refuse-sessions`, sessions on an uncontrollable charger are refused while
 * the site cannot afford its max.
 */
export class SiteHoldings {
  private readonly byCharger = new Map<string, ChargerHoldings>();
  private readonly uncontrollableIds: Set<string>;
  private lastDecision: Decision | undefined;
  /** Limits already reported as overloaded by the uncontrollable chargers (each is logged once). */
  private readonly overloadsLogged = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly config: Pick<Config, 'site' | 'grid' | 'circuits' | 'chargers' | 'control'>,
    private readonly clock: Clock,
    private readonly bus: Bus,
    private readonly log: Logger,
    store?: HoldingsStore,
    /** Whether a car draws on a connector although its tag was refused (the transaction book). */
    private readonly refusedDrawing: (chargerId: string, connectorId: number) => boolean = () => false,
  ) {
    this.uncontrollableIds = uncontrollableByConfig(config);
    const shares = staticShares(config, this.uncontrollableIds);
    const stored = new Map<string, RestoredSlot[]>();
    for (const r of this.loadStored(store)) stored.set(r.chargerId, [...(stored.get(r.chargerId) ?? []), r]);
    for (const charger of config.chargers) {
      const sink = store && {
        save: (slot: string, limitA: number, transactionId?: number) => this.write(() => store.save({ chargerId: charger.id, slot, limitA, ...(transactionId === undefined ? {} : { transactionId }) })),
        remove: (slot: string) => this.write(() => store.remove(charger.id, slot)),
      };
      const holdings = new ChargerHoldings(
        { chargerId: charger.id, connectors: charger.connectors, maxA: charger.maxCurrent, shareA: shares.get(charger.id) ?? 0, liftDurationMs: config.control.profileDurationS * 1000 },
        sink,
        (connectorId) => this.refusedDrawing(charger.id, connectorId),
      );
      holdings.restore(stored.get(charger.id) ?? [], monotonicMs(clock));
      if (this.uncontrollableIds.has(charger.id)) holdings.markUncontrollable('configured without smart charging (chargers[].smartCharging: false)', monotonicMs(clock));
      this.byCharger.set(charger.id, holdings);
    }
    this.warnOverloads();
    const offDecision = bus.on('decision', (decision) => (this.lastDecision = decision));
    // The wall clock stepped (src/clock-step-watch.ts): absolute starts were computed on the old clock, every profile is sent again.
    const offStep = bus.on('clock.stepped', () => {
      for (const holdings of this.byCharger.values()) holdings.refreshAll();
    });
    this.unsubscribe = () => {
      offDecision();
      offStep();
    };
  }

  dispose(): void {
    this.unsubscribe();
  }

  /**
   * After a restart, before any charger is back: each connector with a record is reported at what
   * it held when the EMS stopped (reserved, as a charger offline takes no new limit), so the first
   * decisions count it so, not at its max nor at nothing.
   */
  reportRestored(activeTransaction: (chargerId: string, connectorId: number) => number | undefined): void {
    const nowMs = monotonicMs(this.clock);
    for (const [chargerId, held] of this.byCharger) {
      for (let connectorId = 1; connectorId <= held.connectors; connectorId++) {
        const transactionId = activeTransaction(chargerId, connectorId);
        const recorded = held.defaultSlot(connectorId).confirmed || (transactionId !== undefined && held.existingTxSlot(connectorId, transactionId));
        if (!recorded && !this.refusedDrawing(chargerId, connectorId)) continue;
        const status = held.status(connectorId, transactionId, nowMs, true);
        this.bus.emit('profile.status', { chargerId, connectorId, ...status, atMs: this.clock.nowMs(), detail: 'charger not back yet; counted at what it held when the EMS stopped' });
      }
    }
  }

  private loadStored(store: HoldingsStore | undefined): ReturnType<HoldingsStore['load']> {
    if (!store) return [];
    try {
      const rows = store.load();
      if (rows.length) this.log.info({ slots: rows.length }, 'what the chargers held before the restart is counted until they confirm it again');
      return rows;
    } catch (error) {
      this.log.error({ err: error }, 'could not read what the chargers held before the restart; every connector counts at its max until its charger confirms');
      return [];
    }
  }

  private writeFailing = false;

  /** A failed write is logged once until writes work again; the EMS keeps running on what it knows. */
  private write(action: () => void): void {
    try {
      action();
      if (this.writeFailing) this.log.info('recording what the chargers hold works again');
      this.writeFailing = false;
    } catch (error) {
      if (!this.writeFailing) this.log.error({ err: error }, 'could not record what a charger holds; after a restart it may count at an older limit until the charger confirms again');
      this.writeFailing = true;
    }
  }

  of(chargerId: string): ChargerHoldings {
    const holdings = this.byCharger.get(chargerId);
    if (!holdings) throw new Error(`no holdings for unknown charger ${chargerId}`);
    return holdings;
  }

  shareA(chargerId: string): number {
    return this.byCharger.get(chargerId)?.shareA ?? 0;
  }

  uncontrollable(): string[] {
    return [...this.uncontrollableIds];
  }

  /**
   * Marks a charger uncontrollable (once): warns with what to do, recomputes every other charger's
   * static share with it at its max. Returns false when it was known already.
   */
  markUncontrollable(chargerId: string, reason: string, log: Logger): boolean {
    const holdings = this.of(chargerId);
    const first = holdings.markUncontrollable(reason, monotonicMs(this.clock));
    if (!this.uncontrollableIds.has(chargerId)) {
      this.uncontrollableIds.add(chargerId);
      const shares = staticShares(this.config, this.uncontrollableIds);
      for (const [id, other] of this.byCharger) other.shareA = shares.get(id) ?? 0;
      this.warnOverloads();
    }
    if (first || reason !== holdings.uncontrollable?.reason) {
      log.warn(
        { reason, reservedA: holdings.maxA, connectors: holdings.connectors },
        'charger cannot be capped: it counts at its max current from now on and the static shares of the others shrink; enable OCPP smart charging on it (SmartCharging feature profile), or set chargers[].smartCharging: false so check-config can plan for it',
      );
    }
    return first;
  }

  /**
   * Logs each limit once, when the uncontrollable chargers first overload it (each charger's own
   * warning names it): a site where hundreds turn out uncontrollable one after the other logged
   * every overloaded limit again with every id on each new one, O(n²) bytes (~57 MB in minutes at
   * 1,000 chargers, held in the log's write buffer: bench/RESULTS.md, session 13).
   */
  private warnOverloads(): void {
    const overloads = uncontrollableOverloads(this.config, this.uncontrollableIds);
    for (const o of overloads) {
      if (this.overloadsLogged.has(o.limit)) continue;
      this.overloadsLogged.add(o.limit);
      const ids = [...this.uncontrollableIds];
      this.log.error(
        { limit: o.limit, limitA: Math.round(o.limitA * 10) / 10, uncontrollableA: o.drawA, uncontrollable: ids.length, chargers: ids.slice(0, MAX_IDS_LOGGED) },
        'chargers that cannot be capped alone can exceed this limit at their max; nothing the EMS does prevents that (control.uncontrollable: refuse-sessions refuses their sessions while the site cannot afford them)',
      );
    }
  }

  /**
   * Whether a session may start on a charger now: always, except an uncontrollable one under
   * `control.uncontrollable: refuse-sessions` while the last decision had no headroom left (or was
   * a failsafe, or there was none yet).
   */
  admitsSessions(chargerId: string): boolean {
    if (this.config.control.uncontrollable !== 'refuse-sessions' || !this.uncontrollableIds.has(chargerId)) return true;
    const decision = this.lastDecision;
    if (!decision || decision.failsafe) return false;
    return Math.min(...decision.headroom.headroomA) >= 0;
  }
}
