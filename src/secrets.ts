// What counts as a secret, and how it is hidden: by key name (password, secret, token, key...) and
// inside URLs (scheme://user:password@host). One place for the API, the audit log and the logger.

/** What the API shows instead of a secret; sending it back unchanged keeps the stored value. */
export const SECRET_MASK = '********';

const SECRET_KEY = /pass(word)?|secret|token|credential|authorization|(^|[^a-z])key$|^key$|privatekey|apikey/i;
/** Keys whose values name a file or say how a secret is used, not the secret itself. */
const NOT_SECRET = /^(tokenUrl|keyFile|tls|key|cert|ca|clientCert|passwordGiven|maxTokens)$/;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(:[^\s/@]*)?@/gi;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !NOT_SECRET.test(key);
}

/** `mqtt://user:pw@host` → `mqtt://user:********@host`; a lone user part (a token) is masked too. */
export function redactUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, (_m, scheme: string, user: string, password: string | undefined) =>
    password !== undefined ? `${scheme}${user}:${SECRET_MASK}@` : `${scheme}${SECRET_MASK}@`,
  );
}

/** A deep copy with every secret value masked: by key, and credentials inside any string. */
export function redactSecrets<T>(value: T): T {
  if (typeof value === 'string') return redactUrlCredentials(value) as T;
  if (Array.isArray(value)) return value.map(redactSecrets) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = isSecretKey(key) && (typeof v === 'string' || typeof v === 'number') ? SECRET_MASK : redactSecrets(v);
  }
  return out as T;
}
