// headroom(): the site-level picture (limit, non-EV load, what is left per phase) for given caps,
// computed the same way decide() sees the site. For the API and dashboard between decisions.
import type { ConnectorCap, DecideParams, HeadroomReport, SiteSnapshot } from './types.ts';
import { connectorKey, initialDecideState } from './types.ts';
import { floorDa } from './numbers.ts';
import { siteIndex } from './site-index.ts';
import { buildSlots } from './slot.ts';
import { headroomReport, siteCapacity } from './site-headroom.ts';
import { gridStaleness } from './failsafe.ts';

export function headroom(snapshot: SiteSnapshot, params: DecideParams, caps: readonly ConnectorCap[] = []): HeadroomReport {
  const index = siteIndex(params);
  const slots = buildSlots(snapshot, params, initialDecideState, index);
  const mode = gridStaleness(snapshot, params).failsafe ? 'failsafe' : params.grid.metered ? 'measured' : 'unmetered';
  const capacity = siteCapacity(snapshot, params, index, slots, mode);
  const byKey = new Map(caps.map((cap) => [connectorKey(cap.chargerId, cap.connectorId), cap.currentA]));
  for (const slot of slots) slot.capDa = floorDa(Math.max(0, byKey.get(slot.key) ?? 0) || 0);
  return headroomReport(capacity, slots);
}
