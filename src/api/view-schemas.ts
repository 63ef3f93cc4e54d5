import { z } from 'zod';

// The read models the API answers with. The builders in state-view.ts are typed by these, the
// OpenAPI document shows them, and a test parses real answers with them.
const iso = z.string().describe('ISO 8601 time');
const triple = z.tuple([z.number(), z.number(), z.number()]);

export const sessionViewSchema = z.object({
  transactionId: z.number().int(),
  idTag: z.string(),
  name: z.string().nullable().describe("the tag's configured name (idTags[].name), e.g. \"Bus 12\""),
  tier: z.string(),
  chargeMode: z.string().nullable().describe('fast | minpv | pv (null without solar charging)'),
  startedAt: iso.nullable(),
  departure: iso.nullable(),
  energyWh: z.number().describe('delivered so far'),
  energyNeedWh: z.number().nullable(),
  soc: z.number().nullable().describe('state of charge, %'),
  paused: z.boolean(),
  cost: z.number().nullable().describe('cost so far at the import prices in force (null without the tariff service)'),
  currency: z.string().nullable(),
});

export const connectorViewSchema = z.object({
  chargerId: z.string(),
  connectorId: z.number().int(),
  status: z.string(),
  online: z.boolean().describe('the charger holds its OCPP connection'),
  errorCode: z.string().nullable(),
  capA: z.number().nullable().describe('cap from the last decision, A per phase'),
  drawA: z.number().describe('measured draw, highest phase, A'),
  drawPhasesA: triple.describe("measured draw per charger phase, A"),
  powerW: z.number().nullable(),
  phases: z.union([z.literal(1), z.literal(3)]),
  maxCurrentA: z.number().nullable().describe("the charger's max current (config chargers[].maxCurrent), A per phase"),
  reason: z.string().nullable().describe('why the cap is what it is, for people'),
  reasonKind: z.string().nullable(),
  rank: z.number().int().nullable().describe('position in the priority order'),
  profile: z
    .object({
      state: z.string(),
      capA: z.number(),
      at: iso.nullable(),
      reservedA: z.number().optional().describe('what the connector may draw whatever the EMS decides (A per phase), when more than its cap'),
      uncontrollable: z.boolean().optional().describe('true: the charger refuses or ignores profiles; it counts at its max'),
    })
    .nullable()
    .describe('the last limit sent and whether the charger took it'),
  session: sessionViewSchema.nullable(),
  plan: z
    .object({
      chargesFrom: iso.nullable().describe('start of the first slot from now on in which the plan charges the car; null: not within its horizon'),
      readyBy: iso.nullable().describe('end of the last slot the plan charges it in, when the plan meets its energy need'),
      shortWh: z.number().describe('energy need the plan leaves unmet, Wh'),
      because: z.enum(['cheaper', 'solar']).nullable().describe('why later rather than now: import cheaper then, or more PV forecast'),
    })
    .nullable()
    .optional()
    .describe("what the horizon planner intends for the session (null without a plan for it)"),
});

export const deviceViewSchema = z.object({
  id: z.string(),
  role: z.string(),
  driver: z.string().nullable(),
  health: z.string(),
  lastReadingAt: iso.nullable(),
  ageMs: z.number().nullable(),
  stale: z.boolean(),
  lastError: z.string().nullable(),
  reading: z.object({ powerW: z.number().nullable(), currentA: triple.nullable(), socPct: z.number().nullable() }).nullable(),
});

export const signalViewSchema = z.looseObject({
  id: z.string(),
  source: z.string(),
  kind: z.string(),
  value: z.number(),
  start: iso.nullable(),
  end: iso.nullable().describe('null when open-ended'),
  openEnded: z.boolean().describe('in force until withdrawn'),
  active: z.boolean(),
});

export const siteViewSchema = z.object({
  name: z.string(),
  timezone: z.string().describe("the site's IANA time zone (site.timezone); every time on the dashboard is shown in it"),
  voltage: z.number(),
  gridCurrentA: triple.nullable(),
  gridPowerW: z.number().nullable().describe('+ import'),
  buildingPowerW: z.number().nullable(),
  pvPowerW: z.number().nullable(),
  batteryPowerW: z.number().nullable().describe('+ discharge'),
  batterySoc: z.number().nullable(),
  evPowerW: z.number().nullable(),
  limitPowerW: z.number().nullable().describe('import the site may use now, W'),
  headroomA: triple.nullable().describe('room left per phase under the tightest limit (circuits, import power cap, signals), A'),
  headroomW: z.number().nullable().describe('import-power room left at the connection point, W (null until the optimizer reports it)'),
  binding: z
    .object({ kind: z.string().describe('circuit | grid-current | grid-power | signal | none'), id: z.string().optional(), phase: z.string().optional(), text: z.string() })
    .nullable()
    .describe('the limit that leaves the least room'),
  limitA: triple.nullable(),
  tiers: z.array(z.string()).describe('configured tiers, highest priority first (for steering)'),
  failsafe: z.boolean(),
});

export const stateViewSchema = z.object({
  at: iso.nullable(),
  decidedAt: iso.nullable(),
  site: siteViewSchema,
  connectors: z.array(connectorViewSchema),
  devices: z.array(deviceViewSchema),
  signals: z.array(signalViewSchema),
});

export type ConnectorView = z.infer<typeof connectorViewSchema>;
export type DeviceView = z.infer<typeof deviceViewSchema>;
export type SignalView = z.infer<typeof signalViewSchema>;
export type StateView = z.infer<typeof stateViewSchema>;

export const connectorHistoryViewSchema = z.object({
  resolution: z.enum(['1m', '15m']),
  from: iso,
  to: iso,
  connectors: z.array(
    z.object({
      chargerId: z.string(),
      connectorId: z.number().int(),
      energyWh: z.number().describe('energy into the car over the range, Wh'),
      points: z.array(
        z.object({
          atMs: z.number().int().describe('start of the interval, epoch ms'),
          energyWh: z.number(),
          powerW: z.number().describe('mean power over the interval'),
          currentA: triple.describe('mean current per charger phase L1-L3, A'),
          capA: z.number().describe('mean cap the EMS gave, A per phase'),
        }),
      ),
    }),
  ),
});
