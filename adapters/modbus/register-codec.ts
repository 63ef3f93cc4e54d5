// Pure: typed values <-> 16-bit registers. Not-implemented sentinels (SunSpec's, which most vendors
// share) decode to null, never to 0.

export type RegisterType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'acc32' | 'float32' | 'int64' | 'uint64' | 'float64';
export type WordOrder = 'msw' | 'lsw';

export const registerCount = (type: RegisterType): number =>
  type === 'int16' || type === 'uint16' ? 1 : type === 'int64' || type === 'uint64' || type === 'float64' ? 4 : 2;

/** Registers of one value, most significant word first. */
function words(registers: readonly number[], offset: number, count: number, order: WordOrder): number[] {
  const slice = registers.slice(offset, offset + count);
  if (slice.length !== count) throw new RangeError(`need ${count} registers at offset ${offset}, have ${slice.length}`);
  return order === 'lsw' ? slice.reverse() : slice;
}

function toBuffer(msWords: readonly number[]): Buffer {
  const buffer = Buffer.alloc(msWords.length * 2);
  msWords.forEach((word, i) => buffer.writeUInt16BE(word & 0xffff, i * 2));
  return buffer;
}

/**
 * Decode one value. Null when the device marks it unsupported (SunSpec's not-implemented marker): int16 0x8000, uint16 0xFFFF,
 * int32 0x80000000, uint32 0xFFFFFFFF, acc32 0, int64 0x8000…, uint64 all ones, float NaN.
 */
export function decodeRegister(registers: readonly number[], offset: number, type: RegisterType, order: WordOrder = 'msw'): number | null {
  const buffer = toBuffer(words(registers, offset, registerCount(type), order));
  switch (type) {
    case 'int16': {
      const v = buffer.readInt16BE(0);
      return v === -0x8000 ? null : v;
    }
    case 'uint16': {
      const v = buffer.readUInt16BE(0);
      return v === 0xffff ? null : v;
    }
    case 'int32': {
      const v = buffer.readInt32BE(0);
      return v === -0x80000000 ? null : v;
    }
    case 'uint32': {
      const v = buffer.readUInt32BE(0);
      return v === 0xffffffff ? null : v;
    }
    case 'acc32': {
      const v = buffer.readUInt32BE(0);
      return v === 0 ? null : v;
    }
    case 'float32': {
      const v = buffer.readFloatBE(0);
      return Number.isFinite(v) ? v : null;
    }
    case 'int64': {
      const v = buffer.readBigInt64BE(0);
      return v === -(1n << 63n) ? null : Number(v);
    }
    case 'uint64': {
      const v = buffer.readBigUInt64BE(0);
      return v === (1n << 64n) - 1n ? null : Number(v);
    }
    case 'float64': {
      const v = buffer.readDoubleBE(0);
      return Number.isFinite(v) ? v : null;
    }
  }
}

/** Encode a value for a write (FC6/FC16). Integers are rounded and clamped to the type's range. */
export function encodeRegister(value: number, type: RegisterType, order: WordOrder = 'msw'): number[] {
  const count = registerCount(type);
  const buffer = Buffer.alloc(count * 2);
  const clamp = (lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(value)));
  switch (type) {
    case 'int16':
      buffer.writeInt16BE(clamp(-0x7fff, 0x7fff));
      break;
    case 'uint16':
      buffer.writeUInt16BE(clamp(0, 0xfffe));
      break;
    case 'int32':
      buffer.writeInt32BE(clamp(-0x7fffffff, 0x7fffffff));
      break;
    case 'uint32':
    case 'acc32':
      buffer.writeUInt32BE(clamp(0, 0xfffffffe));
      break;
    case 'float32':
      buffer.writeFloatBE(value);
      break;
    case 'int64':
      buffer.writeBigInt64BE(BigInt(Math.round(value)));
      break;
    case 'uint64':
      buffer.writeBigUInt64BE(BigInt(Math.max(0, Math.round(value))));
      break;
    case 'float64':
      buffer.writeDoubleBE(value);
      break;
  }
  const result: number[] = [];
  for (let i = 0; i < count; i++) result.push(buffer.readUInt16BE(i * 2));
  return order === 'lsw' ? result.reverse() : result;
}

/** SunSpec strings: two ASCII characters per register, NUL padded. */
export function decodeString(registers: readonly number[], offset: number, count: number): string {
  const bytes: number[] = [];
  for (const word of registers.slice(offset, offset + count)) bytes.push(word >> 8, word & 0xff);
  const end = bytes.indexOf(0);
  return String.fromCharCode(...(end < 0 ? bytes : bytes.slice(0, end))).trim();
}
