// Reloads a panel now and every refreshMs while it is on the page; stops by itself once the panel
// has been taken off the page (a route change), so a forgotten panel does not keep polling.
export class PanelPoller {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly el: HTMLElement,
    private readonly load: () => Promise<void>,
    private readonly refreshMs: number,
  ) {}

  start(): void {
    void this.load();
    this.timer = setInterval(() => {
      if (!this.el.isConnected) this.stop();
      else void this.load();
    }, this.refreshMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
