// Pure: SunSpec model blocks (registers from the model's ID register on) -> values with units.
// value = raw × 10^SF; a not-implemented raw value or scale factor gives null ("unknown"), never 0.
import type { DeviceReading, DeviceRole, Triple } from '../types.ts';
import { decodeRegister, encodeRegister } from './register-codec.ts';
import { INVERTER_MODELS, METER_MODELS, SINGLE_PHASE_MODELS, SUNSPEC_MODELS, type SunSpecPoint } from './sunspec-models.ts';

export type DecodedModel = Record<string, number | null>;
export type DecodedModels = ReadonlyMap<number, DecodedModel>;

/** A scale factor is an int16 exponent; 0x8000 is the not-implemented marker. Plausible range only. */
export function decodeScaleFactor(block: readonly number[], offset: number): number | null {
  const sf = decodeRegister(block, offset, 'int16');
  return sf === null || sf < -10 || sf > 10 ? null : sf;
}

export function decodePoint(block: readonly number[], point: SunSpecPoint): number | null {
  if (point.offset + 1 > block.length) return null;
  const raw = decodeRegister(block, point.offset, point.type);
  if (raw === null) return null;
  if (point.sf === undefined) return raw;
  const sf = decodeScaleFactor(block, point.sf);
  if (sf === null) return null;
  // toPrecision avoids 12.340000000000002 from 1234 × 10^-2.
  return Number((raw * 10 ** sf).toPrecision(12));
}

/** Decode every known point of a model; unknown model ids give an empty record. */
export function decodeModel(modelId: number, block: readonly number[]): DecodedModel {
  const def = SUNSPEC_MODELS[modelId];
  const out: DecodedModel = {};
  if (!def) return out;
  for (const [name, point] of Object.entries(def)) out[name] = decodePoint(block, point);
  return out;
}

/** Raw register values to write `value` into a scaled point, given the model block (for its SF). */
export function encodeScaledPoint(block: readonly number[], point: SunSpecPoint, value: number): number[] {
  const sf = point.sf === undefined ? 0 : (decodeScaleFactor(block, point.sf) ?? 0);
  return encodeRegister(value / 10 ** sf, point.type);
}

const first = (models: DecodedModels, ids: readonly number[]): [number, DecodedModel] | undefined => {
  for (const id of ids) {
    const model = models.get(id);
    if (model) return [id, model];
  }
  return undefined;
};

function triple(model: DecodedModel, names: readonly [string, string, string], singlePhase: boolean): Triple | undefined {
  const values = names.map((n) => model[n] ?? null);
  if (singlePhase && values[0] !== null) return [values[0], 0, 0];
  return values.every((v) => v !== null) ? (values as Triple) : undefined;
}

type ReadingValues = Omit<DeviceReading, 'deviceId' | 'role' | 'atMs'>;

/**
 * Values for one role from the models a SunSpec device offers. Sign conventions as SunSpec:
 * meters + import, inverters + production, DER 701 + generation (so + discharge for storage).
 */
export function sunSpecReading(role: DeviceRole, models: DecodedModels): ReadingValues {
  const out: ReadingValues = {};
  const put = <K extends keyof ReadingValues>(key: K, value: ReadingValues[K] | null | undefined) => {
    if (value !== null && value !== undefined) out[key] = value;
  };
  const meter = first(models, METER_MODELS);
  const inverter = first(models, INVERTER_MODELS);
  const der = models.get(701);

  if ((role === 'grid-meter' || role === 'load') && meter) {
    const [id, m] = meter;
    put('powerW', m.W);
    put('currentA', triple(m, ['AphA', 'AphB', 'AphC'], SINGLE_PHASE_MODELS.has(id)));
    put('voltageV', triple(m, ['PhVphA', 'PhVphB', 'PhVphC'], SINGLE_PHASE_MODELS.has(id)));
    put('energyImportWh', m.TotWhImp);
    put('energyExportWh', m.TotWhExp);
    return out;
  }
  if (role === 'battery') {
    const battery = models.get(802);
    const storage = models.get(124);
    put('socPct', battery?.SoC ?? models.get(713)?.SoC ?? storage?.ChaState);
    put('powerW', battery?.W ?? der?.W ?? inverter?.[1].W);
    if (der) put('currentA', triple(der, ['AL1', 'AL2', 'AL3'], false));
    return out;
  }
  if (inverter) {
    const [id, m] = inverter;
    put('powerW', m.W);
    put('currentA', triple(m, ['AphA', 'AphB', 'AphC'], SINGLE_PHASE_MODELS.has(id)));
    put('voltageV', triple(m, ['PhVphA', 'PhVphB', 'PhVphC'], SINGLE_PHASE_MODELS.has(id)));
    put('energyExportWh', m.WH);
  } else if (der) {
    put('powerW', der.W);
    put('currentA', triple(der, ['AL1', 'AL2', 'AL3'], false));
    put('voltageV', triple(der, ['VL1', 'VL2', 'VL3'], false));
    put('energyExportWh', der.TotWhInj);
    put('energyImportWh', der.TotWhAbs);
  }
  return out;
}

/** Which models to read for a role (the ones sunSpecReading looks at, plus control models). */
export function modelsForRole(role: DeviceRole): number[] {
  if (role === 'grid-meter' || role === 'load') return [...METER_MODELS];
  if (role === 'battery') return [802, 713, 124, 701, 702, 704, ...INVERTER_MODELS];
  return [...INVERTER_MODELS, 701, 702, 704, 123];
}
