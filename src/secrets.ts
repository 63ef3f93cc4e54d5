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

/** `Authorization: Basic …` / `Bearer …` inside free text. */
const AUTH_SCHEME = /\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{6,}/g;
/** `password=x`, `token: x`, `"secret":"x"`, `?access_token=x` inside free text. */
const KEY_VALUE = /(["']?)\b([A-Za-z_][\w.-]*)\1(\s*[:=]\s*)(["']?)([^\s"',;&)}\]]+)\4/g;

/**
 * Free text (a log message, an error's message or stack, an audit note) with every secret in it
 * masked: credentials inside URLs, HTTP Basic/Bearer credentials, and the value after a secret
 * key name (`password=…`, `"token": "…"`). Errs on the side of masking.
 */
export function redactSecretText(text: string): string {
  if (!text) return text;
  const masked = redactUrlCredentials(text).replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${SECRET_MASK}`);
  // By hand rather than replace(): after a key that is no secret, the scan goes on right after
  // its separator, so in "Error: password=x" the value "password=x" is looked at as a pair too.
  let out = '';
  let from = 0;
  KEY_VALUE.lastIndex = 0;
  for (let m = KEY_VALUE.exec(masked); m; m = KEY_VALUE.exec(masked)) {
    const [match, q1, key, sep, q2, value] = m as unknown as [string, string, string, string, string, string];
    if (isSecretKey(key) && value !== SECRET_MASK && value !== 'Basic' && value !== 'Bearer') {
      out += `${masked.slice(from, m.index)}${q1}${key}${q1}${sep}${q2}${SECRET_MASK}${q2}`;
      from = m.index + match.length;
    } else KEY_VALUE.lastIndex = m.index + q1.length * 2 + key.length + sep.length;
  }
  return out + masked.slice(from);
}

function redactDeep<T>(value: T, text: (s: string) => string): T {
  if (typeof value === 'string') return text(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, text)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = isSecretKey(key) && (typeof v === 'string' || typeof v === 'number') ? SECRET_MASK : redactDeep(v, text);
  }
  return out as T;
}

/** A deep copy with every secret value masked: by key, and credentials inside any string's URLs. */
export function redactSecrets<T>(value: T): T {
  return redactDeep(value, redactUrlCredentials);
}

/** As redactSecrets, and every string is also treated as free text (redactSecretText): for logs. */
export function redactSecretsInText<T>(value: T): T {
  return redactDeep(value, redactSecretText);
}
