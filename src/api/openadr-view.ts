// The VENs' status as the operator sees it: GET /api/v1/openadr, the dashboard's events page,
// and the ems_openadr_* metrics. One view per configured VTN.
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { isoOrNull } from '../grid-signal.ts';
import type { VenStatus } from '../openadr/types.ts';

const iso = z.string().describe('ISO 8601 time');

export const venEventViewSchema = z.object({
  eventId: z.string(),
  modificationNumber: z.number(),
  program: z.string(),
  state: z.enum(['far', 'near', 'active', 'completed', 'cancelled']),
  opt: z.enum(['in', 'out']),
  applied: z.boolean().describe('its signals are on the timeline'),
  note: z.string().nullable(),
});

export const venViewSchema = z.object({
  id: z.string().describe('the openadr entry in the config'),
  version: z.enum(['2.0b', '3.1']),
  registered: z.boolean(),
  venId: z.string().nullable(),
  vtnId: z.string().nullable(),
  lastPollAt: iso.nullable().describe('last poll attempt, whatever its outcome'),
  lastContactAt: iso.nullable().describe('last good answer from the VTN'),
  lastError: z.string().nullable().describe('the current fault; null while the VTN answers'),
  failedExchanges: z.number().int().describe('exchanges with the VTN that failed since start'),
  faults: z.number().int().describe('times the exchange went from working to failing since start'),
  pollIntervalMs: z.number(),
  notifications: z.array(z.string()).describe('push channels besides polling (3.1: webhook, mqtt)'),
  certificate: z
    .object({
      fingerprint: z.string().nullable().describe('2.0b: how the VTN knows this VEN'),
      expiresAt: iso.nullable(),
      expiresInDays: z.number().nullable(),
    })
    .describe('the certificate this VEN presents'),
  events: z.array(venEventViewSchema),
});

export const openAdrViewSchema = z.object({ vtns: z.array(venViewSchema) });

export type VenView = z.infer<typeof venViewSchema>;
export type OpenAdrView = z.infer<typeof openAdrViewSchema>;

const DAY_MS = 86_400_000;

export function venView(status: VenStatus, nowMs: number): VenView {
  const expires = status.certificateExpiresAtMs;
  return {
    id: status.id,
    version: status.version,
    registered: status.registered,
    venId: status.venId ?? null,
    vtnId: status.vtnId ?? null,
    lastPollAt: isoOrNull(status.lastPollAtMs),
    lastContactAt: isoOrNull(status.lastContactAtMs),
    lastError: status.lastError ?? null,
    failedExchanges: status.failedExchanges,
    faults: status.faults,
    pollIntervalMs: status.pollIntervalMs,
    notifications: status.notifications ?? [],
    certificate: {
      fingerprint: status.certificateFingerprint ?? null,
      expiresAt: isoOrNull(expires),
      expiresInDays: expires === undefined ? null : Math.floor((expires - nowMs) / DAY_MS),
    },
    events: status.events.map((e) => ({ ...e, note: e.note ?? null })),
  };
}

/** ems_openadr_* gauges, read from the VENs when scraped. */
export function registerOpenAdrMetrics(registry: Registry, statuses: () => readonly VenStatus[], nowMs: () => number): void {
  const each = (fn: (status: VenStatus) => void) => {
    for (const status of statuses()) fn(status);
  };
  new Gauge({
    name: 'ems_openadr_registered',
    help: 'Whether the VEN is registered with its VTN (1) or not (0)',
    labelNames: ['vtn', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => this.set({ vtn: s.id, version: s.version }, s.registered ? 1 : 0));
    },
  });
  new Gauge({
    name: 'ems_openadr_fault',
    help: 'Whether the last exchange with the VTN failed (1) or worked (0)',
    labelNames: ['vtn'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => this.set({ vtn: s.id }, s.lastError ? 1 : 0));
    },
  });
  new Counter({
    name: 'ems_openadr_failed_exchanges_total',
    help: 'Exchanges with the VTN (poll, registration, report) that failed since start',
    labelNames: ['vtn'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => this.inc({ vtn: s.id }, s.failedExchanges));
    },
  });
  new Counter({
    name: 'ems_openadr_faults_total',
    help: 'Times the exchange with the VTN went from working to failing since start (a lasting fault counts once)',
    labelNames: ['vtn'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => this.inc({ vtn: s.id }, s.faults));
    },
  });
  new Gauge({
    name: 'ems_openadr_last_contact_age_seconds',
    help: 'Seconds since the VTN last answered',
    labelNames: ['vtn'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => s.lastContactAtMs !== undefined && this.set({ vtn: s.id }, (nowMs() - s.lastContactAtMs) / 1000));
    },
  });
  new Gauge({
    name: 'ems_openadr_events',
    help: 'Events the VEN knows, by state',
    labelNames: ['vtn', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => {
        const counts = new Map<string, number>();
        for (const e of s.events) counts.set(e.state, (counts.get(e.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ vtn: s.id, state }, n);
      });
    },
  });
  new Gauge({
    name: 'ems_openadr_certificate_expiry_seconds',
    help: 'Seconds until the certificate the VEN presents expires (negative: expired)',
    labelNames: ['vtn'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => s.certificateExpiresAtMs !== undefined && this.set({ vtn: s.id }, (s.certificateExpiresAtMs - nowMs()) / 1000));
    },
  });
}
