// What src/ocpp does when a charger connects, on the site plant in virtual time: the failsafe floor
// (a TxDefault at the charger's static share) on every connector; once every answer is in, the
// charger is ready for the dispatcher. Used by `ems simulate` on the plant and the closed-loop tests.
import type { Config } from '../../config/schema.ts';
import type { SitePlant } from '../../plant/index.ts';
import type { Bus } from '../bus.ts';

export interface BootFloor {
  connectorId: number;
  limitA: number;
  phases: 1 | 3;
}

export class PlantBootSetup {
  private readonly requests = new Map<number, BootFloor & { chargerId: string }>();
  private readonly pending = new Map<string, { waiting: number; floors: BootFloor[] }>();

  constructor(
    private readonly config: Config,
    private readonly plant: SitePlant,
    private readonly shares: ReadonlyMap<string, number>,
    /** Every floor answered: hand the charger to the dispatcher with the floors it accepted. */
    private readonly onReady: (chargerId: string, floors: BootFloor[]) => void,
  ) {}

  /** True while a charger still waits for answers to its floor. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** The charger connected at `nowMs`: send its floor on every connector. */
  start(chargerId: string, nowMs: number): void {
    const charger = this.config.chargers.find((c) => c.id === chargerId);
    if (!charger) return;
    const limitA = Math.floor((this.shares.get(chargerId) ?? 0) * 10) / 10;
    const pending = { waiting: 0, floors: [] as BootFloor[] };
    this.pending.set(chargerId, pending);
    for (let connectorId = 1; connectorId <= charger.connectors; connectorId++) {
      const profile = { id: 100 + connectorId, connectorId, purpose: 'TxDefaultProfile' as const, stackLevel: 0, kind: 'Absolute' as const, startScheduleMs: nowMs - 5_000, unit: 'A' as const, periods: [{ startPeriodS: 0, limit: limitA, numberPhases: charger.phases }] };
      const { requestId, status } = this.plant.setChargingProfile(chargerId, profile);
      if (status === 'Offline') continue;
      pending.waiting++;
      this.requests.set(requestId, { chargerId, connectorId, limitA, phases: charger.phases });
    }
    if (pending.waiting === 0) this.done(chargerId, []);
  }

  /** A profile answer: true when it answered a floor (and is handled), false when it is the dispatcher's. */
  answer(requestId: number, status: string, atMs: number, bus: Bus): boolean {
    const floor = this.requests.get(requestId);
    if (!floor) return false;
    this.requests.delete(requestId);
    const pending = this.pending.get(floor.chargerId);
    if (!pending) return true;
    if (status === 'Accepted') {
      pending.floors.push({ connectorId: floor.connectorId, limitA: floor.limitA, phases: floor.phases });
      bus.emit('profile.status', { chargerId: floor.chargerId, connectorId: floor.connectorId, state: 'accepted', capA: floor.limitA, atMs, detail: 'failsafe floor' });
    }
    if (--pending.waiting === 0) this.done(floor.chargerId, pending.floors);
    return true;
  }

  private done(chargerId: string, floors: BootFloor[]): void {
    this.pending.delete(chargerId);
    this.onReady(chargerId, floors);
  }
}
