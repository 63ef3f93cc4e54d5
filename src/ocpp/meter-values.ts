import type { ConnectorMeter } from '../bus.ts';
import type { MeterValue, SampledValue } from './messages.ts';

export interface MeterParse {
  /** One reading per meterValue entry that carried anything usable, oldest first. */
  readings: Omit<ConnectorMeter, 'chargerId' | 'connectorId'>[];
  /** Human-readable reasons for every sampled value that was dropped. */
  dropped: string[];
}

const MAX_CURRENT_A = 2_000;
const MAX_POWER_W = 5_000_000;

const PHASE_INDEX: Record<string, number> = { L1: 0, L2: 1, L3: 2, 'L1-N': 0, 'L2-N': 1, 'L3-N': 2 };

/**
 * Turns MeterValues into per-connector readings: Current.Import per phase (a value without a phase
 * counts for every phase the charger has), Power.Active.Import (W or kW), the energy register (Wh or
 * kWh) and SoC. Values that are not numbers, negative or absurd are dropped and listed in `dropped`.
 * `localTimeOf` places the charger's timestamp of an entry on our clock (ChargerLink.chargerTime).
 */
export function parseMeterValues(meterValues: readonly MeterValue[], chargerPhases: 1 | 3, localTimeOf: (timestamp: string) => number): MeterParse {
  const dropped: string[] = [];
  const readings: MeterParse['readings'] = [];
  for (const entry of meterValues) {
    const reading: MeterParse['readings'][number] = { atMs: localTimeOf(entry.timestamp) };
    let currentA: [number, number, number] | undefined;
    let phasePowerW: number | undefined;
    for (const sample of entry.sampledValue) {
      const measurand = sample.measurand ?? 'Energy.Active.Import.Register';
      if (!['Current.Import', 'Power.Active.Import', 'Energy.Active.Import.Register', 'SoC'].includes(measurand)) continue;
      if (sample.location === 'Body' || sample.format === 'SignedData') continue;
      const value = numeric(sample);
      const drop = (why: string) => dropped.push(`${measurand}${sample.phase ? ` ${sample.phase}` : ''} = ${JSON.stringify(sample.value)}: ${why}`);
      if (value === undefined) {
        drop('not a number');
        continue;
      }
      switch (measurand) {
        case 'Current.Import': {
          if (sample.unit !== undefined && sample.unit !== 'A') {
            drop(`unit ${sample.unit} is not A`);
            break;
          }
          if (value < 0 || value > MAX_CURRENT_A) {
            drop('out of range');
            break;
          }
          const phase = sample.phase === undefined ? undefined : PHASE_INDEX[sample.phase];
          if (sample.phase !== undefined && phase === undefined) {
            drop(`phase ${sample.phase} is not a line phase`);
            break;
          }
          currentA ??= [0, 0, 0];
          if (phase !== undefined) currentA[phase] = value;
          else for (let p = 0; p < chargerPhases; p++) currentA[p] = value;
          break;
        }
        case 'Power.Active.Import': {
          const scale = sample.unit === undefined || sample.unit === 'W' ? 1 : sample.unit === 'kW' ? 1000 : undefined;
          if (scale === undefined) {
            drop(`unit ${sample.unit} is not W or kW`);
            break;
          }
          const powerW = value * scale;
          if (powerW < 0 || powerW > MAX_POWER_W) {
            drop('out of range');
            break;
          }
          if (sample.phase === undefined) reading.powerW = powerW;
          else phasePowerW = (phasePowerW ?? 0) + powerW;
          break;
        }
        case 'Energy.Active.Import.Register': {
          const scale = sample.unit === undefined || sample.unit === 'Wh' ? 1 : sample.unit === 'kWh' ? 1000 : undefined;
          if (scale === undefined) {
            drop(`unit ${sample.unit} is not Wh or kWh`);
            break;
          }
          if (value < 0) {
            drop('negative');
            break;
          }
          if (sample.phase === undefined) reading.energyWh = value * scale;
          break;
        }
        case 'SoC': {
          if (value < 0 || value > 100) {
            drop('out of range');
            break;
          }
          reading.socPct = value;
          break;
        }
      }
    }
    if (currentA) reading.currentA = currentA;
    if (reading.powerW === undefined && phasePowerW !== undefined) reading.powerW = phasePowerW;
    if (Object.keys(reading).length > 1) readings.push(reading);
  }
  readings.sort((a, b) => a.atMs - b.atMs);
  return { readings, dropped };
}

function numeric(sample: SampledValue): number | undefined {
  const text = sample.value.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}
