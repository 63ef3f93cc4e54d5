// Mounts the security and OpenADR panels into the pages the app shell draws, without the shell
// knowing them: the charger-credentials warning above every page, the VEN status on the events
// page. main.ts calls mountSecurePanels once; a MutationObserver puts each panel in place whenever
// its page appears (after a login, on navigation).
import type { ApiClient } from './api-client.ts';
import { ChargerCredentialsBanner } from './views/charger-credentials-banner.ts';
import { VenStatusPanel } from './views/ven-status-panel.ts';
import './secure-panels.css';

export function mountSecurePanels(root: HTMLElement, api: ApiClient): void {
  const place = () => {
    const main = root.querySelector('main#main');
    if (main && !root.querySelector('[data-panel="charger-credentials"]')) {
      const banner = new ChargerCredentialsBanner(api);
      main.before(banner.el);
      void banner.load();
    }
    const events = root.querySelector('.events-page');
    if (events && !events.querySelector('[data-panel="ven-status"]')) {
      const panel = new VenStatusPanel(api);
      // After the grid events (the first panel), before the event list.
      events.firstElementChild ? events.firstElementChild.after(panel.el) : events.append(panel.el);
      panel.start();
    }
  };
  new MutationObserver(place).observe(root, { childList: true, subtree: true });
  place();
}
