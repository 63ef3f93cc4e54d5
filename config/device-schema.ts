// Devices (Modbus, MQTT, simulated), the EMS's own MQTT output and solar-charging settings.
// Part of the one config schema; re-exported by schema.ts. Pure: imports only zod.
import { z } from 'zod';

const id = z.string().min(1).max(48).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'use letters, digits, . _ : - (starting with a letter or digit)');

export const deviceRoleSchema = z.enum(['grid-meter', 'pv', 'battery', 'load']);
export const modbusProfileSchema = z.enum(['sunspec', 'sdm630', 'em24', 'victron', 'sma', 'huawei', 'solaredge', 'generic']);
export const modbusTransportSchema = z.enum(['tcp', 'rtu', 'rtu-over-tcp']);
export const registerTypeSchema = z.enum(['int16', 'uint16', 'int32', 'uint32', 'acc32', 'float32', 'int64', 'uint64', 'float64']);

const sign = z
  .union([z.literal(1), z.literal(-1)])
  .default(1)
  .describe('-1 inverts power and current: vendors disagree on what import (or discharge) means');

/** One value in a register map: 0-based PDU address, as most vendor tables print it minus one. */
export const registerPointSchema = z.strictObject({
  address: z.number().int().min(0).max(65535).describe('0-based PDU address (a manual saying 40001 means 40000)'),
  fc: z.union([z.literal(3), z.literal(4)]).default(3).describe('3 holding, 4 input registers'),
  type: registerTypeSchema.default('int16'),
  wordOrder: z.enum(['msw', 'lsw']).default('msw').describe('32/64-bit values: most or least significant word first'),
  scale: z.number().default(1).describe('raw × scale = value in the unit of the key (W, A, V, Wh, %)'),
});
const triple = z.tuple([registerPointSchema, registerPointSchema, registerPointSchema]);

export const genericRegistersSchema = z.strictObject({
  powerW: registerPointSchema.optional(),
  currentA: triple.optional(),
  voltageV: triple.optional(),
  energyImportWh: registerPointSchema.optional(),
  energyExportWh: registerPointSchema.optional(),
  socPct: registerPointSchema.optional(),
  setpointW: registerPointSchema.optional().describe('battery power setpoint (+ discharge), written with FC16'),
  limitW: registerPointSchema.optional().describe('PV active power limit, written with FC16'),
});

const deviceBase = {
  id,
  role: deviceRoleSchema,
  sign,
  pollIntervalMs: z.number().int().min(100).max(600_000).default(1000),
  staleAfterMs: z.number().int().min(500).optional().describe('default: control.staleAfterMs'),
  // Battery and PV control bounds (ignored for other roles).
  minSocPct: z.number().min(0).max(100).default(10).describe('battery: never discharge below'),
  maxSocPct: z.number().min(0).max(100).default(95).describe('battery: never charge above'),
  maxChargePowerW: z.number().min(0).optional().describe('battery: charge power bound, W'),
  maxDischargePowerW: z.number().min(0).optional().describe('battery: discharge power bound, W'),
  ratedPowerW: z.number().positive().optional().describe('pv: nameplate W (percent curtailment); battery: inverter W'),
  control: z.boolean().default(true).describe('false: read only, never write setpoints'),
};

export const modbusDeviceSchema = z
  .strictObject({
    ...deviceBase,
    driver: z.literal('modbus'),
    transport: modbusTransportSchema.default('tcp'),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional().describe('default 502'),
    serialPort: z.string().min(1).optional().describe('RTU: /dev/ttyUSB0'),
    baudRate: z.number().int().positive().default(9600),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    unitId: z.number().int().min(0).max(255).default(1),
    profile: modbusProfileSchema.default('sunspec'),
    registers: genericRegistersSchema.optional().describe('profile generic: the register map'),
    sunspecBase: z.number().int().min(0).max(65535).optional().describe('skip discovery at 40000/0/50000'),
    sunspecDevice: z.number().int().min(1).default(1).describe('which device in a SunSpec chain (each model 1 starts one)'),
    timeoutMs: z.number().int().min(50).max(60_000).default(1000),
  })
  .superRefine((d, ctx) => {
    if (d.transport === 'rtu' && !d.serialPort) ctx.addIssue({ code: 'custom', path: ['serialPort'], message: 'rtu transport needs serialPort' });
    if (d.transport !== 'rtu' && !d.host) ctx.addIssue({ code: 'custom', path: ['host'], message: `${d.transport} transport needs host` });
    if (d.profile === 'generic' && !d.registers) ctx.addIssue({ code: 'custom', path: ['registers'], message: 'profile generic needs a registers map' });
    if (d.minSocPct >= d.maxSocPct) ctx.addIssue({ code: 'custom', path: ['minSocPct'], message: 'minSocPct must be below maxSocPct' });
  });

