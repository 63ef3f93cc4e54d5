// The one schema of the system. Types are inferred from it (z.infer); never write them twice.
// Pure: imports only zod. Cross-reference checks (ids, tree shape) live in validate-config.ts.
import { z } from 'zod';
import { deviceSchema, mqttSchema, solarChargingSchema } from './device-schema.ts';

export * from './device-schema.ts';

const id = z.string().min(1).max(48).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'use letters, digits, . _ : - (starting with a letter or digit)');
const positive = z.number().positive();
/** Physical bounds: a value beyond them is a typo (a 1e308 A fuse), not a site. */
const currentA = (maxA: number) => z.number().positive().max(maxA, `at most ${maxA} A; larger is not a real fuse or charger`);
const powerW = z.number().max(1e9, 'at most 1 GW');
/** URLs the EMS fetches or publishes: web schemes only (no file:, no javascript:). */
const webUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), { message: 'use an http:// or https:// URL' });
const phaseRotation = z.enum(['L1L2L3', 'L2L3L1', 'L3L1L2', 'L1L3L2', 'L2L1L3', 'L3L2L1']);

export const priorityScheme = z.enum(['fcfs', 'departure', 'soc', 'tier', 'equal']);

export const siteSchema = z.strictObject({
  name: z.string().min(1).default('EV site'),
  voltage: z.number().min(50).max(1000).default(230).describe('V, phase to neutral'),
  timezone: z.string().min(1).default('UTC'),
});

export const gridSchema = z.strictObject({
  maxCurrent: currentA(10_000).describe('A per phase at the connection point (main fuse)'),
  maxPower: powerW.positive().optional().describe('W import cap (demand-charge target)'),
  maxExportPower: powerW.nonnegative().optional().describe('W export cap'),
  meter: id.optional().describe('device id that measures the connection point; omit for static balancing'),
  safetyMargin: z.number().min(0).max(0.5).default(0.05).describe('fraction of every limit kept in reserve'),
});

export const controlSchema = z.strictObject({
  intervalMs: z.number().int().min(100).max(60_000).default(1000),
  staleAfterMs: z.number().int().min(500).default(10_000),
  failsafeCurrent: z.number().min(0).default(6).describe('A per active connector while site data is stale'),
  priority: priorityScheme.default('fcfs'),
  tiers: z.record(z.string().min(1), z.number().int().min(0)).default({ fleet: 3, staff: 2, guest: 1 }),
  deadbandA: z.number().min(0).default(0.5).describe('cap changes smaller than this are not sent'),
  capHoldMs: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe("a session's cap is not raised within this long of its last change (10000 suits most sites), and a decrease no limit needs is not made; 0: off"),
  minPauseMs: z.number().int().min(0).default(120_000).describe('a paused session stays paused at least this long'),
  profileMinIntervalMs: z.number().int().min(0).default(2_000).describe('rate limit of increases per connector'),
  profileDurationS: z.number().int().min(60).default(300).describe('TxProfile duration; it expires into the safe default'),
  meterValueIntervalS: z
    .number()
    .int()
    .min(1)
    .max(300)
    .default(10)
    .describe("MeterValueSampleInterval asked of chargers, s; a charger's measured draw counts for 2.5 of these"),
  unusedHoldMs: z.number().int().min(0).default(30_000).describe('a car must draw less than its cap this long before the rest is lent out'),
  rampReserveA: z.number().min(0).default(2).describe('A kept above measured draw so a car can ramp up'),
  disconnectedHoldMs: z.number().int().min(0).default(300_000).describe('a charger lost mid-session keeps its capacity this long'),
  carResponseS: z
    .number()
    .min(0)
    .max(60)
    .default(5)
    .describe('s a car may take to follow a lower limit (IEC 61851: 5 s); freed capacity is handed on only after it'),
  acceptUnknownIdTags: z.boolean().default(false).describe('unknown RFID tags charge as the lowest tier instead of Invalid'),
  uncontrollable: z
    .enum(['reserve', 'refuse-sessions'])
    .default('reserve')
    .describe('a charger that cannot be capped is reserved at its max; refuse-sessions also refuses its tags while the site cannot afford its max'),
});

