// Where the power goes right now: grid, PV and battery in; building and EVs out; the site limit
// and headroom per phase.
import type { StateView } from '../api-types.ts';
import { h, replace, setText } from '../dom.ts';
import { batteryDirection, formatCurrent, formatPercent, formatPower, gridDirection, maxPhase } from '../format.ts';

/** EV power: the API's figure, else the connectors' own, else draw × voltage × phases. */
export function evPowerW(state: StateView): number {
  if (typeof state.site.evPowerW === 'number') return state.site.evPowerW;
  const voltage = state.site.voltage ?? 230;
  let total = 0;
  for (const c of state.connectors) {
    if (typeof c.powerW === 'number') total += c.powerW;
    else if (Array.isArray(c.drawA)) total += c.drawA.reduce((sum, a) => sum + (Number.isFinite(a) ? a : 0), 0) * voltage;
    else total += maxPhase(c.drawA) * voltage * (c.phases || 1);
  }
  return total;
}

interface Tile {
  el: HTMLElement;
  value: HTMLElement;
  detail: HTMLElement;
}

function tile(kind: string, title: string, icon: string): Tile {
  const value = h('div', { class: 'tile-value', 'data-testid': `flow-${kind}` });
  const detail = h('div', { class: 'tile-detail' });
  const el = h(
    'section',
    { class: `flow-tile flow-tile-${kind}`, 'aria-label': title },
    h('div', { class: 'tile-head' }, h('span', { class: 'tile-icon', 'aria-hidden': 'true' }, icon), h('h3', {}, title)),
    value,
    detail,
  );
  return { el, value, detail };
}

export class PowerFlow {
  readonly el: HTMLElement;
  private readonly grid = tile('grid', 'Grid', '⌁');
  private readonly pv = tile('pv', 'Solar', '☀');
  private readonly battery = tile('battery', 'Battery', '▮');
  private readonly building = tile('building', 'Building', '⌂');
  private readonly ev = tile('ev', 'EV charging', '⚡');
  private readonly phases = h('div', { class: 'phase-list' });
  private readonly limitNote = h('p', { class: 'muted small' });

  constructor() {
    this.el = h(
      'section',
      { class: 'panel power-flow', 'aria-labelledby': 'flow-title' },
      h('h2', { id: 'flow-title' }, 'Power flow'),
      h(
        'div',
        { class: 'flow-grid' },
        h('div', { class: 'flow-col', 'aria-label': 'Sources' }, this.grid.el, this.pv.el, this.battery.el),
        h('div', { class: 'flow-arrow', 'aria-hidden': 'true' }, '→'),
        h('div', { class: 'flow-col', 'aria-label': 'Consumers' }, this.building.el, this.ev.el),
      ),
      h('h3', { class: 'sub' }, 'Connection point per phase'),
      this.phases,
      this.limitNote,
    );
  }

  update(state: StateView): void {
    const s = state.site;
    setText(this.grid.value, formatPower(s.gridPowerW === null ? null : Math.abs(s.gridPowerW)));
    setText(this.grid.detail, gridDirection(s.gridPowerW));
    setText(this.pv.value, formatPower(s.pvPowerW));
    setText(this.pv.detail, s.pvPowerW === null ? 'No PV reading' : s.pvPowerW > 50 ? 'Producing' : 'Not producing');
    setText(this.battery.value, formatPower(s.batteryPowerW === null ? null : Math.abs(s.batteryPowerW)));
    setText(this.battery.detail, `${batteryDirection(s.batteryPowerW)}${s.batterySoc !== null && s.batterySoc !== undefined ? ` · ${formatPercent(s.batterySoc)} full` : ''}`);
    setText(this.building.value, formatPower(s.buildingPowerW));
    setText(this.building.detail, 'Everything except EVs');
    const charging = state.connectors.filter((c) => c.status === 'Charging').length;
    setText(this.ev.value, formatPower(evPowerW(state)));
    setText(this.ev.detail, `${charging} of ${state.connectors.length} connectors charging`);
    this.updatePhases(state);
  }

  private updatePhases(state: StateView): void {
    const { gridCurrentA, limitA, headroomA } = state.site;
    const rows: HTMLElement[] = [];
    const pctOf = (a: number | null, limit: number | null) => (a !== null && limit ? Math.max(0, Math.min(100, (a / limit) * 100)) : 0);
    for (let i = 0; i < 3; i++) {
      const used = gridCurrentA?.[i] ?? null;
      const limit = limitA?.[i] ?? null;
      const free = headroomA?.[i] ?? null;
      const allocated = limit !== null && free !== null ? limit - free : null;
      // Red only when the measured current itself nears the limit; a fully allocated site is normal.
      const near = used !== null && limit ? used > limit * 0.95 : false;
      rows.push(
        h(
          'div',
          { class: `phase-row${near ? ' tight' : ''}`, 'data-testid': `phase-L${i + 1}` },
          h('span', { class: 'phase-name' }, `L${i + 1}`),
          h(
            'div',
            {
              class: 'bar',
              role: 'meter',
              'aria-label': `Phase L${i + 1} load`,
              'aria-valuemin': 0,
              'aria-valuemax': limit ?? 0,
              'aria-valuenow': used ?? 0,
              'aria-valuetext': `${formatCurrent(used)} of ${formatCurrent(limit)}, ${formatCurrent(allocated)} allocated`,
            },
            h('span', { class: 'bar-alloc', style: `width:${pctOf(allocated, limit).toFixed(1)}%` }),
            h('span', { class: 'bar-fill', style: `width:${pctOf(used, limit).toFixed(1)}%` }),
          ),
          h('span', { class: 'phase-figures' }, `${formatCurrent(used)} / ${formatCurrent(limit)}`),
          // Below zero the reserved current (chargers that cannot be capped) is over the limit: say so, not "-103 A headroom".
          free !== null && free < 0
            ? h('span', { class: 'phase-free over', 'data-testid': `phase-over-L${i + 1}` }, `⚠ ${formatCurrent(-free)} over (reserved)`)
            : h('span', { class: 'phase-free' }, near ? `⚠ ${formatCurrent(free)} headroom` : `${formatCurrent(free)} headroom`),
        ),
      );
    }
    replace(this.phases, ...rows);
    // Headroom is the tightest of every limit (fuses, import power cap, signals): say which one binds.
    const { binding, headroomW } = state.site;
    const bound = binding && binding.kind !== 'none' ? `Tightest limit now: ${binding.text}.` : '';
    const power = typeof headroomW === 'number' ? ` Import room left: ${formatPower(Math.max(0, headroomW))}.` : '';
    setText(
      this.limitNote,
      limitA
        ? `${bound}${power} Dark: measured now. Light: what the caps allow in total. Headroom is what no cap has claimed under the tightest limit.`.trim()
        : 'No site limit reported.',
    );
    this.limitNote.dataset.testid = 'headroom-note';
  }
}
