// "Today" on the overview: what the site delivered and what it cost so far, the peak against the
// month's (what the demand charge is billed on) and the import price now. From GET /api/v1/kpis,
// refreshed every half minute; hidden when the EMS runs without its tariff service.
import type { ApiClient } from '../api-client.ts';
import type { KpisView } from '../api-types.ts';
import { h, setText } from '../dom.ts';
import { formatEnergy, formatMoney, formatPercent, formatPower, type SiteTime } from '../format.ts';

const REFRESH_MS = 30_000;

interface Fact {
  value: HTMLElement;
  detail: HTMLElement;
}

function fact(list: HTMLElement, key: string, label: string): Fact {
  const value = h('dd', { class: 'today-value', 'data-testid': `today-${key}` }, '—');
  const detail = h('dd', { class: 'today-detail muted small' });
  list.append(h('div', { class: 'today-fact' }, h('dt', {}, label), value, detail));
  return { value, detail };
}

export class TodayStrip {
  readonly el: HTMLElement;
  private readonly status = h('p', { class: 'muted small', 'aria-live': 'polite' });
  private readonly energy: Fact;
  private readonly cost: Fact;
  private readonly perKWh: Fact;
  private readonly peak: Fact;
  private readonly price: Fact;
  /** The rest of the day's KPIs, one quiet line. */
  private readonly more = h('p', { class: 'today-more muted small', 'data-testid': 'today-more' });
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  constructor(
    private readonly api: ApiClient,
    private readonly siteTime: () => SiteTime,
  ) {
    const list = h('dl', { class: 'today-facts' });
    this.energy = fact(list, 'energy', 'Energy to cars');
    this.cost = fact(list, 'cost', 'Cost');
    this.perKWh = fact(list, 'cost-per-kwh', 'Cost per kWh');
    this.peak = fact(list, 'peak', 'Peak');
    this.price = fact(list, 'price', 'Import price now');
    this.el = h(
      'section',
      { class: 'panel today', 'aria-labelledby': 'today-title', 'data-testid': 'today' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'today-title' }, 'Today'), this.status),
      list,
      this.more,
    );
    this.el.hidden = true;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    let kpis: KpisView | null;
    try {
      kpis = await this.api.kpis();
    } catch (error) {
      // Keep the last figures; say they are not current.
      if (!this.stopped) setText(this.status, `not updated: ${(error as Error).message}`);
      return;
    }
    if (this.stopped) return;
    this.el.hidden = kpis === null;
    if (kpis) this.render(kpis);
  }

  private render(k: KpisView): void {
    const c = k.currency;
    const t = k.today;
    setText(this.status, `since midnight, ${k.today.sessions} session${k.today.sessions === 1 ? '' : 's'} ended`);
    setText(this.energy.value, formatEnergy(t.evEnergyWh));
    setText(this.energy.detail, `grid import ${formatEnergy(t.gridImportWh)}`);
    setText(this.cost.value, formatMoney(t.energyCost, c));
    setText(this.cost.detail, `month's demand charge ${formatMoney(k.month.demandCharge, c)}`);
    setText(this.perKWh.value, t.evEnergyWh > 0 ? formatMoney(t.costPerKWh, c, 3) : '—');
    setText(this.perKWh.detail, t.evEnergyWh > 0 ? 'energy cost per kWh charged' : 'nothing charged yet');
    // One definition (15-min mean import) for both; the month's peak is never below today's.
    const nowMs = Date.parse(k.at);
    const peakAtMs = t.peakAt ? Date.parse(t.peakAt) : null;
    const monthAtMs = k.month.peakAt ? Date.parse(k.month.peakAt) : null;
    setText(this.peak.value, formatPower(t.peakW));
    const setToday = t.peakW > 0 && t.peakW >= k.month.peakW - 1;
    setText(
      this.peak.detail,
      `15-min mean${peakAtMs === null ? '' : ` at ${this.siteTime().time(peakAtMs, nowMs)}`} · ${setToday ? "also the month's peak" : monthAtMs === null ? 'no peak yet this month' : `month ${formatPower(k.month.peakW)} on ${this.siteTime().dateTime(monthAtMs, nowMs)}`}`,
    );
    setText(this.price.value, formatMoney(k.prices.importPerKWh, c, 3));
    setText(this.price.detail, 'per kWh');
    const met = t.sessions ? `${formatPercent(t.sessionSuccessRate * 100)} of ended sessions got their energy` : 'no session ended yet';
    const unmet = t.sessions && t.unmetWh > 0 ? ` (${formatEnergy(t.unmetWh)} short)` : '';
    setText(this.more, `Solar share ${formatPercent(t.renewableShare * 100)} · connectors in use ${formatPercent(t.utilization * 100)} · ${met}${unmet}`);
  }
}
