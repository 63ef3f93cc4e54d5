// Warnings about an OpenADR setup that works today but should not be left as it is: a webhook the
// VTN would call over plain HTTP (the bearer token and the events in the clear), a plain-HTTP 3.1
// VTN, and certificates that have expired or expire within 30 days. `ems check-config` prints them
// and the EMS logs them at start. Reads the certificate files named in the config.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConfigProblem } from '../../config/config-problem.ts';
import type { Config } from '../../config/schema.ts';

export const CERTIFICATE_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

export function openAdrConfigWarnings(config: Pick<Config, 'openadr'>, nowMs: number): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  const warn = (path: string, message: string) => warnings.push({ path, message, severity: 'warning' });
  for (const [index, entry] of (config.openadr ?? []).entries()) {
    const at = `openadr.${index}`;
    if (entry.webhook) {
      if (entry.webhook.publicUrl.startsWith('http:')) {
        warn(`${at}.webhook.publicUrl`, `the VTN would call ${entry.webhook.publicUrl} over plain HTTP: its bearer token and the events travel in the clear (OpenADR 3.1 requires HTTPS)`);
      }
      if (!entry.webhook.tls) warn(`${at}.webhook.tls`, 'the webhook is served over plain HTTP; set webhook.tls (cert, key) or put it behind a TLS proxy');
    }
    if (entry.version === '3.1' && entry.vtnUrl.startsWith('http:')) {
      warn(`${at}.vtnUrl`, 'plain HTTP to the VTN: the OAuth2 secret and token travel in the clear (OpenADR 3.1 requires HTTPS)');
    }
    const certificates: [string, string | undefined][] = [
      [`${at}.tls.cert`, entry.tls?.cert],
      [`${at}.tls.ca`, entry.tls?.ca],
      [`${at}.webhook.tls.cert`, entry.webhook?.tls?.cert],
    ];
    for (const [path, file] of certificates) {
      if (!file) continue;
      const problem = certificateProblem(file, nowMs);
      if (problem) warn(path, problem);
    }
  }
  return warnings;
}

function certificateProblem(file: string, nowMs: number): string | undefined {
  let validToMs: number;
  try {
    validToMs = Date.parse(new X509Certificate(readFileSync(file)).validTo);
  } catch (error) {
    return `cannot read the certificate ${file}: ${(error as Error).message}`;
  }
  if (!Number.isFinite(validToMs)) return undefined;
  const days = Math.floor((validToMs - nowMs) / DAY_MS);
  const when = new Date(validToMs).toISOString();
  if (validToMs <= nowMs) return `the certificate ${file} expired on ${when}: the VTN will refuse the connection`;
  if (days < CERTIFICATE_WARNING_DAYS) return `the certificate ${file} expires in ${days} day(s), on ${when}: renew it`;
  return undefined;
}
