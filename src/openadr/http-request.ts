import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { OpenAdrTransportError } from './errors.ts';

export interface TlsFiles {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  rejectUnauthorized?: boolean | undefined;
}

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/** Reads the PEM files named in the config once, at start. */
export function loadTls(files: TlsFiles | undefined): TlsMaterial {
  const read = (path: string | undefined, what: string) => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new OpenAdrTransportError(`cannot read the ${what} file ${path}`, undefined, { cause: error });
    }
  };
  return {
    ca: read(files?.ca, 'CA certificate'),
    cert: read(files?.cert, 'client certificate'),
    key: read(files?.key, 'client key'),
    rejectUnauthorized: files?.rejectUnauthorized ?? true,
  };
}

export interface HttpResponse {
  status: number;
  contentType: string;
  body: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  tls?: TlsMaterial;
  timeoutMs: number;
  /** 2.0b: pin TLS 1.2 (mutual TLS with the spec's SHA-256 suites). */
  tls12Only?: boolean;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;
// The 2.0b suites (ECDHE-ECDSA / RSA with AES-128-CBC-SHA256) first, then modern TLS 1.2 ones.
const TLS12_CIPHERS = ['ECDHE-ECDSA-AES128-SHA256', 'AES128-SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'].join(':');

/** One HTTP(S) exchange; any network failure becomes an OpenAdrTransportError. */
export function sendHttp(req: HttpRequest): Promise<HttpResponse> {
  const url = new URL(req.url);
  const isHttps = url.protocol === 'https:';
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  const options: RequestOptions = {
    method: req.method,
    headers: { ...req.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
    timeout: req.timeoutMs,
  };
  if (isHttps) {
    Object.assign(options, {
      ca: req.tls?.ca,
      cert: req.tls?.cert,
      key: req.tls?.key,
      rejectUnauthorized: req.tls?.rejectUnauthorized ?? true,
      ...(req.tls12Only ? { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: TLS12_CIPHERS } : { minVersion: 'TLSv1.2' }),
    });
  }
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) => reject(new OpenAdrTransportError(`${req.method} ${url.origin}${url.pathname}: ${why}`, undefined, { cause }));
    const request = (isHttps ? httpsRequest : httpRequest)(url, options, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          request.destroy();
          fail(`response larger than ${MAX_BODY_BYTES} bytes`);
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', (error) => fail(error.message, error));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${req.timeoutMs} ms`)));
    request.on('error', (error) => fail(error.message, error));
    request.end(body);
  });
}

/** The 2.0b VEN fingerprint: the last 10 bytes of the certificate's SHA-256, colon-separated hex. */
export function venFingerprint(certPem: Buffer | undefined): string | undefined {
  if (!certPem) return undefined;
  try {
    return new X509Certificate(certPem).fingerprint256.split(':').slice(-10).join(':');
  } catch {
    return undefined;
  }
}

/** When the certificate (PEM) stops being valid, ms since epoch; undefined when there is none or it cannot be read. */
export function certificateExpiryMs(certPem: Buffer | undefined): number | undefined {
  if (!certPem) return undefined;
  try {
    const ms = Date.parse(new X509Certificate(certPem).validTo);
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}
