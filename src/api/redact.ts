const SECRET_KEY = /pass(word)?|secret|token|(^|[^a-z])key$|^key/i;

/** A deep copy with secret-looking values replaced, for audit entries and config reads. */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map(redactSecrets) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && (typeof v === 'string' || typeof v === 'number') ? '***' : redactSecrets(v);
  }
  return out as T;
}
