import type { SiteSnapshot } from '../../optimizer/types.ts';

/**
 * A source of per-session power ceilings computed outside decide(): the horizon planner's target
 * for the current slot, solar-only charging modes. The control loop takes the lowest ceiling per
 * session and hands it to decide() as `targetPowerW`; decide()'s guarantees still win.
 */
export interface CeilingProvider {
  readonly name: string;
  /** Key: `${chargerId}/${connectorId}`; value: W. Sessions not in the map are unconstrained. */
  ceilingsW(snapshot: SiteSnapshot): ReadonlyMap<string, number>;
}
