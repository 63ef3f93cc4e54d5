// SunSpec discovery: find "SunS" at 40000, 0 or 50000, walk the model chain to the 0xFFFF end
// marker, and split it into logical devices (each model 1 starts one). Never hard-code model
// addresses: they move between firmware versions.
import { DeviceProtocolError, ModbusConnectionError, ModbusTimeoutError } from '../errors.ts';
import { decodeString } from './register-codec.ts';

export const SUNSPEC_BASES = [40000, 0, 50000] as const;
const SUNS = [0x5375, 0x6e53];
const END_MODEL = 0xffff;
const MAX_MODELS = 200;

export interface SunSpecModelRef {
  id: number;
  /** Address of the model's ID register. */
  address: number;
  /** L: registers after ID and L. */
  length: number;
}

export interface SunSpecDeviceMap {
  /** 1-based position in the chain. */
  index: number;
  base: number;
  manufacturer?: string;
  model?: string;
  serial?: string;
  models: SunSpecModelRef[];
}

/** Reads holding registers of one unit; throws the adapter's errors. */
export type HoldingReader = (address: number, count: number) => Promise<number[]>;

export async function findSunSpecBase(read: HoldingReader, bases: readonly number[] = SUNSPEC_BASES): Promise<number> {
  const failures: string[] = [];
  let timeouts = 0;
  for (const base of bases) {
    try {
      const header = await read(base, 2);
      if (header[0] === SUNS[0] && header[1] === SUNS[1]) return base;
      failures.push(`${base}: no SunS marker`);
    } catch (error) {
      if (error instanceof ModbusConnectionError) throw error;
      if (error instanceof ModbusTimeoutError) timeouts++;
      failures.push(`${base}: ${(error as Error).message}`);
    }
  }
  const hint = timeouts === bases.length ? ' (every probe timed out: check the unit id)' : '';
  const Err = timeouts === bases.length ? ModbusTimeoutError : DeviceProtocolError;
  throw new Err(`no SunSpec map found${hint}: ${failures.join('; ')}`);
}

/** Walk the chain from `base`. ID and L are read separately: some devices answer nothing after the end marker. */
export async function walkSunSpecChain(read: HoldingReader, base: number): Promise<SunSpecDeviceMap[]> {
  const devices: SunSpecDeviceMap[] = [];
  let address = base + 2;
  for (let n = 0; n < MAX_MODELS; n++) {
    if (address > 0xffff) throw new DeviceProtocolError(`SunSpec chain runs past 65535 without an end marker`);
    const [id] = await read(address, 1);
    if (id === END_MODEL) return finish(devices);
    const [length] = await read(address + 1, 1);
    if (id === 0 || length === 0xffff) throw new DeviceProtocolError(`garbled SunSpec chain at ${address}: model ${id}, length ${length}`);
    const ref: SunSpecModelRef = { id, address, length };
    if (id === 1 || devices.length === 0) {
      devices.push({ index: devices.length + 1, base, models: [] });
    }
    const device = devices.at(-1)!;
    device.models.push(ref);
    if (id === 1) {
      const common = await read(address, Math.min(length + 2, 125));
      device.manufacturer = decodeString(common, 2, 16);
      device.model = decodeString(common, 18, 16);
      device.serial = decodeString(common, 50, 16);
    }
    address += 2 + length;
  }
  throw new DeviceProtocolError(`SunSpec chain longer than ${MAX_MODELS} models`);
}

function finish(devices: SunSpecDeviceMap[]): SunSpecDeviceMap[] {
  if (!devices.length) throw new DeviceProtocolError('SunSpec chain holds no models');
  return devices;
}

export async function scanSunSpec(read: HoldingReader, bases: readonly number[] = SUNSPEC_BASES): Promise<SunSpecDeviceMap[]> {
  return walkSunSpecChain(read, await findSunSpecBase(read, bases));
}