export type CircuitConfig = {
  id: string;
  maxCurrent: number;
  chargers?: string[] | undefined;
  meter?: string | undefined;
  children?: CircuitConfig[] | undefined;
};
export const circuitSchema: z.ZodType<CircuitConfig> = z.lazy(() =>
  z.strictObject({
    id,
    maxCurrent: currentA(10_000).describe('A per phase'),
    chargers: z.array(id).optional(),
    meter: id.optional().describe('a load-role device that measures this circuit'),
    children: z.array(circuitSchema).optional(),
  }),
);

export const chargerSchema = z.strictObject({
  id,
  connectors: z.number().int().min(1).max(8).default(1),
  maxCurrent: currentA(1_000).default(32).describe('A per phase'),
  minCurrent: currentA(1_000).default(6).describe('A per phase; cars cannot charge below 6 A'),
  phases: z.union([z.literal(1), z.literal(3)]).default(3),
  phaseRotation: phaseRotation.default('L1L2L3').describe("how the charger's L1..L3 map onto the site's"),
  connection: z
    .enum(['L1-L2', 'L2-L3', 'L3-L1'])
    .optional()
    .describe('single-phase charger wired line-to-line between these two lines (site.voltage stays line-to-neutral); phaseRotation is then ignored'),
  password: z.string().min(8).max(40).optional().describe('OCPP Security Profile 1 basic-auth password'),
  tier: z.string().min(1).optional().describe('default tier for sessions on this charger'),
  upstreamId: z.string().min(1).max(48).regex(/^[A-Za-z0-9._:*+@-]+$/, 'letters, digits and . _ : * + @ - only').optional().describe("this charger's identity towards upstream.url; default its id"),
  upstreamPassword: z.string().min(8).max(40).optional().describe('HTTP Basic password towards upstream.url (Security Profile 1/2)'),
  smartCharging: z.boolean().optional().describe('false: the charger cannot be capped (no OCPP smart charging); it counts at its max. Default: true'),
});

export const idTagSchema = z.strictObject({
  idTag: z
    .string()
    .min(1)
    .max(20)
    .regex(/^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$/, 'printable ASCII, no leading or trailing blank (what chargers send)'),
  tier: z.string().min(1).default('guest'),
  name: z.string().optional(),
  departure: z.string().regex(/^\d{2}:\d{2}$/).optional().describe('usual departure, HH:MM local'),
  energyNeedWh: z.number().positive().optional(),
});

export const listenSchema = (defaultPort: number) =>
  z.strictObject({
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(defaultPort),
    tls: z.strictObject({ cert: z.string(), key: z.string(), ca: z.string().optional() }).optional(),
  });

export const ocppListenSchema = listenSchema(9000).extend({
  tls: z
    .strictObject({
      cert: z.string().describe('PEM server certificate (chain) of the central system'),
      key: z.string().describe('PEM private key of the server certificate'),
      ca: z.string().optional().describe('PEM CA bundle that signs the chargers\' client certificates (Security Profile 3)'),
      clientCert: z
        .enum(['none', 'required'])
        .default('none')
        .describe('required: Security Profile 3, a charger must present a certificate chained to ca whose CN or a SAN is its id'),
    })
    .refine((tls) => tls.clientCert !== 'required' || tls.ca !== undefined, { message: 'clientCert: required needs ca (the CA that signs the charger certificates)', path: ['ca'] })
    .optional()
    .describe('wss:// for chargers (Security Profile 2; 3 with clientCert: required)'),
});

export const httpListenSchema = listenSchema(8080).extend({
  trustProxy: z
    .union([z.boolean(), z.array(z.string().min(1)).min(1)])
    .default(false)
    .describe('take the client address from X-Forwarded-For: true trusts every hop, a list trusts those proxy addresses/CIDRs only'),
  publicMetrics: z.boolean().default(true).describe('false: /metrics needs an API token (Authorization: Bearer)'),
  publicDocs: z.boolean().default(true).describe('false: /api/docs needs a login'),
});