/** A value taken from an MQTT topic: a plain number, or JSON with a path like `$.W` or `$.ENERGY.Power`. */
export const mqttSourceSchema = z.strictObject({
  topic: z.string().min(1),
  jsonPath: z.string().regex(/^\$(\.[A-Za-z0-9_-]+|\[\d+\])*$/, 'use $.key.sub or $.list[0]').optional(),
  scale: z.number().default(1),
});

export const mqttDeviceSchema = z
  .strictObject({
    ...deviceBase,
    driver: z.literal('mqtt'),
    topic: z.string().min(1).describe('power, W (grid: + import; pv: + production; battery: + discharge)'),
    jsonPath: mqttSourceSchema.shape.jsonPath,
    scale: z.number().default(1),
    currentTopics: z.tuple([mqttSourceSchema, mqttSourceSchema, mqttSourceSchema]).optional().describe('per-phase A'),
    socTopic: mqttSourceSchema.optional().describe('battery state of charge, %'),
    setpointTopic: z.string().min(1).optional().describe('battery: where the EMS publishes its W setpoint (+ discharge)'),
    limitTopic: z.string().min(1).optional().describe('pv: where the EMS publishes its W limit (empty = none)'),
  })
  .superRefine((d, ctx) => {
    if (d.minSocPct >= d.maxSocPct) ctx.addIssue({ code: 'custom', path: ['minSocPct'], message: 'minSocPct must be below maxSocPct' });
  });

/** In-process devices driven by the demo's simulation. */
export const simulatedDeviceSchema = z.looseObject({ ...deviceBase, driver: z.literal('simulated') });

export const deviceSchema = z.discriminatedUnion('driver', [modbusDeviceSchema, mqttDeviceSchema, simulatedDeviceSchema]);

export const mqttSchema = z.strictObject({
  url: z.string().regex(/^(mqtts?|wss?):\/\//, 'use mqtt://host:1883 (or mqtts://, ws://, wss://); tcp:// and other schemes are refused'),
  username: z.string().optional(),
  password: z.string().optional(),
  prefix: z.string().min(1).regex(/^[^#+]+$/, 'no wildcards').default('ems').describe('state under <prefix>/..., commands on <prefix>/.../set'),
  publishIntervalMs: z.number().int().min(100).default(1000),
  homeAssistant: z
    .union([z.boolean(), z.strictObject({ prefix: z.string().min(1).default('homeassistant') })])
    .default(false)
    .describe('publish Home Assistant discovery configs'),
});

export const chargeModeSchema = z.enum(['fast', 'pv', 'minpv']);

export const solarChargingSchema = z.strictObject({
  defaultMode: chargeModeSchema.default('fast').describe('fast: no PV rule; pv: surplus only; minpv: minimum always, rest from surplus'),
  startDelayMs: z.number().int().min(0).default(60_000).describe('surplus must cover the minimum this long before a pv session starts'),
  stopDelayMs: z.number().int().min(0).default(300_000).describe('surplus must be short this long before a pv session stops'),
  useBatteryChargePower: z.boolean().default(true).describe('EVs take PV surplus before the stationary battery'),
});

export type ModbusDeviceConfig = z.infer<typeof modbusDeviceSchema>;
export type MqttDeviceConfig = z.infer<typeof mqttDeviceSchema>;
export type MqttConfig = z.infer<typeof mqttSchema>;
export type RegisterPointConfig = z.infer<typeof registerPointSchema>;
export type GenericRegistersConfig = z.infer<typeof genericRegistersSchema>;
export type ChargeMode = z.infer<typeof chargeModeSchema>;
export type SolarChargingConfig = z.infer<typeof solarChargingSchema>;
