// The operator's own limit on the site's grid import: a value and an end time, sent as an
// operator signal (POST /api/v1/signals); the active ones listed with a button to end them early.
import { ApiError } from '../api-client.ts';
import type { StateView } from '../api-types.ts';
import { canSteer, type AppContext } from '../app-context.ts';
import { h, replace, setText } from '../dom.ts';
import { formatPower } from '../format.ts';
import { toMs } from '../normalize.ts';
import { zoneHint } from './zone-hint.ts';

/** Signals the API's operator routes made (the timeline's source for them is "api"). */
const isOperatorLimit = (s: { id: string; source: string }) => s.source === 'api' || s.id.startsWith('op-');

export class SiteLimitPanel {
  readonly el: HTMLElement;
  private readonly list = h('ul', { class: 'notes', 'data-testid': 'site-limits' });
  private readonly valueKW = h('input', { type: 'number', id: 'site-limit-kw', min: 0, max: 100000, step: 0.5, inputmode: 'decimal', required: true });
  private readonly until = h('input', { type: 'datetime-local', id: 'site-limit-until' });
  private readonly error = h('p', { class: 'form-error', role: 'alert' });
  private key = '';

  constructor(private readonly ctx: AppContext) {
    const form = h(
      'form',
      { class: 'exports', 'aria-label': 'Set a site import limit' },
      h('div', { class: 'field' }, h('label', { for: 'site-limit-kw' }, 'Import limit (kW)'), this.valueKW),
      h('div', { class: 'field' }, h('label', { for: 'site-limit-until' }, 'Until', zoneHint()), this.until),
      h('button', { type: 'submit' }, 'Set limit'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    this.el = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'site-limit-title', 'data-testid': 'site-limit' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'site-limit-title' }, 'Site limit'), h('span', { class: 'muted small' }, 'your own cap on grid import, e.g. at the grid operator\'s request')),
      this.list,
      canSteer(ctx.role) ? form : h('p', { class: 'muted small' }, '🔒 View only.'),
      this.error,
    );
    // Two hours from the EMS's now, as the site's wall clock reads it.
    this.until.value = ctx.siteTime().toInput((toMs(ctx.latest()?.at) ?? Date.now()) + 2 * 3_600_000);
  }

  private async submit(): Promise<void> {
    setText(this.error, '');
    const kW = Number(this.valueKW.value);
    if (!this.valueKW.value || !Number.isFinite(kW) || kW < 0) return setText(this.error, 'Give the limit in kW (0 or more).');
    let durationS: number | undefined;
    if (this.until.value) {
      const untilMs = this.ctx.siteTime().fromInput(this.until.value);
      const nowMs = toMs(this.ctx.latest()?.at) ?? Date.now();
      if (untilMs === null || untilMs <= nowMs) return setText(this.error, 'The end time must be in the future (or empty for a limit you end yourself).');
      durationS = Math.round((untilMs - nowMs) / 1000);
    }
    try {
      await this.ctx.api.addSiteLimit({ kind: 'import-limit', valueW: Math.round(kW * 1000), ...(durationS ? { durationS } : {}) });
      this.ctx.notify(`Site limit set: ${formatPower(kW * 1000)}${this.until.value ? ` until ${this.ctx.siteTime().time(this.ctx.siteTime().fromInput(this.until.value), toMs(this.ctx.latest()?.at) ?? Date.now())}` : ''}`);
      await this.ctx.feed.refresh();
    } catch (error) {
      const e = error as ApiError;
      setText(this.error, e.issues?.length ? e.issues.map((i) => `${i.path || 'request'}: ${i.message}`).join('; ') : e.message);
    }
  }

  update(state: StateView): void {
    const nowMs = toMs(state.at) ?? Date.now();
    const limits = state.signals.filter(isOperatorLimit);
    const key = JSON.stringify(limits.map((s) => [s.id, s.value, s.end, s.kind]));
    if (key === this.key) return;
    this.key = key;
    if (!limits.length) {
      replace(this.list, h('li', { class: 'muted small' }, 'No operator limit in force.'));
      return;
    }
    replace(
      this.list,
      ...limits.map((s) => {
        const endMs = toMs(s.end ?? null);
        const end = h(
          'button',
          { type: 'button', class: 'secondary small-button', hidden: !canSteer(this.ctx.role) },
          'End now',
        );
        end.addEventListener('click', async () => {
          try {
            await this.ctx.api.endSiteLimit(s.id);
            this.ctx.notify('Site limit ended');
            await this.ctx.feed.refresh();
          } catch (error) {
            setText(this.error, (error as Error).message);
          }
        });
        const what = s.kind === 'export-limit' ? 'Export limit' : 'Import limit';
        return h('li', { class: 'note tone-warn', 'data-limit': s.id }, `${what} ${formatPower(s.value)} ${endMs === null || endMs > nowMs + 5 * 365 * 86_400_000 ? 'until ended' : `until ${this.ctx.siteTime().time(endMs, nowMs)}`} `, end);
      }),
    );
  }
}