export const storageSchema = z.strictObject({
  path: z
    .string()
    .min(1)
    .refine((p) => !/^\/(proc|sys|dev)(\/|$)/.test(p) || p === ':memory:', { message: 'storage.path must be a file on a real filesystem, not under /proc, /sys or /dev' })
    .default('data/ems.sqlite'),
});

export const openadrSchema = z.strictObject({
  id,
  version: z.enum(['2.0b', '3.1']),
  vtnUrl: webUrl.describe('2.0b: the EiEvent/OadrPoll base (…/OpenADR2/Simple/2.0b); 3.1: the API base'),
  venName: z.string().min(1).max(128),
  pollIntervalS: z.number().positive().default(10).describe('3.1 poll period; 2.0b uses the VTN-requested frequency when it is slower'),
  tls: z
    .strictObject({
      ca: z.string().optional().describe('PEM file of the CA that signs the VTN certificate'),
      cert: z.string().optional().describe('PEM client certificate (2.0b mutual TLS)'),
      key: z.string().optional().describe('PEM private key of the client certificate'),
      rejectUnauthorized: z.boolean().default(true).describe('false only for a private test VTN'),
    })
    .optional(),
  client: z.strictObject({ id: z.string().min(1), secret: z.string().min(1) }).optional().describe('3.1 OAuth2 client credentials'),
  simpleLevels: z
    .record(z.string().regex(/^[0-3]$/), z.number().nonnegative(), {
      error: (issue) => (issue.code === 'invalid_key' ? 'SIMPLE levels are 0..3' : undefined),
    })
    .default({})
    .describe('W import limit per SIMPLE level; a level without an entry imposes no limit'),
  programs: z.array(z.string().min(1)).default([]).describe('3.1 program names or 2.0b market contexts to follow; empty = all'),
  reportIntervalS: z.number().int().min(1).default(60).describe('telemetry report period (site import power)'),
  optOut: z.boolean().default(false).describe('answer every event optOut and apply none (report-only participation)'),
  randomize: z.boolean().default(true).describe('honour startafter / randomizeStart with a stable per-event offset'),
  requestTimeoutMs: z.number().int().min(100).default(10_000),
  webhook: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(0),
      publicUrl: webUrl.describe('callback URL the VTN can reach (3.1 subscriptions)'),
      tls: z.strictObject({ cert: z.string(), key: z.string() }).optional().describe('serve the callback over HTTPS (the spec wants HTTPS)'),
    })
    .optional()
    .describe('3.1 only: subscribe to event notifications when the VTN can reach this VEN'),
  mqttNotifications: z.boolean().default(false).describe("3.1 only: also take event notifications from the VTN's MQTT broker (outbound, NAT-friendly)"),
}).superRefine((entry, ctx) => {
  if (Boolean(entry.tls?.cert) !== Boolean(entry.tls?.key)) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'give both cert and key for a client certificate' });
  }
  if (entry.version === '2.0b') {
    if (entry.vtnUrl.startsWith('https:') && !entry.tls?.cert) {
      ctx.addIssue({ code: 'custom', path: ['tls', 'cert'], message: '2.0b needs a client certificate (mutual TLS): set tls.cert and tls.key' });
    }
    if (entry.client) ctx.addIssue({ code: 'custom', path: ['client'], message: 'client credentials are for 3.1; 2.0b authenticates with tls.cert' });
    if (entry.webhook) ctx.addIssue({ code: 'custom', path: ['webhook'], message: 'webhook is 3.1 only; 2.0b polls' });
    if (entry.mqttNotifications) ctx.addIssue({ code: 'custom', path: ['mqttNotifications'], message: 'MQTT notifications are 3.1 only; 2.0b polls' });
  }
});

