// Pure: build SunSpec register images (for simulated devices and tests). Values are given in
// engineering units; each scaled point is encoded with the scale factor written for it.
import { encodeRegister, registerCount } from './register-codec.ts';
import { SUNSPEC_MODELS } from './sunspec-models.ts';

/** L (registers after ID and L) of the models this project knows. */
export const SUNSPEC_MODEL_LENGTHS: Readonly<Record<number, number>> = {
  1: 66, 101: 50, 102: 50, 103: 50, 111: 60, 112: 60, 113: 60,
  201: 105, 202: 105, 203: 105, 204: 105, 211: 124, 212: 124, 213: 124, 214: 124,
  123: 24, 124: 24, 701: 153, 702: 50, 704: 65, 713: 7, 802: 62,
};

export interface ModelSpec {
  id: number;
  /** Point name -> value in units; null writes the type's not-implemented marker. */
  values?: Record<string, number | null>;
  /** Scale-factor register offset -> exponent. Defaults to 0 for every SF a value uses. */
  scaleFactors?: Record<number, number>;
  /** Raw register overrides: offset -> value (after everything else). */
  raw?: Record<number, number>;
  /** Model 1 strings. */
  common?: { manufacturer?: string; model?: string; serial?: string };
}

const NOT_IMPLEMENTED: Record<string, number[]> = {
  int16: [0x8000], uint16: [0xffff], int32: [0x8000, 0], uint32: [0xffff, 0xffff], acc32: [0, 0],
  float32: [0x7fc0, 0], int64: [0x8000, 0, 0, 0], uint64: [0xffff, 0xffff, 0xffff, 0xffff], float64: [0x7ff8, 0, 0, 0],
};

export function asciiRegisters(text: string, count: number): number[] {
  const bytes = Buffer.alloc(count * 2);
  bytes.write(text.slice(0, count * 2), 'ascii');
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(bytes.readUInt16BE(i * 2));
  return out;
}

/** One model: [ID, L, ...body]. */
export function sunSpecModel(spec: ModelSpec): number[] {
  const length = SUNSPEC_MODEL_LENGTHS[spec.id];
  if (length === undefined) throw new RangeError(`unknown model length for ${spec.id}; pass raw registers instead`);
  const regs = new Array<number>(length + 2).fill(0);
  regs[0] = spec.id;
  regs[1] = length;
  if (spec.id === 1) {
    regs.splice(2, 16, ...asciiRegisters(spec.common?.manufacturer ?? 'ExampleCo', 16));
    regs.splice(18, 16, ...asciiRegisters(spec.common?.model ?? 'Sim', 16));
    regs.splice(50, 16, ...asciiRegisters(spec.common?.serial ?? 'SN0001', 16));
    regs[66] = 1;
  }
  const def = SUNSPEC_MODELS[spec.id] ?? {};
  const sfs = { ...spec.scaleFactors };
  for (const [name, value] of Object.entries(spec.values ?? {})) {
    const point = def[name];
    if (!point) throw new RangeError(`model ${spec.id} has no point ${name} in this project's tables`);
    let words: number[];
    if (value === null) words = NOT_IMPLEMENTED[point.type];
    else {
      const sf = point.sf === undefined ? 0 : (sfs[point.sf] ??= 0);
      words = encodeRegister(value / 10 ** sf, point.type);
    }
    regs.splice(point.offset, registerCount(point.type), ...words);
  }
  for (const [offset, sf] of Object.entries(sfs)) regs[Number(offset)] = sf & 0xffff;
  for (const [offset, value] of Object.entries(spec.raw ?? {})) regs[Number(offset)] = value & 0xffff;
  return regs;
}

/** "SunS", the models in order, the end marker: the full image starting at `base`. */
export function sunSpecImage(models: readonly ModelSpec[]): number[] {
  return [0x5375, 0x6e53, ...models.flatMap(sunSpecModel), 0xffff, 0];
}

/** Address of model `id` (its ID register) in an image built from `models` at `base`. */
export function modelAddress(base: number, models: readonly ModelSpec[], id: number, nth = 1): number {
  let address = base + 2;
  let seen = 0;
  for (const m of models) {
    if (m.id === id && ++seen === nth) return address;
    address += 2 + SUNSPEC_MODEL_LENGTHS[m.id];
  }
  throw new RangeError(`model ${id} not in image`);
}
