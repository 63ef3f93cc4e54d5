import type { ConnectorCap } from '../../optimizer/types.ts';

export interface ApplyResult {
  /** Profiles sent this round (after deadband and rate limits). */
  sent: number;
  /** Decreases that were not confirmed; increases were held back when any. */
  unconfirmedDecreases: number;
}

/**
 * What the control loop asks of the charger side (implemented by src/ocpp). The implementation
 * owns the deadband, per-charger rate limits, "decreases are confirmed before increases", retries
 * and reporting each profile's state on the bus as 'profile.status'.
 */
export interface ChargerCommands {
  applyCaps(caps: readonly ConnectorCap[]): Promise<ApplyResult>;
}