const dayName = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun', 'hol']);
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'use HH:MM (00:00..24:00)');
export const tariffPeriodSchema = z.strictObject({
  days: z.array(dayName).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']).describe("'hol' matches the listed holidays"),
  from: hhmm.default('00:00').describe('local time, inclusive'),
  to: hhmm.default('24:00').describe('local time, exclusive; from > to wraps past midnight'),
  months: z.array(z.number().int().min(1).max(12)).min(1).optional().describe('season: 1..12'),
  price: z.number().describe('currency per kWh (g/kWh for carbon)'),
});
/** A value per kWh that depends on local time: first matching period wins, else `default`. */
export const touScheduleSchema = z.strictObject({
  default: z.number(),
  periods: z.array(tariffPeriodSchema).default([]),
});
export const tariffsSchema = z.strictObject({
  currency: z.string().min(1).default('EUR'),
  import: touScheduleSchema.default({ default: 0.3, periods: [] }),
  export: touScheduleSchema.default({ default: 0, periods: [] }),
  holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'use YYYY-MM-DD')).default([]).describe("local dates billed as day 'hol'"),
  demandCharge: z.strictObject({ pricePerKW: z.number().min(0), windowMin: z.number().int().min(1).max(60).default(15).describe('averaging window of the billed peak') }).optional(),
  feed: z
    .strictObject({
      driver: z.enum(['mqtt', 'http']),
      topic: z.string().min(1).optional().describe('MQTT topic (uses the top-level mqtt.url)'),
      url: webUrl.optional().describe('HTTP URL answering JSON prices'),
      pollIntervalS: z.number().positive().default(900),
    })
    .refine((f) => (f.driver === 'mqtt' ? f.topic !== undefined : f.url !== undefined), { message: 'mqtt feeds need topic, http feeds need url' })
    .optional(),
  carbon: touScheduleSchema.optional().describe('grid carbon intensity, g/kWh'),
});
export const plannerSchema = z.strictObject({
  enabled: z.boolean().default(true),
  horizonH: z.number().positive().max(168).default(24),
  slotMin: z.number().int().positive().max(120).default(15),
  solver: z.enum(['highs', 'jslp']).default('highs'),
  timeLimitMs: z.number().int().min(50).default(5000).describe('a plan later than this is dropped; greedy control continues'),
  carbonPricePerKg: z.number().min(0).default(0).describe('weight of grid CO2 in the objective, currency per kg'),
  unmetPenaltyPerKWh: z.number().positive().default(100).describe('cost of a kWh not delivered by departure; keep it above what a kW of demand charge buys'),
  steerUnknownDepartures: z.boolean().default(false).describe('also shift sessions whose departure is unknown (assuming defaultDwellH); off: they charge as soon as possible'),
  defaultDwellH: z.number().positive().default(8).describe('assumed stay when a session has no departure and steerUnknownDepartures is on'),
  defaultEnergyNeedWh: z.record(z.string().min(1), z.number().positive()).default({}).describe('per tier, when a session has no need'),
  carBatteryWh: z.number().positive().optional().describe('assumed car battery size: a session that reports SoC but no need wants (targetSocPct - SoC) of it'),
  targetSocPct: z.number().min(1).max(100).default(100),
  baseLoadW: z.array(z.number()).min(1).optional().describe('building load curve over a day, equal steps from local midnight'),
  pvForecastW: z.array(z.number().min(0)).min(1).optional().describe('PV production curve over a day, equal steps from local midnight'),
  battery: z
    .strictObject({
      capacityWh: z.number().positive(),
      maxChargeW: z.number().positive(),
      maxDischargeW: z.number().positive(),
      efficiency: z.number().gt(0).max(1).default(0.92).describe('one-way'),
      minSocPct: z.number().min(0).max(100).default(10),
      maxSocPct: z.number().min(0).max(100).default(95),
    })
    .optional(),
});

