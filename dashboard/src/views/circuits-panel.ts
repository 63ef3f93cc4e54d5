// The fuse tree under the connection point: per circuit and phase, load against its limit, and
// what the caps below it add up to. This is where "why does my car get 6 A" usually lives.
import type { ApiClient } from '../api-client.ts';
import { h, replace, setText } from '../dom.ts';
import { formatCurrent } from '../format.ts';

export interface CircuitNodeView {
  id: string;
  maxCurrentA: number;
  limitA: number;
  loadA: number[];
  evLoadA?: number[];
  capA?: number[];
  measured?: boolean;
  /** A submeter's reading against what is below it (child circuits and this node's chargers). */
  reconciliation?: { belowA: number[]; unmeteredA: number[]; mismatch: boolean; text: string } | null;
  chargers?: string[];
  children?: CircuitNodeView[];
}

/** Nodes depth-first with their depth, for an indented list. */
export function flattenCircuits(root: CircuitNodeView | CircuitNodeView[] | null): { node: CircuitNodeView; depth: number }[] {
  const out: { node: CircuitNodeView; depth: number }[] = [];
  const visit = (node: CircuitNodeView, depth: number) => {
    out.push({ node, depth });
    for (const child of node.children ?? []) visit(child, depth + 1);
  };
  for (const node of Array.isArray(root) ? root : root ? [root] : []) visit(node, 0);
  return out;
}

export class CircuitsPanel {
  readonly el: HTMLElement;
  private readonly list = h('div', { class: 'circuit-list' });
  private readonly status = h('p', { class: 'muted small' });
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly api: ApiClient) {
    this.el = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'circuits-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'circuits-title' }, 'Circuits'), h('span', { class: 'muted small' }, 'load per phase against each fuse, after the safety margin')),
      this.list,
      this.status,
    );
  }

  start(intervalMs = 5000): void {
    void this.load();
    this.timer = setInterval(() => {
      if (document.visibilityState === 'visible') void this.load();
    }, intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async load(): Promise<void> {
    try {
      this.render(flattenCircuits((await this.api.request<CircuitNodeView | CircuitNodeView[]>('GET', '/api/v1/circuits')) ?? null));
      setText(this.status, '');
    } catch (error) {
      setText(this.status, `Could not load circuits: ${(error as Error).message}`);
    }
  }

  private render(nodes: { node: CircuitNodeView; depth: number }[]): void {
    if (!nodes.length) {
      replace(this.list, h('p', { class: 'muted' }, 'No fuse tree configured: the connection point is the only limit.'));
      return;
    }
    replace(
      this.list,
      ...nodes.map(({ node, depth }) => {
        // A circuit used up to its limit is the controller doing its job: neutral. Red only above it.
        const worst = Math.max(...node.loadA.map((a) => (node.limitA ? a / node.limitA : 0)));
        const over = worst > 1.0;
        const full = !over && worst > 0.95;
        const source = node.measured ? 'metered' : 'sum of what is below';
        const allowed = node.capA ? Math.max(...node.capA) : null;
        return h(
          'div',
          { class: `circuit${over ? ' tight' : full ? ' full' : ''}`, style: `--depth:${depth}`, 'data-circuit': node.id },
          h(
            'div',
            { class: 'circuit-head' },
            h('strong', {}, depth ? `└ ${node.id}` : node.id),
            h(
              'span',
              { class: 'muted small' },
              `limit ${formatCurrent(node.limitA)} per phase · load ${source}${allowed !== null ? ` · caps allow ${formatCurrent(allowed)}` : ''}${node.chargers?.length ? ` · ${node.chargers.join(', ')}` : ''}`,
            ),
            over ? h('span', { class: 'badge tone-bad' }, '⚠ over limit') : full ? h('span', { class: 'badge tone-idle' }, 'fully used') : null,
            node.reconciliation?.mismatch ? h('span', { class: 'badge tone-warn', 'data-testid': 'meter-mismatch' }, '⚠ meter mismatch') : null,
          ),
          node.reconciliation
            ? h(
                'p',
                { class: `small reconciliation${node.reconciliation.mismatch ? ' warn' : ' muted'}`, 'data-testid': 'reconciliation' },
                `Meter ${node.loadA.map((a, i) => `L${i + 1} ${formatCurrent(a)}`).join(' · ')} vs below ${node.reconciliation.belowA.map((a) => formatCurrent(a)).join(' · ')}: ${node.reconciliation.text}`,
              )
            : null,
          h(
            'div',
            { class: 'circuit-phases' },
            ...node.loadA.map((a, i) =>
              h(
                'div',
                { class: 'mini' },
                h('span', { class: 'phase-name' }, `L${i + 1}`),
                h(
                  'span',
                  { class: 'bar', role: 'meter', 'aria-label': `${node.id} L${i + 1}`, 'aria-valuemin': 0, 'aria-valuemax': node.limitA, 'aria-valuenow': a, 'aria-valuetext': `${formatCurrent(a)} of ${formatCurrent(node.limitA)}` },
                  h('span', { class: 'bar-fill', style: `width:${Math.max(0, Math.min(100, node.limitA ? (a / node.limitA) * 100 : 0)).toFixed(1)}%` }),
                ),
                h('span', { class: 'small figures-inline' }, formatCurrent(a)),
              ),
            ),
          ),
        );
      }),
    );
  }
}
