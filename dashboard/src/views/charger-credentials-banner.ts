// A warning on every page while chargers without password or client certificate sit on an OCPP
// port that is not loopback-only: anyone who reaches the port and knows an id can connect as one
// of them. Data: GET /api/v1/security (operators and admins; viewers do not see it).
import type { SecurityView } from '../../../src/api/routes/security-routes.ts';
import type { ApiClient } from '../api-client.ts';
import { h, setText } from '../dom.ts';

/** The banner's text, or null when no charger is open to anyone. Pure. */
export function credentialsWarning(view: SecurityView): string | null {
  const ids = view.ocpp.unauthenticatedChargers;
  if (!ids.length) return null;
  const shown = ids.length > 8 ? `${ids.slice(0, 8).join(', ')} and ${ids.length - 8} more` : ids.join(', ');
  return (
    `${ids.length === 1 ? 'Charger' : `${ids.length} chargers`} ${shown} ${ids.length === 1 ? 'has' : 'have'} no password or client certificate, and the OCPP port listens on ${view.ocpp.host}: ` +
    `anyone who can reach it and knows an id can connect as that charger. Set chargers[].password (with ocpp.tls) or ocpp.tls.clientCert: required.`
  );
}

export class ChargerCredentialsBanner {
  readonly el = h('div', { class: 'banner tone-warn', role: 'alert', 'data-panel': 'charger-credentials', hidden: true });

  constructor(private readonly api: ApiClient) {}

  async load(): Promise<void> {
    try {
      const text = credentialsWarning(await this.api.request<SecurityView>('GET', '/api/v1/security'));
      this.el.hidden = text === null;
      setText(this.el, text === null ? '' : `⚠ ${text}`);
    } catch {
      // Viewers get 403; an EMS without the route says nothing. Either way there is nothing to warn about here.
      this.el.hidden = true;
    }
  }
}
