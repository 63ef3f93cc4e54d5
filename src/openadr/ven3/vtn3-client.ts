import { z } from 'zod';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../log.ts';
import { OpenAdrAuthError, OpenAdrProtocolError, OpenAdrTransportError } from '../errors.ts';
import { sendHttp, type TlsMaterial } from '../http-request.ts';
import { authServerInfoSchema, tokenResponseSchema } from './schemas.ts';

export interface Vtn3ClientOptions {
  baseUrl: string;
  tls: TlsMaterial;
  timeoutMs: number;
  credentials?: { id: string; secret: string } | undefined;
  clock: Clock;
  log: Logger;
}

/** Refresh this long before the VTN says the token expires. */
const TOKEN_MARGIN_MS = 30_000;
const PAGE_SIZE = 50;
const MAX_PAGES = 40;

/**
 * REST access to a 3.1 VTN: OAuth2 client credentials with the token URL discovered at
 * GET /auth/server, JSON in and out, every answer validated with a zod schema.
 */
export class Vtn3Client {
  private token: { value: string; expiresAtMs: number } | undefined;
  private readonly base: string;

  constructor(private readonly options: Vtn3ClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  /** The current bearer token (fetched when needed), e.g. as the MQTT notifier password. */
  accessToken(): Promise<string | undefined> {
    return this.fetchToken();
  }

  private async fetchToken(): Promise<string | undefined> {
    const credentials = this.options.credentials;
    if (!credentials) return undefined;
    const now = this.options.clock.nowMs();
    if (this.token && this.token.expiresAtMs > now) return this.token.value;
    const info = await this.send('GET', '/auth/server', authServerInfoSchema, undefined, false);
    const tokenUrl = new URL(info.tokenURL, `${this.base}/`).toString();
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.id, client_secret: credentials.secret });
    const res = await sendHttp({
      method: 'POST',
      url: tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      tls: this.options.tls,
      timeoutMs: this.options.timeoutMs,
    });
    if (res.status === 400 || res.status === 401) throw new OpenAdrAuthError(`token request refused (HTTP ${res.status}): ${res.body.slice(0, 200)}`);
    if (res.status < 200 || res.status >= 300) throw new OpenAdrTransportError(`token request: HTTP ${res.status}`, res.status);
    const parsed = tokenResponseSchema.safeParse(safeJson(res.body));
    if (!parsed.success) throw new OpenAdrProtocolError(`token response is invalid: ${parsed.error.issues[0]?.message}`);
    const lifetimeMs = (parsed.data.expires_in ?? 3600) * 1000;
    this.token = { value: parsed.data.access_token, expiresAtMs: now + Math.max(lifetimeMs - TOKEN_MARGIN_MS, lifetimeMs / 2) };
    this.options.log.debug({ tokenUrl }, 'obtained OAuth2 token');
    return this.token.value;
  }

  async send<S extends z.ZodType>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, schema: S, body?: unknown, authenticate = true): Promise<z.output<S>> {
    for (let attempt = 0; ; attempt++) {
      const token = authenticate ? await this.fetchToken() : undefined;
      const res = await sendHttp({
        method,
        url: `${this.base}${path}`,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        tls: this.options.tls,
        timeoutMs: this.options.timeoutMs,
      });
      if (res.status === 401 && token && attempt === 0) {
        this.token = undefined; // expired or revoked early: one fresh token, then give up
        continue;
      }
      if (res.status === 401 || res.status === 403) throw new OpenAdrAuthError(`${method} ${path}: HTTP ${res.status}`);
      if (res.status < 200 || res.status >= 300) throw new OpenAdrTransportError(`${method} ${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`, res.status);
      const json = safeJson(res.body);
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new OpenAdrProtocolError(`${method} ${path}: invalid answer at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, { cause: parsed.error });
      }
      return parsed.data;
    }
  }

  /** All pages of a list endpoint (skip/limit), bounded. */
  async list<S extends z.ZodType>(path: string, query: Record<string, string>, schema: S): Promise<z.output<S>[]> {
    const items: z.output<S>[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = new URLSearchParams({ ...query, skip: String(page * PAGE_SIZE), limit: String(PAGE_SIZE) });
      const batch = (await this.send('GET', `${path}?${params}`, arrayOf(schema))) as z.output<S>[];
      items.push(...batch);
      if (batch.length < PAGE_SIZE) return items;
    }
    throw new OpenAdrProtocolError(`${path}: more than ${MAX_PAGES * PAGE_SIZE} objects`);
  }
}

function arrayOf<S extends z.ZodType>(schema: S): z.ZodType<z.output<S>[]> {
  return z.array(schema) as unknown as z.ZodType<z.output<S>[]>;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OpenAdrProtocolError(`not JSON: ${text.slice(0, 80)}`, { cause: error });
  }
}
