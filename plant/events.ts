import type { Triple } from './types.ts';

/** OCPP connector status as a charger reports it. */
export type PlantConnectorStatus = 'Available' | 'Preparing' | 'Charging' | 'SuspendedEV' | 'SuspendedEVSE' | 'Finishing';

export type ProfileAnswer = 'Accepted' | 'Rejected' | 'NotSupported' | 'Offline';

/**
 * What the plant's devices tell the EMS, each at the moment it arrives there (`atMs`, plant time).
 * A measurement also carries when it was taken (`measuredAtMs`).
 */
export type PlantEvent =
  | { kind: 'meter'; atMs: number; meterId: string; measuredAtMs: number; currentA: Triple; powerW: number }
  | { kind: 'connected'; atMs: number; chargerId: string }
  | { kind: 'disconnected'; atMs: number; chargerId: string }
  | { kind: 'status'; atMs: number; chargerId: string; connectorId: number; status: PlantConnectorStatus }
  | { kind: 'transaction-started'; atMs: number; chargerId: string; connectorId: number; transactionId: number; idTag: string; meterStartWh: number }
  | { kind: 'transaction-ended'; atMs: number; chargerId: string; connectorId: number; transactionId: number; meterStopWh: number }
  | {
      kind: 'meter-values';
      atMs: number;
      chargerId: string;
      connectorId: number;
      measuredAtMs: number;
      /** Per charger terminal L1..L3 (per-phase reporting). */
      currentA?: Triple;
      /** One Current.Import without a phase (a charger that reports the sum of its phases). */
      currentImportA?: number;
      powerW: number;
      energyWh: number;
      socPct: number;
    }
  | { kind: 'profile-answer'; atMs: number; chargerId: string; requestId: number; status: ProfileAnswer }
  | { kind: 'trigger-answer'; atMs: number; chargerId: string; requestId: number; connectorId: number; status: TriggerAnswerStatus };

/** TriggerMessage.conf status (OCPP 1.6 and 2.0.1). */
export type TriggerAnswerStatus = 'Accepted' | 'Rejected' | 'NotImplemented';

/** Something changed outside the EMS's control: the start of a reaction window. */
export interface OutsideChange {
  atMs: number;
  kind: 'load-step' | 'car-arrived' | 'car-left' | 'car-full' | 'car-woke' | 'charger-offline' | 'charger-online' | 'signal' | 'pv-swing';
  id: string;
}
