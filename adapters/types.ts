// Capabilities the shell asks of a device, one method each, and the typed readings they return.
// Adapters speak device protocols; they know nothing of the optimizer or the shell.

export type DeviceRole = 'grid-meter' | 'pv' | 'battery' | 'load';
export type Triple = [number, number, number];

/** One good reading with units. Values a device does not provide (or marks not-implemented) are absent. */
export interface DeviceReading {
  deviceId: string;
  role: DeviceRole;
  atMs: number;
  /** Per-phase current, A; sign per role: grid import positive, load consumption positive. */
  currentA?: Triple;
  voltageV?: Triple;
  /** Active power, W. Grid: + import / − export. PV: + production. Battery: + discharge / − charge. */
  powerW?: number;
  energyImportWh?: number;
  energyExportWh?: number;
  /** Battery state of charge, percent. */
  socPct?: number;
}

export type DeviceHealthState = 'online' | 'stale' | 'error' | 'offline';

export interface DeviceHealth {
  deviceId: string;
  role: DeviceRole;
  health: DeviceHealthState;
  lastReadingAtMs?: number;
  lastError?: string;
}

export interface Meter {
  read(): Promise<DeviceReading>;
}

export interface BatteryControl {
  /** + discharge / − charge, W. */
  setPowerW(powerW: number): Promise<void>;
}

export interface PvControl {
  /** Active power limit, W; undefined lifts curtailment. */
  setLimitW(limitW: number | undefined): Promise<void>;
}
