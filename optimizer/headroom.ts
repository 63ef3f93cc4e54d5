// headroom(): the site-level picture (limit, non-EV load, what is left per phase) for given caps,
// computed the same way decide() sees the site. For the API and dashboard between decisions; pass
// the last decision's memory so the estimate is the one decide() used.
import type { ConnectorCap, DecideParams, DecideState, HeadroomReport, SiteSnapshot } from './types.ts';
import { connectorKey, initialDecideState } from './types.ts';
import { floorDa } from './numbers.ts';
import { siteIndex } from './site-index.ts';
import { buildSlots } from './slot.ts';
import { headroomReport, siteCapacity } from './site-headroom.ts';
import { siteView } from './site-view.ts';

export function headroom(snapshot: SiteSnapshot, params: DecideParams, caps: readonly ConnectorCap[] = [], memory: DecideState = initialDecideState): HeadroomReport {
  const index = siteIndex(params);
  const view = siteView(snapshot, params, index, memory.estimate, (key) => memory.connectors?.[key]?.currentA);
  const slots = buildSlots(snapshot, params, initialDecideState, index, view);
  const capacity = siteCapacity(view, params, index, slots);
  const byKey = new Map(caps.map((cap) => [connectorKey(cap.chargerId, cap.connectorId), cap.currentA]));
  for (const slot of slots) slot.capDa = floorDa(Math.max(0, byKey.get(slot.key) ?? 0) || 0);
  return headroomReport(capacity, slots, index, params);
}
