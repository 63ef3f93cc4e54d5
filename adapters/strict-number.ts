// Pure: how numbers from devices and MQTT commands are read. Only plain decimal notation counts:
// an optional minus, digits, an optional fraction and an optional exponent ("12.5", "-3", "1e3").
// Refused: hex ("0x10"), binary/octal prefixes, "Infinity", "NaN", "", whitespace-only, a leading
// "+", thousands separators ("1_000", "1,000"), a decimal comma ("12,5"), and any trailing text.
// A JSON string holding plain decimal text ("12.5") is accepted like the number 12.5: some devices
// quote every value; the same strict rule applies to what is inside the quotes.

const DECIMAL = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/** The number in `text` (plain decimal, surrounding spaces ignored), or undefined. */
export function parseDecimal(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length > 64 || !DECIMAL.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/** A finite JSON number, or a string in plain decimal notation; undefined for anything else. */
export function strictNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return parseDecimal(value);
  return undefined;
}
