import { z } from 'zod';
import type { UpstreamChargerStatus } from '../upstream/index.ts';

const iso = z.string().describe('ISO 8601');

/** A charger's two links in local-controller mode (config `upstream`); shown per charger. */
export const upstreamViewSchema = z.object({
  upstreamId: z.string().describe("the charger's identity towards the CSMS"),
  chargerLink: z.enum(['connected', 'disconnected']).describe('charger ↔ EMS'),
  uplink: z.enum(['connecting', 'online', 'offline', 'refused', 'closed']).describe('EMS ↔ CSMS for this charger; refused: the CSMS refused its credentials'),
  queueLength: z.number().int().describe('transaction frames held for the CSMS (durable)'),
  lastFromCharger: iso.nullable(),
  lastToCharger: iso.nullable(),
  lastFromCsms: iso.nullable(),
  lastToCsms: iso.nullable(),
  lastError: z.string().nullable(),
  csmsProfiles: z.number().int().describe("the CSMS's charging profiles the EMS keeps and folds into its own"),
});

export type UpstreamView = z.infer<typeof upstreamViewSchema>;

const time = (atMs: number | undefined) => (atMs === undefined ? null : new Date(atMs).toISOString());

export function upstreamView(s: UpstreamChargerStatus): UpstreamView {
  return {
    upstreamId: s.upstreamId,
    chargerLink: s.chargerLink,
    uplink: s.uplink,
    queueLength: s.queueLength,
    lastFromCharger: time(s.lastFromChargerAtMs),
    lastToCharger: time(s.lastToChargerAtMs),
    lastFromCsms: time(s.lastFromCsmsAtMs),
    lastToCsms: time(s.lastToCsmsAtMs),
    lastError: s.lastError ?? null,
    csmsProfiles: s.csmsProfiles,
  };
}
