// One connector: status, cap, draw, why the cap is what it is, the session, and (for operators)
// steering: departure, energy need, pause/resume.
import { ApiError } from '../api-client.ts';
import type { ConnectorView, SessionPatch } from '../api-types.ts';
import { canSteer, type AppContext } from '../app-context.ts';
import { h, replace, setText, uid } from '../dom.ts';
import {
  formatCurrent,
  formatDuration,
  formatEnergy,
  formatPercent,
  formatPower,
  maxPhase,
  statusLook,
  type SiteTime,
} from '../format.ts';
import { reasonText, toMs } from '../normalize.ts';
import { whyText } from '../why-text.ts';
import { zoneHint } from './zone-hint.ts';

/** The site-wide rank ("4 of 5"): the decision's rank among all sessions in the priority order. */
function siteRank(rank: number | null | undefined, rankedCount: number | undefined): string | null {
  if (typeof rank !== 'number' || rank <= 0) return null;
  return rankedCount && rankedCount >= rank ? `${rank} of ${rankedCount}` : String(rank);
}

/**
 * The position among the cars sharing the binding limit, from a reason like "circuit row-a L2 limit
 * 63 A shared by 2 cars; priority 2 of 2": a different figure from the site rank, so it is named.
 */
export function sharingOf(reason: string): { limit: string; position: number; of: number } | null {
  const m = /(?:^|: )([^:;]+?) shared by \d+ cars?; priority (\d+) of (\d+)/.exec(reason);
  return m ? { limit: m[1], position: Number(m[2]), of: Number(m[3]) } : null;
}

/** Configured tiers, with the session's own first if the config no longer has it. */
function tiersWith(tiers: readonly string[], own: string): string[] {
  return tiers.includes(own) ? [...tiers] : [own, ...tiers];
}

/** A state of charge at or above this is a car that will take little more. */
const FULL_SOC_PCT = 95;

/**
 * Warns when the energy still wanted cannot be delivered by the departure even at the most the
 * connector can give (its charger's max, × phases × voltage): "needs 120 kWh more by 05:45; at most
 * 80 kWh at 32 A". A car held at 0 A now because the plan charges it later (cheaper hours) is not
 * warned about: the Plan page says whether it will be ready. `maxA`: the charger's max current,
 * when known; else the present cap.
 */
export function departureWarning(view: ConnectorView, nowMs: number, voltage: number, time: SiteTime, maxA?: number | null): string | null {
  const s = view.session;
  const departureMs = toMs(s?.departure);
  if (!s || departureMs === null || !s.energyNeedWh) return null;
  const missingWh = s.energyNeedWh - s.energyWh;
  if (missingWh <= 0) return null;
  // A car that says it is (nearly) full will not take the rest: the need was set too high, which is
  // what to tell (a bus 97 % charged read "needs 96.2 kWh more by 05:45").
  if (typeof s.soc === 'number' && s.soc >= FULL_SOC_PCT) return `The car reports ${formatPercent(s.soc)} charged with ${formatEnergy(s.energyWh)} of its ${formatEnergy(s.energyNeedWh)} need delivered: the need may be set too high.`;
  if (departureMs <= nowMs) return `⚠ Departure has passed with ${formatEnergy(missingWh)} still wanted.`;
  const mostA = Math.max(0, maxA ?? view.capA ?? 0);
  const possibleWh = (mostA * (view.phases === 1 ? 1 : 3) * voltage * (departureMs - nowMs)) / 3_600_000;
  if (possibleWh >= missingWh) return null;
  return `⚠ Needs ${formatEnergy(missingWh)} more by ${time.time(departureMs, nowMs)}; at most ${formatEnergy(possibleWh)} ${maxA ? `even at the charger's max of ${formatCurrent(mostA)}` : `at the present cap of ${formatCurrent(mostA)}`}.`;
}

/** A wait shorter than this is a charger answering as it should: not worth a figure. */
const SHOW_WAIT_FROM_MS = 5_000;

/**
 * What the operator should know about the charger itself, beyond the cap. `nowMs` is the EMS's
 * clock, as every time on the page: a limit on its way to the charger says how long it has been
 * waiting in site time (in the demo at x60, a charger that answers after 0.8 real seconds has kept
 * it waiting 48 demo seconds, as a real site's charger would have in 48 s).
 */
