// A device whose values arrive on MQTT topics. Each source keeps its last value and when it came;
// read() refuses values older than the staleness timeout. A broken payload is dropped with one log
// line (repeats are quiet until a good payload arrives). Battery setpoints and PV limits are
// published on configured topics.
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { DeviceCapabilityError, MqttSourceError, StaleSourceError } from '../errors.ts';
import type { BatteryControl, DeviceReading, DeviceRole, Meter, PvControl, Triple } from '../types.ts';
import { TopicValueParser, type TopicValueSpec } from './topic-value.ts';

export interface MqttSource extends TopicValueSpec {
  topic: string;
}

export interface MqttDeviceOptions {
  deviceId: string;
  role: DeviceRole;
  client: MqttClient;
  power: MqttSource;
  currents?: readonly [MqttSource, MqttSource, MqttSource];
  soc?: MqttSource;
  setpointTopic?: string;
  limitTopic?: string;
  sign?: 1 | -1;
  staleAfterMs: number;
  nowMs: () => number;
  log: Logger;
  /** Called after every usable message, so the owner can read at once instead of at its next poll. */
  onUpdate?: () => void;
  /** Why the broker connection is down right now (undefined while connected): the device's true error when its values are missing. */
  connectionProblem?: () => string | undefined;
}

interface SourceState {
  source: MqttSource;
  parser: TopicValueParser;
  value?: number | null;
  atMs?: number;
  failing: boolean;
}

export class MqttDevice implements Meter, BatteryControl, PvControl {
  private readonly sources = new Map<string, SourceState[]>();
  private readonly power: SourceState;
  private readonly currents?: SourceState[];
  private readonly soc?: SourceState;
  private readonly onMessage = (topic: string, payload: Buffer) => this.receive(topic, payload);
  // Subscribes on every (re)connect: a broker that was down at start, or restarted without
  // persistence, has no subscription of ours.
  private readonly onConnect = () => {
    void this.options.client.subscribeAsync([...this.sources.keys()], { qos: 0 }).catch((error: Error) => this.options.log.warn({ reason: error.message }, 'MQTT subscribe failed'));
  };

  constructor(private readonly options: MqttDeviceOptions) {
    this.power = this.track(options.power);
    this.currents = options.currents?.map((s) => this.track(s));
    this.soc = options.soc && this.track(options.soc);
  }

  async start(): Promise<void> {
    this.options.client.on('message', this.onMessage);
    this.options.client.on('connect', this.onConnect);
    if (this.options.client.connected) await this.options.client.subscribeAsync([...this.sources.keys()], { qos: 0 });
  }

  async stop(): Promise<void> {
    this.options.client.off('message', this.onMessage);
    this.options.client.off('connect', this.onConnect);
    if (this.options.client.connected) await this.options.client.unsubscribeAsync([...this.sources.keys()]).catch(() => undefined);
  }

  async read(): Promise<DeviceReading> {
    const now = this.options.nowMs();
    const sign = this.options.sign ?? 1;
    const powerW = this.fresh(this.power, now);
    const reading: DeviceReading = { deviceId: this.options.deviceId, role: this.options.role, atMs: this.power.atMs! };
    if (powerW !== null) reading.powerW = powerW * sign;
    if (this.currents) {
      const values = this.currents.map((s) => this.fresh(s, now));
      if (values.every((v) => v !== null)) reading.currentA = values.map((v) => v! * sign) as Triple;
      reading.atMs = Math.min(reading.atMs, ...this.currents.map((s) => s.atMs!));
    }
    if (this.soc) {
      const soc = this.fresh(this.soc, now);
      if (soc !== null) reading.socPct = soc;
    }
    return reading;
  }

  async setPowerW(powerW: number): Promise<void> {
    if (!this.options.setpointTopic) throw new DeviceCapabilityError(`${this.options.deviceId}: no setpointTopic configured`);
    await this.options.client.publishAsync(this.options.setpointTopic, String(Math.round(powerW * (this.options.sign ?? 1))), { qos: 1 });
  }

  async setLimitW(limitW: number | undefined): Promise<void> {
    if (!this.options.limitTopic) throw new DeviceCapabilityError(`${this.options.deviceId}: no limitTopic configured`);
    await this.options.client.publishAsync(this.options.limitTopic, limitW === undefined ? '' : String(Math.round(limitW)), { qos: 1 });
  }

  private track(source: MqttSource): SourceState {
    const state: SourceState = { source, parser: new TopicValueParser(source), failing: false };
    const list = this.sources.get(source.topic) ?? [];
    list.push(state);
    this.sources.set(source.topic, list);
    return state;
  }

  private fresh(state: SourceState, now: number): number | null {
    const missing = state.atMs === undefined ? `no message yet on ${state.source.topic}` : now - state.atMs > this.options.staleAfterMs ? `${state.source.topic}: no message for more than ${this.options.staleAfterMs / 1000} s` : undefined;
    if (missing === undefined) return state.value ?? null;
    const problem = this.options.connectionProblem?.();
    if (problem) throw new MqttSourceError(`${problem} (${missing})`);
    throw new StaleSourceError(missing);
  }

  private receive(topic: string, payload: Buffer): void {
    const states = this.sources.get(topic);
    if (!states) return;
    let usable = false;
    for (const state of states) {
      try {
        state.value = state.parser.parse(payload);
        state.atMs = this.options.nowMs();
        if (state.failing) this.options.log.info({ topic }, 'MQTT source usable again');
        state.failing = false;
        usable = true;
      } catch (error) {
        if (!state.failing) this.options.log.warn({ topic, reason: (error as Error).message }, 'MQTT payload dropped');
        state.failing = true;
      }
    }
    if (usable) this.options.onUpdate?.();
  }
}
