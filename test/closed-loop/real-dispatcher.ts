// The real src/ocpp/profile-dispatcher.ts in the closed loop: the same ProfileDispatcher the live
// central system runs (its rounds, decreases before increases, answer wait, rate limit, backoff,
// holdings and 'profile.status' reports), with an injected clock and timers in virtual time and a
// charger link that speaks to the plant's chargers: a SetChargingProfile goes on the plant's wire
// and its promise settles when the plant's charger answers (or is rejected when it is offline or
// drops the link, as a dropped socket rejects a call).
//
// What is not the live link: the charger's setup (the plant boot setup sends the floor on every
// connector; its accepted floors become the connector defaults held, and a reconnect starts from
// fresh holdings), and capabilities are fixed (current, stack level 3, one period).
import type { Config } from '../../config/schema.ts';
import { connectorKey, type ConnectorCap } from '../../optimizer/types.ts';
import type { ProfileAnswer, SitePlant } from '../../plant/index.ts';
import type { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import type { ChargerCapabilities } from '../../src/ocpp/capabilities.ts';
import { ChargerHoldings } from '../../src/ocpp/charger-holdings.ts';
import { ProfileDispatcher, type ProfileIntent, type ProfileTarget } from '../../src/ocpp/profile-dispatcher.ts';
import { txDefaultProfile, txProfile } from '../../src/ocpp/profile.ts';
import type { BootFloor } from '../../src/simulate/plant-boot-setup.ts';
import { plantProfile, type SentProfile } from '../../src/simulate/virtual-dispatcher.ts';

const CAPABILITIES: ChargerCapabilities = { rateUnit: 'A', maxStackLevel: 3, maxPeriods: 1 };

/** What the closed loop asks of a dispatcher (the virtual one and this driver both offer it). */
export interface LoopDispatcher {
  readonly busy: boolean;
  readonly sent: SentProfile[];
  applyCaps(caps: readonly ConnectorCap[], atMs: number): void;
  answer(requestId: number, status: ProfileAnswer, atMs: number): void;
  tick(atMs: number): void;
  chargerReset(chargerId: string, floors: readonly BootFloor[], atMs: number): void;
  transactionEnded(chargerId: string, connectorId: number): void;
  /** The charger dropped its link: calls on the wire fail. */
  disconnected?(chargerId: string): void;
}

interface Call {
  chargerId: string;
  slot: string;
  limitA: number;
  resolve(status: string): void;
  reject(error: Error): void;
}

class PlantLink implements ProfileTarget {
  ready = false;
  readonly capabilities = CAPABILITIES;
  readonly log = silentLogger;
  holdings: ChargerHoldings;

  constructor(
    private readonly driver: RealDispatcherDriver,
    readonly config: Config['chargers'][number],
    private readonly shareA: number,
  ) {
    this.holdings = this.freshHoldings();
  }

  get chargerId(): string {
    return this.config.id;
  }

  freshHoldings(): ChargerHoldings {
    return new ChargerHoldings({ chargerId: this.config.id, connectors: this.config.connectors, maxA: this.config.maxCurrent, shareA: this.shareA });
  }

  sendProfile(intent: ProfileIntent): Promise<string> {
    return this.driver.send(this, intent);
  }

  stepDownStackLevel(): void {}

  /** As the central system does: marked, and every connector reported at what it may draw (its max). */
  uncontrollableFound(detail: string): void {
    if (this.holdings.markUncontrollable(detail, this.driver.clock.monotonicMs())) this.driver.reportHoldings(this, `uncontrollable: ${detail}`);
  }
}

export class RealDispatcherDriver implements LoopDispatcher {
  readonly clock: ManualClock;
  readonly sent: SentProfile[] = [];
  /**
   * Seen on the wire: an increase sent while a decrease of the same round was not yet accepted
   * (DESIGN.md guarantee 10: decreases sent and confirmed first, then increases).
   */
  readonly orderViolations: string[] = [];
  private readonly dispatcher: ProfileDispatcher;
  /** The last limit each slot (connector and purpose) accepted, A. */
  private readonly acceptedA = new Map<string, number>();
  /** The round in progress: its decreases not yet accepted (request ids). */
  private round: { openDecreases: Set<number> } | undefined;
  private readonly links = new Map<string, PlantLink>();
  private readonly calls = new Map<number, Call>();
  private readonly timers: { dueMs: number; resolve(): void; cancelled: boolean }[] = [];
  private rounds = 0;

  constructor(
    private readonly plant: SitePlant,
    private readonly config: Config,
    private readonly bus: Bus,
    shares: ReadonlyMap<string, number>,
    private readonly startAtMs: number,
    private readonly activeTx: ReadonlyMap<string, number>,
    answerWaitMs: number,
  ) {
    this.clock = new ManualClock(startAtMs);
    for (const charger of config.chargers) this.links.set(charger.id, new PlantLink(this, charger, shares.get(charger.id) ?? 0));
    this.dispatcher = new ProfileDispatcher({
      bus,
      clock: this.clock,
      log: silentLogger,
      voltageV: config.site.voltage,
      profileDurationS: config.control.profileDurationS,
      profileMinIntervalMs: config.control.profileMinIntervalMs,
      answerWaitMs,
      target: (chargerId) => this.links.get(chargerId),
      activeTransaction: (chargerId, connectorId) => this.activeTx.get(connectorKey(chargerId, connectorId)),
      wait: (ms) => this.wait(ms),
      // Virtual time: the round's batches of sends cost no time, so all of a round goes in one flush (as one turn did before).
      nextTurn: () => Promise.resolve(),
    });
  }

  /** A round is running (its promise has not settled yet). */
  get busy(): boolean {
    return this.rounds > 0;
  }

  applyCaps(caps: readonly ConnectorCap[], atMs: number): void {
    this.clock.set(atMs);
    this.rounds++;
    const round = { openDecreases: new Set<number>() };
    this.round = round;
    const done = () => {
      this.rounds--;
      if (this.round === round) this.round = undefined;
    };
    this.dispatcher.applyCaps(caps).then(done, done);
  }

  answer(requestId: number, status: ProfileAnswer, atMs: number): void {
    this.clock.set(atMs);
    const call = this.calls.get(requestId);
    if (!call) return;
    this.calls.delete(requestId);
    if (status === 'Accepted') {
      this.acceptedA.set(call.slot, call.limitA);
      this.round?.openDecreases.delete(requestId);
    }
    call.resolve(status);
  }

  tick(atMs: number): void {
    this.clock.set(atMs);
    for (const timer of this.timers) if (!timer.cancelled && timer.dueMs <= atMs) {
      timer.cancelled = true;
      timer.resolve();
    }
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]!.cancelled) this.timers.splice(i, 1);
  }

  chargerReset(chargerId: string, floors: readonly BootFloor[], atMs: number): void {
    this.clock.set(atMs);
    const link = this.links.get(chargerId);
    if (!link) return;
    link.holdings = link.freshHoldings();
    for (const floor of floors) {
      const slot = link.holdings.defaultSlot(floor.connectorId);
      slot.begin({ limitA: floor.limitA, phases: floor.phases, sentAtMs: atMs });
      slot.accepted();
    }
    link.ready = true;
    this.dispatcher.restateCharger(chargerId, link.config.connectors);
  }

  transactionEnded(chargerId: string, connectorId: number): void {
    this.links.get(chargerId)?.holdings.transactionEnded(connectorId);
  }

  disconnected(chargerId: string): void {
    const link = this.links.get(chargerId);
    if (link) link.ready = false;
    for (const [id, call] of this.calls) {
      if (call.chargerId !== chargerId) continue;
      this.calls.delete(id);
      call.reject(new Error('link dropped'));
    }
  }

  /** What src/ocpp/charger-link.ts reportHoldings() puts on the bus for every connector. */
  reportHoldings(link: PlantLink, detail: string): void {
    const nowMs = this.clock.monotonicMs();
    for (let connectorId = 1; connectorId <= link.config.connectors; connectorId++) {
      const status = link.holdings.status(connectorId, this.activeTx.get(connectorKey(link.chargerId, connectorId)), nowMs, false);
      this.bus.emit('profile.status', { chargerId: link.chargerId, connectorId, ...status, atMs: this.clock.nowMs(), detail });
    }
  }

  /** The link's SetChargingProfile, onto the plant's wire. */
  send(link: PlantLink, intent: ProfileIntent): Promise<string> {
    const atMs = this.clock.nowMs();
    const wire =
      intent.purpose === 'TxDefaultProfile'
        ? txDefaultProfile(intent.connectorId, intent.spec)
        : txProfile(intent.connectorId, intent.transactionId, intent.spec, atMs, intent.durationS, CAPABILITIES);
    const key = connectorKey(link.chargerId, intent.connectorId);
    const slot = `${key}/${intent.purpose}${intent.purpose === 'TxProfile' ? `/${intent.transactionId}` : ''}`;
    const limitA = intent.spec.capA;
    const beforeA = this.acceptedA.get(slot);
    this.sent.push({ atMs, key, limitA, purpose: intent.purpose });
    const { requestId, status } = this.plant.setChargingProfile(link.chargerId, plantProfile(wire.connectorId, wire.csChargingProfiles, this.startAtMs));
    const round = this.round;
    if (round && beforeA !== undefined && limitA > beforeA + 0.05 && round.openDecreases.size > 0) {
      this.orderViolations.push(`${slot} raised ${beforeA} → ${limitA} A at ${atMs - this.startAtMs} ms while ${round.openDecreases.size} decrease(s) of the round were not accepted`);
    }
    if (round && beforeA !== undefined && limitA < beforeA - 0.05 && status !== 'Offline') round.openDecreases.add(requestId);
    if (status === 'Offline') return Promise.reject(new Error('charger offline'));
    return new Promise<string>((resolve, reject) => this.calls.set(requestId, { chargerId: link.chargerId, slot, limitA, resolve, reject }));
  }

  private wait(ms: number): { promise: Promise<void>; cancel(): void } {
    const timer = { dueMs: this.clock.nowMs() + ms, resolve: () => {}, cancelled: false };
    const promise = new Promise<void>((resolve) => (timer.resolve = resolve));
    this.timers.push(timer);
    return { promise, cancel: () => (timer.cancelled = true) };
  }
}

/** Lets every promise the dispatcher has ready run (its rounds continue after answers and timers). */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