export function connectorNotes(view: ConnectorView, nowMs?: number): { text: string; tone: 'warn' | 'bad' | 'idle' }[] {
  const notes: { text: string; tone: 'warn' | 'bad' | 'idle' }[] = [];
  if (view.online === false) notes.push({ text: '✕ Charger not connected to the EMS', tone: 'bad' });
  if (view.errorCode && view.errorCode !== 'NoError') notes.push({ text: `⚠ Charger reports ${view.errorCode}`, tone: 'bad' });
  const p = view.profile;
  if (p?.state === 'rejected') notes.push({ text: '⚠ The charger refused the last limit; its full current stays reserved', tone: 'bad' });
  else if (p?.state === 'pending') {
    const sentMs = toMs(p.at);
    const waitedMs = sentMs === null || nowMs === undefined ? 0 : nowMs - sentMs;
    const waited = waitedMs >= SHOW_WAIT_FROM_MS ? ` ${waitedMs < 90_000 ? `${Math.round(waitedMs / 1000)} s` : formatDuration(waitedMs)}` : '';
    notes.push({ text: `◌ Waiting${waited} for the charger to confirm ${formatCurrent(p.capA)}`, tone: 'idle' });
  }
  else if (p?.state === 'accepted' && view.capA !== null && Math.abs(p.capA - view.capA) >= 0.5)
    notes.push({ text: `◌ Charger holds ${formatCurrent(p.capA)} until the new limit is sent`, tone: 'idle' });
  return notes;
}

export const connectorId = (c: { chargerId: string; connectorId: number }): string => `${c.chargerId}/${c.connectorId}`;

function fact(label: string, value: HTMLElement): HTMLElement {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));
}

export class ConnectorCard {
  readonly el: HTMLElement;
  private readonly badge = h('span', { class: 'badge' });
  private readonly cap = h('span', { class: 'big', 'data-testid': 'cap' });
  private readonly draw = h('span', { class: 'big', 'data-testid': 'draw' });
  private readonly power = h('span', { class: 'muted small' });
  private readonly reason = h('p', { class: 'reason', 'data-testid': 'reason' });
  private readonly notes = h('ul', { class: 'notes', 'aria-label': 'Charger notes' });
  private readonly session = h('div', { class: 'session' });
  private readonly steer: HTMLFormElement | null = null;
  private readonly departure = h('input', { type: 'datetime-local', name: 'departure' });
  private readonly energyNeed = h('input', { type: 'number', name: 'energyNeedKWh', min: 0, max: 1000, step: 0.5, inputmode: 'decimal' });
  private readonly save = h('button', { type: 'submit' }, 'Save');
  private readonly pause = h('button', { type: 'button', class: 'secondary', 'data-testid': 'pause' }, 'Pause');
  private readonly tier = h('select', { name: 'tier', 'data-testid': 'tier' });
  private readonly mode = h(
    'select',
    { name: 'chargeMode', 'data-testid': 'charge-mode' },
    h('option', { value: 'fast' }, 'Fast'),
    h('option', { value: 'minpv' }, 'Min + PV'),
    h('option', { value: 'pv' }, 'PV only'),
  );
  private readonly modeField = h('div', { class: 'field' });
  private readonly warning = h('p', { class: 'note tone-warn', 'data-testid': 'departure-warning', role: 'status' });
  private readonly steerError = h('p', { class: 'form-error', role: 'alert' });
  private dirty = false;
  private rankedCount: number | undefined;
  private tiers: readonly string[] = [];
  private voltage = 230;
  private sessionKey = '';
  private notesKey = '';
  private current: ConnectorView;

  constructor(
    private readonly ctx: AppContext,
    view: ConnectorView,
  ) {
    this.current = view;
    const title = `${view.chargerId} · connector ${view.connectorId}`;
    const headingId = uid('conn');
    this.el = h(
      'article',
      { class: 'card connector', 'aria-labelledby': headingId, 'data-connector': connectorId(view) },
      h('header', { class: 'card-head' }, h('h3', { id: headingId }, title), this.badge),
      h(
        'div',
        { class: 'figures' },
        h('div', {}, h('span', { class: 'label' }, 'Cap'), this.cap),
        h('div', {}, h('span', { class: 'label' }, 'Drawing'), this.draw, this.power),
      ),
      this.reason,
      this.notes,
      this.session,
    );
    if (canSteer(ctx.role)) {
      this.steer = this.buildSteering(headingId);
      this.el.append(this.steer);
    } else {
      this.el.append(h('p', { class: 'muted small read-only' }, '🔒 View only: your role cannot steer sessions.'));
    }
    this.update(view);
  }

