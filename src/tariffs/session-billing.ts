// Per-session energy and cost, for billing residents of a shared site: each metered Wh is priced
// at the import price in force when it was drawn (dynamic prices included).
import type { ConnectorMeter, SessionEnded, SessionStarted } from '../bus.ts';
import type { TariffView } from './tariff.ts';

export interface SessionBill {
  chargerId: string;
  connectorId: number;
  transactionId: number;
  idTag: string;
  tier: string;
  startedAtMs: number;
  endedAtMs?: number;
  energyWh: number;
  cost: number;
  currency: string;
  carbonG: number;
  /** Time the car drew energy (between meter samples with energy flowing), ms; plugged in minus this is idle time. */
  chargingMs?: number;
}

/** Below this mean power between two samples the car counts as idle. */
const IDLE_BELOW_W = 100;

interface Open {
  bill: SessionBill;
  lastRegisterWh?: number;
  lastAtMs: number;
  lastPowerW: number;
}

/** Energy held by power readings alone is integrated over at most this gap. */
const MAX_GAP_MS = 300_000;

export class SessionBilling {
  private readonly open = new Map<string, Open>();
  private readonly closed: SessionBill[] = [];

  constructor(
    private readonly tariff: TariffView,
    private readonly keepClosed = 1000,
    /** Called with each bill as its session ends (persistence). */
    private readonly onClosed?: (bill: SessionBill) => void,
  ) {}

  /** Earlier closed bills (newest first), e.g. read back at start. */
  restore(bills: readonly SessionBill[]): void {
    this.closed.push(...bills.slice(0, this.keepClosed));
  }

  started(s: SessionStarted): void {
    this.open.set(`${s.chargerId}/${s.connectorId}`, {
      bill: {
        chargerId: s.chargerId,
        connectorId: s.connectorId,
        transactionId: s.transactionId,
        idTag: s.idTag,
        tier: s.tier,
        startedAtMs: s.startedAtMs,
        energyWh: 0,
        cost: 0,
        currency: this.tariff.currency,
        carbonG: 0,
        chargingMs: 0,
      },
      lastRegisterWh: s.meterStartWh,
      lastAtMs: s.startedAtMs,
      lastPowerW: 0,
    });
  }

  private add(o: Open, energyWh: number, atMs: number): void {
    const spanMs = atMs - o.lastAtMs;
    if (spanMs > 0 && energyWh > 0 && (energyWh * 3_600_000) / spanMs >= IDLE_BELOW_W) o.bill.chargingMs = (o.bill.chargingMs ?? 0) + spanMs;
    if (!(energyWh > 0)) return;
    o.bill.energyWh += energyWh;
    o.bill.cost += (energyWh / 1000) * this.tariff.importPricePerKWh(atMs);
    o.bill.carbonG += (energyWh / 1000) * this.tariff.carbonGPerKWh(atMs);
  }

  meter(m: ConnectorMeter): void {
    const o = this.open.get(`${m.chargerId}/${m.connectorId}`);
    if (!o || m.atMs < o.lastAtMs) return;
    if (m.energyWh !== undefined) {
      // The register is authoritative; a register that went backwards (meter reset) restarts from here.
      if (o.lastRegisterWh !== undefined && m.energyWh >= o.lastRegisterWh) this.add(o, m.energyWh - o.lastRegisterWh, m.atMs);
      o.lastRegisterWh = m.energyWh;
    } else if (m.atMs - o.lastAtMs <= MAX_GAP_MS) {
      this.add(o, (o.lastPowerW * (m.atMs - o.lastAtMs)) / 3_600_000, m.atMs);
    }
    o.lastAtMs = m.atMs;
    if (m.powerW !== undefined) o.lastPowerW = Math.max(0, m.powerW);
  }

  ended(e: SessionEnded): SessionBill | undefined {
    const key = `${e.chargerId}/${e.connectorId}`;
    const o = this.open.get(key);
    if (!o || o.bill.transactionId !== e.transactionId) return undefined;
    if (o.lastRegisterWh !== undefined && e.meterStopWh >= o.lastRegisterWh) this.add(o, e.meterStopWh - o.lastRegisterWh, e.endedAtMs);
    o.bill.endedAtMs = e.endedAtMs;
    this.open.delete(key);
    this.closed.unshift(o.bill);
    if (this.closed.length > this.keepClosed) this.closed.length = this.keepClosed;
    this.onClosed?.(o.bill);
    return o.bill;
  }

  /** The running bill of the session on a connector, if one is open. */
  current(chargerId: string, connectorId: number): SessionBill | undefined {
    const o = this.open.get(`${chargerId}/${connectorId}`);
    return o ? { ...o.bill } : undefined;
  }

  /** Running bills and the most recent closed ones, newest first. */
  list(limit = 100): SessionBill[] {
    return [...[...this.open.values()].map((o) => ({ ...o.bill })), ...this.closed].slice(0, limit);
  }
}
