// Keeps the page's view of the site current: the /api/v1/live WebSocket when it is up, polling
// /api/v1/state while it is not, reconnecting with backoff.
import type { ApiClient } from './api-client.ts';
import { ApiError } from './api-client.ts';
import type { StateView } from './api-types.ts';

export type FeedStatus = 'connecting' | 'live' | 'polling' | 'offline';

/** The state inside a live message: the state itself, or `{ type: 'state', state | data | payload }`. */
export function stateFromMessage(message: unknown): StateView | null {
  if (typeof message !== 'object' || message === null) return null;
  const m = message as Record<string, unknown>;
  if (typeof m.site === 'object' && Array.isArray(m.connectors)) return m as unknown as StateView;
  for (const key of ['state', 'data', 'payload']) {
    const inner = m[key];
    if (typeof inner === 'object' && inner !== null && Array.isArray((inner as Record<string, unknown>).connectors)) return inner as StateView;
  }
  return null;
}

export class LiveFeed {
  private socket: WebSocket | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryMs = 1000;
  private stopped = true;
  status: FeedStatus = 'offline';
  lastUpdateMs = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly onState: (state: StateView) => void,
    private readonly onStatus: (status: FeedStatus) => void,
    private readonly pollMs = 2000,
  ) {}

  start(): void {
    this.stopped = false;
    void this.refresh();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close();
    this.socket = null;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pollTimer = this.retryTimer = null;
    this.setStatus('offline');
  }

  /** Fetch the state once now (after a steering action, or while polling). */
  async refresh(): Promise<void> {
    try {
      this.deliver(await this.api.state());
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.stop();
      else if (this.status !== 'live') this.setStatus('offline');
    }
  }

  private deliver(state: StateView): void {
    this.lastUpdateMs = Date.now();
    if (this.status === 'offline' && !this.stopped) this.setStatus(this.socket?.readyState === WebSocket.OPEN ? 'live' : 'polling');
    this.onState(state);
  }

  private setStatus(status: FeedStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.onStatus(status);
  }

  private connect(): void {
    if (this.stopped) return;
    this.setStatus(this.status === 'polling' ? 'polling' : 'connecting');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/live`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.fallBack();
      return;
    }
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.retryMs = 1000;
      this.setStatus('live');
      if (this.pollTimer) clearTimeout(this.pollTimer);
      this.pollTimer = null;
    });
    socket.addEventListener('message', (event) => {
      let message: unknown;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      const state = stateFromMessage(message);
      if (state) this.deliver(state);
    });
    socket.addEventListener('close', () => {
      if (this.socket === socket) this.socket = null;
      this.fallBack();
    });
  }

  private fallBack(): void {
    if (this.stopped) return;
    this.setStatus('polling');
    if (!this.pollTimer) this.poll();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
  }

  private poll(): void {
    if (this.stopped || this.status === 'live') {
      this.pollTimer = null;
      return;
    }
    void this.refresh().finally(() => {
      if (!this.stopped && this.status !== 'live') this.pollTimer = setTimeout(() => this.poll(), this.pollMs);
      else this.pollTimer = null;
    });
  }
}
