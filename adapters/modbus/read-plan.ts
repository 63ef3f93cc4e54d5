// Pure: group register ranges into as few reads as possible. Only truly contiguous (or overlapping)
// ranges of the same function code and unit merge, because many devices answer exception 2 for a
// read that spans an unmapped gap. No read is longer than 125 registers (the Modbus PDU limit).

export const MAX_REGISTERS_PER_READ = 125;

export interface RegisterRange {
  unitId: number;
  fc: 3 | 4;
  address: number;
  count: number;
}

export function planReads(ranges: readonly RegisterRange[], maxPerRead = MAX_REGISTERS_PER_READ): RegisterRange[] {
  const sorted = [...ranges].sort((a, b) => a.unitId - b.unitId || a.fc - b.fc || a.address - b.address);
  const merged: RegisterRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && last.unitId === range.unitId && last.fc === range.fc && range.address <= last.address + last.count) {
      last.count = Math.max(last.count, range.address + range.count - last.address);
    } else {
      merged.push({ ...range });
    }
  }
  return merged.flatMap((range) => splitRange(range, maxPerRead));
}

/** A long range (a whole SunSpec model) in chunks of at most `maxPerRead` registers. */
export function splitRange(range: RegisterRange, maxPerRead = MAX_REGISTERS_PER_READ): RegisterRange[] {
  const parts: RegisterRange[] = [];
  for (let offset = 0; offset < range.count; offset += maxPerRead) {
    parts.push({ ...range, address: range.address + offset, count: Math.min(maxPerRead, range.count - offset) });
  }
  return parts;
}
