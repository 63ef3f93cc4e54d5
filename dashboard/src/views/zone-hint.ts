// The zone a date or time input means. Native date inputs are drawn in the browser's locale, but
// the values they hold are the site's wall time: the label says so ("(site time, Europe/Berlin)").
// The shell updates every hint on the page when it learns the site's zone.
import { h } from '../dom.ts';

export const zoneHintText = (zone: string | undefined): string => (zone ? `(site time, ${zone})` : '(site time)');

export function zoneHint(): HTMLElement {
  const zone = document.querySelector<HTMLElement>('[data-site-time-zone]')?.dataset.siteTimeZone;
  return h('span', { class: 'muted small zone-hint', 'data-zone-hint': '' }, ` ${zoneHintText(zone)}`);
}