export const influxSchema = z.strictObject({
  url: webUrl.describe('InfluxDB 1.x HTTP API, e.g. http://127.0.0.1:8086 (2.x: its v1-compatible API)'),
  database: z.string().min(1).describe('database (2.x: the bucket mapped through a DBRP)'),
  username: z.string().optional(),
  password: z.string().optional(),
  retentionPolicy: z.string().optional(),
  measurementPrefix: z.string().default('ems_'),
  sampleIntervalMs: z.number().int().min(1000).default(10_000).describe('one sample of site, connectors and devices per interval'),
  batchSize: z.number().int().min(1).max(50_000).default(1000).describe('points per write'),
  flushIntervalMs: z.number().int().min(100).default(5000),
  maxBufferPoints: z.number().int().min(100).default(100_000).describe('offline buffer; the oldest points are dropped beyond it'),
  timeoutMs: z.number().int().min(100).default(5000).describe('a write that takes longer counts as failed'),
});

export const upstreamSchema = z
  .strictObject({
    url: z.string().url().regex(/^wss?:\/\//, 'must start with ws:// or wss://').describe("the cloud CSMS's OCPP endpoint; the charger's upstreamId is appended"),
    protocol: z.enum(['ocpp1.6', 'ocpp2.0.1']).optional().describe("default: the charger's own; another version than the charger's is translated both ways (1.6 charger to a 2.0.1 CSMS and the reverse; docs/local-controller.md)"),
    tls: z
      .strictObject({
        ca: z.string().optional().describe('PEM file of the CA that signs the CSMS certificate'),
        cert: z.string().optional().describe('PEM client certificate (Security Profile 3)'),
        key: z.string().optional().describe('PEM private key of the client certificate'),
      })
      .optional(),
    acceptUnknownOffline: z.boolean().default(false).describe('while the uplink is down, accept a tag the local list and the cache do not know'),
    callTimeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe('a forwarded call the CSMS does not answer in time is handled locally'),
    reconnectMinMs: z.number().int().min(10).default(1000).describe('first reconnect delay; doubles per failure'),
    reconnectMaxMs: z.number().int().min(10).default(60_000).describe('cap of the reconnect delay'),
    maxQueuedFrames: z
      .number()
      .int()
      .min(10)
      .max(1_000_000)
      .default(10_000)
      .describe("per charger, frames held for the CSMS while the uplink is down; beyond it the oldest meter values inside a transaction are dropped (never a transaction's start or end)"),
  })
  .superRefine((u, ctx) => {
    if (Boolean(u.tls?.cert) !== Boolean(u.tls?.key)) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'give both cert and key for a client certificate' });
    if (u.tls && u.url.startsWith('ws:')) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls needs a wss:// url' });
    if (u.reconnectMaxMs < u.reconnectMinMs) ctx.addIssue({ code: 'custom', path: ['reconnectMaxMs'], message: 'must not be below reconnectMinMs' });
  });

export const demoSchema = z.strictObject({
  chargers: z.number().int().min(1).max(2000).default(8),
  speed: z.number().min(1).max(3600).default(1).describe('simulated seconds per real second'),
  seed: z.number().int().default(1),
});

export const configSchema = z.strictObject({
  site: siteSchema.prefault({}),
  grid: gridSchema,
  control: controlSchema.prefault({}),
  circuits: z.array(circuitSchema).default([]),
  chargers: z.array(chargerSchema).default([]),
  idTags: z.array(idTagSchema).default([]),
  devices: z.array(deviceSchema).default([]),
  ocpp: ocppListenSchema.prefault({}),
  http: httpListenSchema.prefault({}),
  storage: storageSchema.prefault({}),
  openadr: z.array(openadrSchema).optional(),
  tariffs: tariffsSchema.optional(),
  planner: plannerSchema.optional(),
  mqtt: mqttSchema.optional(),
  solarCharging: solarChargingSchema.prefault({}),
  influx: influxSchema.optional(),
  demo: demoSchema.optional(),
  upstream: upstreamSchema.optional(),
});

export type Config = z.infer<typeof configSchema>;
export type ChargerConfig = z.infer<typeof chargerSchema>;
export type DeviceConfig = z.infer<typeof deviceSchema>;
export type IdTagConfig = z.infer<typeof idTagSchema>;
export type InfluxConfig = z.infer<typeof influxSchema>;
export type OpenAdrConfig = z.infer<typeof openadrSchema>;
export type UpstreamConfig = z.infer<typeof upstreamSchema>;