  private buildSteering(headingId: string): HTMLFormElement {
    const depId = uid('dep');
    const needId = uid('need');
    const tierId = uid('tier');
    const modeId = uid('mode');
    this.departure.id = depId;
    this.energyNeed.id = needId;
    this.tier.id = tierId;
    this.mode.id = modeId;
    replace(this.modeField, h('label', { for: modeId }, 'Charge mode'), this.mode);
    const form = h(
      'form',
      { class: 'steer', 'aria-label': 'Steer this session', 'aria-describedby': headingId },
      h(
        'details',
        { class: 'steer-more' },
        h('summary', {}, 'Departure and energy need'),
        h(
          'div',
          { class: 'steer-fields' },
          h('div', { class: 'field' }, h('label', { for: depId }, 'Departure', zoneHint()), this.departure),
          h('div', { class: 'field' }, h('label', { for: needId }, 'Energy need (kWh)'), this.energyNeed),
          h('div', { class: 'steer-actions' }, this.save),
        ),
      ),
      h(
        'div',
        { class: 'steer-quick' },
        h('div', { class: 'field' }, h('label', { for: tierId }, 'Tier'), this.tier),
        this.modeField,
        h('div', { class: 'steer-actions' }, this.pause),
      ),
      this.steerError,
    );
    this.tier.addEventListener('change', () => void this.send({ tier: this.tier.value }, `Tier ${this.tier.value}`));
    this.mode.addEventListener('change', () => void this.send({ chargeMode: this.mode.value as 'fast' | 'minpv' | 'pv' }, `Charge mode ${this.mode.selectedOptions[0]?.textContent ?? this.mode.value}`));
    for (const input of [this.departure, this.energyNeed]) input.addEventListener('input', () => (this.dirty = true));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const patch: SessionPatch = {};
      if (this.departure.value) {
        const atMs = this.ctx.siteTime().fromInput(this.departure.value);
        if (atMs === null) return this.fail('Departure is not a valid date and time.');
        patch.departure = new Date(atMs).toISOString();
      } else patch.departure = null;
      if (this.energyNeed.value) {
        const kWh = Number(this.energyNeed.value);
        if (!Number.isFinite(kWh) || kWh < 0) return this.fail('Energy need must be a positive number of kWh.');
        patch.energyNeedWh = Math.round(kWh * 1000);
      } else patch.energyNeedWh = null;
      void this.send(patch, 'Saved');
    });
    this.pause.addEventListener('click', () => {
      const paused = !this.current.session?.paused;
      void this.send({ paused }, paused ? 'Paused' : 'Resumed');
    });
    return form;
  }

  private fail(message: string): void {
    setText(this.steerError, message);
  }

  private async send(patch: SessionPatch, done: string): Promise<void> {
    const c = this.current;
    this.save.disabled = this.pause.disabled = this.tier.disabled = this.mode.disabled = true;
    setText(this.steerError, '');
    try {
      await this.ctx.api.steerSession(c.chargerId, c.connectorId, patch);
      this.dirty = false;
      this.ctx.notify(`${done}: ${c.chargerId} connector ${c.connectorId}`);
      await this.ctx.feed.refresh();
    } catch (error) {
      const e = error as ApiError;
      const detail = e.issues?.length ? e.issues.map((i) => `${i.path || 'request'}: ${i.message}`).join('; ') : e.message;
      this.fail(detail);
    } finally {
      this.save.disabled = this.pause.disabled = this.tier.disabled = this.mode.disabled = !this.current.session;
    }
  }

  /** `rankedCount`: how many sessions are in the priority order, for "3 of 7"; `tiers`: the configured ones. */
  update(view: ConnectorView, rankedCount?: number, context: { tiers?: readonly string[]; voltage?: number } = {}): void {
    this.current = view;
    this.rankedCount = rankedCount;
    this.tiers = context.tiers ?? this.tiers;
    this.voltage = context.voltage ?? this.voltage;
    const look = statusLook(view.status);
    const paused = view.session?.paused === true;
    this.badge.className = `badge tone-${paused ? 'warn' : look.tone}`;
    replace(this.badge, h('span', { 'aria-hidden': 'true' }, paused ? '‖' : look.icon), ' ', paused ? 'Paused by operator' : look.label);
    this.el.dataset.status = view.status;
    setText(this.cap, formatCurrent(view.capA));
    const drawA = maxPhase(view.drawA);
    setText(this.draw, formatCurrent(drawA));
    setText(this.power, typeof view.powerW === 'number' ? formatPower(view.powerW) : '');
    const why = whyText(view, toMs(this.ctx.latest()?.at) ?? Date.now(), this.ctx.siteTime());
    setText(this.reason, why ? `Why: ${why}` : '');
    this.renderNotes(view, toMs(this.ctx.latest()?.at) ?? Date.now());
    this.renderSession(view);

    if (this.steer) {
      const s = view.session;
      this.steer.hidden = !s;
      this.save.disabled = this.pause.disabled = this.tier.disabled = this.mode.disabled = !s;
      setText(this.pause, paused ? 'Resume' : 'Pause');
      this.pause.setAttribute('aria-pressed', String(paused));
      const editing = this.dirty || this.steer.contains(document.activeElement);
      this.modeField.hidden = !s?.chargeMode;
      if (s && document.activeElement !== this.tier) {
        const tiers = tiersWith(this.tiers, s.tier);
        if (this.tier.options.length !== tiers.length || Array.from(this.tier.options).some((o, i) => o.value !== tiers[i])) {
          replace(this.tier, ...tiers.map((t) => h('option', { value: t }, t)));
        }
        this.tier.value = s.tier;
      }
      if (s?.chargeMode && document.activeElement !== this.mode) this.mode.value = s.chargeMode;
      if (s && !editing) {
        const dep = toMs(s.departure);
        this.departure.value = dep === null ? '' : this.ctx.siteTime().toInput(dep);
        this.energyNeed.value = s.energyNeedWh ? String(Math.round(s.energyNeedWh / 100) / 10) : '';
      }
    }
  }

  private renderNotes(view: ConnectorView, nowMs: number): void {
    const notes = connectorNotes(view, nowMs);
    const key = JSON.stringify(notes);
    if (key === this.notesKey) return;
    this.notesKey = key;
    replace(this.notes, ...notes.map((n) => h('li', { class: `note tone-${n.tone}` }, n.text)));
  }

  /** True when the card needs a look: a fault, an offline charger, or a charger note. */
  needsAttention(): boolean {
    const status = this.current.status;
    return status === 'Faulted' || status === 'Offline' || status === 'Unavailable' || connectorNotes(this.current).some((n) => n.tone === 'bad');
  }

  /** Text a filter matches against: charger, connector, tag, tier. */
  searchText(): string {
    const c = this.current;
    return `${c.chargerId} ${c.chargerId}/${c.connectorId} ${c.session?.idTag ?? ''} ${c.session?.tier ?? ''}`.toLowerCase();
  }

  get view(): ConnectorView {
    return this.current;
  }

  private renderSession(view: ConnectorView): void {
    const s = view.session;
    // Live pushes come twice a second; rebuild only when something shown changed (or a minute passed).
    // "Now" is the EMS's clock (a demo may run faster than real time).
    const now = toMs(this.ctx.latest()?.at) ?? Date.now();
    const time = this.ctx.siteTime();
    const key = JSON.stringify([s, view.rank, view.reason, this.rankedCount, Math.floor(now / 60_000), time.timeZone]);
    if (key === this.sessionKey) return;
    this.sessionKey = key;
    if (!s) {
      replace(this.session, h('p', { class: 'muted' }, 'No car connected.'));
      return;
    }
    const started = toMs(s.startedAt);
    const departure = toMs(s.departure);
    const rank = siteRank(view.rank, this.rankedCount);
    const share = sharingOf(reasonText(view.reason));
    const energy = s.energyNeedWh ? `${formatEnergy(s.energyWh)} of ${formatEnergy(s.energyNeedWh)}` : formatEnergy(s.energyWh);
    const warning = departureWarning(view, now, this.voltage, time, view.maxCurrentA);
    setText(this.warning, warning ?? '');
    this.warning.hidden = warning === null;
    replace(
      this.session,
      h(
        'dl',
        { class: 'facts' },
        fact('Car', h('span', { 'data-testid': 'tag' }, s.name ? `${s.name} (${s.idTag})` : s.idTag || '—')),
        fact('Tier', h('span', {}, s.tier || '—')),
        fact('Energy', h('span', {}, energy)),
        fact('SoC', h('span', {}, formatPercent(s.soc))),
        fact('Plugged in', h('span', {}, started === null ? '—' : `${time.time(started, now)} (${formatDuration(now - started)})`)),
        fact('Departure', h('span', { 'data-testid': 'departure' }, departure === null ? 'not set' : time.time(departure, now))),
        fact(
          'Priority',
          h(
            'span',
            { 'data-testid': 'rank' },
            rank ? `${rank} on the site` : '—',
            share ? h('span', { class: 'muted small block' }, `${share.position} of the ${share.of} sharing the ${share.limit}`) : null,
          ),
        ),
      ),
      this.warning,
    );
  }
}
