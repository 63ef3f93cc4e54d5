// The EMS on MQTT: its state published retained under `<prefix>/...` (only values that changed),
// commands accepted on `<prefix>/.../set`, Home Assistant discovery, and a last will that turns
// `<prefix>/status` to offline when the process dies. Commands become bus events, like the API's.
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { MQTT_RECONNECT_PERIOD_MS } from '../../adapters/backoff.ts';
import type { MqttConfig } from '../../config/schema.ts';
import { connectorKey } from '../../optimizer/types.ts';
import type { GridSignal, SessionUpdate } from '../bus.ts';
import { parseDecimal } from '../../adapters/strict-number.ts';
import { EmsError } from '../errors.ts';
import { gridSignal } from '../grid-signal.ts';
import type { SignalSink } from '../signals/types.ts';
import type { Service, ServiceContext } from '../service.ts';
import type { UpstreamChargerStatus } from '../upstream/index.ts';

export class MqttCommandError extends EmsError {
  override readonly code = 'MQTT_COMMAND_INVALID';
}

export interface MqttBridgeOptions {
  /** Charge mode per connector, when solar charging is wired. */
  chargeMode?: (chargerId: string, connectorId: number) => string;
  /** The grid-signal timeline: the site limit goes there (listed, persisted, removable). Without it, straight on the bus. */
  signals?: Pick<SignalSink, 'submit'>;
  /** Local-controller mode: per charger, its uplink to the cloud CSMS. */
  upstream?: () => readonly UpstreamChargerStatus[];
  /** Today's metered energy (the tariff service's KPIs), for Home Assistant's Energy dashboard. */
  energyToday?: () => { gridImportWh: number; gridExportWh: number; evEnergyWh: number } | undefined;
  /** The EMS's version, shown on the Home Assistant device. */
  softwareVersion?: string;
}

/** What /metrics shows of the bridge (ems_mqtt_*). */
export interface MqttBridgeStats {
  /** True while the broker connection is up. */
  readonly connected: boolean;
  /** Times the broker connection was lost or could not be made (an outage counts once, not per retry). */
  readonly connectionFailures: number;
  /** Publish batches that failed. */
  readonly publishFailures: number;
  /** Commands on a `/set` topic that were refused (unknown topic, bad value, no session). */
  readonly rejectedCommands: number;
}

export interface MqttBridge extends Service {
  /** Publish everything that changed now (tests). */
  publishNow(): Promise<void>;
  stats(): MqttBridgeStats;
}

const SITE_LIMIT_SIGNAL = 'mqtt-site-limit';
const SITE_LIMIT_SOURCE = 'mqtt';

export function createMqttBridge(ctx: ServiceContext, mqtt: MqttConfig, options: MqttBridgeOptions = {}): MqttBridge {
  const log = ctx.log.child({ module: 'mqtt' });
  const prefix = mqtt.prefix.replace(/\/+$/, '');
  const statusTopic = `${prefix}/status`;
  const published = new Map<string, string>();
  let client: MqttClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  let publishing: Promise<void> | undefined;
  const counts = { connectionFailures: 0, publishFailures: 0, rejectedCommands: 0 };
  /** Up or down as last seen: an outage is counted once, when the connection goes (or never comes). */
  let linkUp: boolean | undefined;
  const linkLost = () => {
    if (linkUp !== false) counts.connectionFailures++;
    linkUp = false;
  };
  const ha = mqtt.homeAssistant === false ? undefined : mqtt.homeAssistant === true ? { prefix: 'homeassistant' } : mqtt.homeAssistant;
  // Named after the topic prefix (unique per EMS on a broker), not the site name: renaming the
  // site keeps every Home Assistant entity and its history.
  const prefixSlug = slug(prefix);
  const node = prefixSlug.startsWith('ems') ? prefixSlug : `ems_${prefixSlug}`;

  function stateTopics(): Map<string, string> {
    const out = new Map<string, string>();
    const put = (topic: string, value: number | string | boolean | undefined | null) => {
      if (value === undefined || value === null) return;
      out.set(`${prefix}/${topic}`, typeof value === 'number' ? String(round(value)) : String(value));
    };
    const state = ctx.state;
    const gridId = ctx.config.grid.meter;
    const grid = gridId ? state.devices.get(gridId)?.reading : undefined;
    const role = (r: string) => [...state.devices.values()].find((d) => d.role === r && d.health === 'online')?.reading;
    put('site/grid/power', grid?.powerW);
    grid?.currentA?.forEach((a, i) => put(`site/grid/current/L${i + 1}`, a));
    put('site/pv/power', role('pv')?.powerW);
    put('site/battery/power', role('battery')?.powerW);
    put('site/battery/soc', role('battery')?.socPct);
    const decision = state.lastDecision;
    if (decision) {
      put('site/failsafe', decision.failsafe);
      decision.headroom.headroomA.forEach((a, i) => put(`site/headroom/L${i + 1}`, a));
    }
    const energy = options.energyToday?.();
    put('site/energy/gridImportToday', energy?.gridImportWh);
    put('site/energy/gridExportToday', energy?.gridExportWh);
    put('site/energy/evToday', energy?.evEnergyWh);
    const limit = state.signals.find((s) => s.id === SITE_LIMIT_SIGNAL);
    put('site/limit', limit ? limit.value : '');
    const caps = new Map((decision?.caps ?? []).map((c) => [connectorKey(c.chargerId, c.connectorId), c]));
    for (const c of state.connectors.values()) {
      const base = `connectors/${c.chargerId}/${c.connectorId}`;
      const cap = caps.get(connectorKey(c.chargerId, c.connectorId));
      put(`${base}/status`, c.status);
      put(`${base}/draw`, Math.max(...c.drawA));
      put(`${base}/cap`, cap?.currentA);
      put(`${base}/reason`, cap?.reason.text);
      put(`${base}/session/active`, c.session !== null);
      put(`${base}/session/energy`, c.session?.energyWh ?? '');
      put(`${base}/session/tier`, c.session?.tier ?? '');
      put(`${base}/session/paused`, c.session?.paused ?? '');
      put(`${base}/session/departure`, c.session?.departureAtMs !== undefined ? new Date(c.session.departureAtMs).toISOString() : '');
      put(`${base}/session/energyNeed`, c.session?.energyNeedWh ?? '');
      if (options.chargeMode) put(`${base}/session/mode`, options.chargeMode(c.chargerId, c.connectorId));
    }
    const time = (atMs: number | undefined) => (atMs === undefined ? '' : new Date(atMs).toISOString());
    for (const u of options.upstream?.() ?? []) {
      const base = `chargers/${u.chargerId}/upstream`;
      put(`${base}/chargerLink`, u.chargerLink);
      put(`${base}/uplink`, u.uplink);
      put(`${base}/queue`, u.queueLength);
      put(`${base}/lastFromCharger`, time(u.lastFromChargerAtMs));
      put(`${base}/lastToCharger`, time(u.lastToChargerAtMs));
      put(`${base}/lastFromCsms`, time(u.lastFromCsmsAtMs));
      put(`${base}/lastToCsms`, time(u.lastToCsmsAtMs));
    }
    for (const d of state.devices.values()) {
      put(`devices/${d.id}/health`, d.health);
      put(`devices/${d.id}/power`, d.reading?.powerW);
      put(`devices/${d.id}/soc`, d.reading?.socPct);
      put(`devices/${d.id}/lastError`, d.lastError ?? '');
    }
    return out;
  }

  async function publishChanged(): Promise<void> {
    if (!client?.connected) return;
    const batch: Promise<unknown>[] = [];
    for (const [topic, payload] of stateTopics()) {
      if (published.get(topic) === payload) continue;
      published.set(topic, payload);
      batch.push(client.publishAsync(topic, payload, { retain: true, qos: 0 }));
    }
    await Promise.all(batch);
  }

  function schedulePublish(): Promise<void> {
    publishing ??= publishChanged()
      .catch((error) => {
        counts.publishFailures++;
        log.warn({ err: (error as Error).message }, 'MQTT publish failed');
      })
      .finally(() => (publishing = undefined));
    return publishing;
  }

  async function publishDiscovery(): Promise<void> {
    if (!ha || !client) return;
    const device = {
      identifiers: [node],
      name: `EMS ${ctx.config.site.name}`,
      manufacturer: 'edge-ems',
      model: 'EV charging site energy manager',
      ...(options.softwareVersion ? { sw_version: options.softwareVersion } : {}),
    };
    const common = { availability_topic: statusTopic, device };
    const entity = (component: string, id: string, payload: Record<string, unknown>) => ({
      topic: `${ha.prefix}/${component}/${node}/${id}/config`,
      payload: { unique_id: `${node}_${id}`, object_id: `${node}_${id}`, ...payload, ...common },
    });
    const sensor = (id: string, name: string, topic: string, deviceClass: string, unit: string) =>
      entity('sensor', id, { name, state_topic: `${prefix}/${topic}`, device_class: deviceClass, unit_of_measurement: unit, state_class: 'measurement' });
    // Energy for Home Assistant's Energy dashboard: counters that only grow (a new day or session starts again at 0).
    const energySensor = (id: string, name: string, topic: string) =>
      entity('sensor', id, { name, state_topic: `${prefix}/${topic}`, device_class: 'energy', unit_of_measurement: 'Wh', state_class: 'total_increasing' });
    const connectors = [...ctx.state.connectors.values()];
    const configs = [
      sensor('grid_power', 'Grid power', 'site/grid/power', 'power', 'W'),
      sensor('pv_power', 'PV power', 'site/pv/power', 'power', 'W'),
      sensor('battery_power', 'Battery power', 'site/battery/power', 'power', 'W'),
      sensor('battery_soc', 'Battery state of charge', 'site/battery/soc', 'battery', '%'),
      ...(options.energyToday
        ? [
            energySensor('grid_import_energy_today', 'Grid import today', 'site/energy/gridImportToday'),
            energySensor('grid_export_energy_today', 'Grid export today', 'site/energy/gridExportToday'),
            energySensor('ev_energy_today', 'EV charging today', 'site/energy/evToday'),
          ]
        : []),
      ...connectors.flatMap((c) => {
        const id = `${slug(c.chargerId)}_${c.connectorId}`;
        const base = `${prefix}/connectors/${c.chargerId}/${c.connectorId}`;
        const label = `${c.chargerId}/${c.connectorId}`;
        return [
          sensor(`${id}_cap`, `${label} cap`, `connectors/${c.chargerId}/${c.connectorId}/cap`, 'current', 'A'),
          energySensor(`${id}_session_energy`, `${label} session energy`, `connectors/${c.chargerId}/${c.connectorId}/session/energy`),
          entity('switch', `${id}_paused`, { name: `${label} paused`, state_topic: `${base}/session/paused`, command_topic: `${base}/paused/set`, payload_on: 'true', payload_off: 'false', state_on: 'true', state_off: 'false', icon: 'mdi:pause-circle' }),
          ...(options.chargeMode
            ? [entity('select', `${id}_mode`, { name: `${label} charge mode`, state_topic: `${base}/session/mode`, command_topic: `${base}/mode/set`, options: ['fast', 'minpv', 'pv'] })]
            : []),
          entity('text', `${id}_departure`, { name: `${label} departure`, state_topic: `${base}/session/departure`, command_topic: `${base}/departure/set`, pattern: '^$|^\\d{4}-\\d{2}-\\d{2}T.*$', icon: 'mdi:clock-end' }),
          entity('select', `${id}_tier`, { name: `${label} tier`, state_topic: `${base}/session/tier`, command_topic: `${base}/tier/set`, options: Object.keys(ctx.config.control.tiers) }),
        ];
      }),
      entity('number', 'site_limit', {
        name: 'Site import limit',
        state_topic: `${prefix}/site/limit`,
        command_topic: `${prefix}/site/limit/set`,
        min: 0,
        max: 10_000_000,
        step: 100,
        mode: 'box',
        unit_of_measurement: 'W',
        device_class: 'power',
      }),
    ];
    await Promise.all(configs.map((c) => client!.publishAsync(c.topic, JSON.stringify(c.payload), { retain: true, qos: 1 })));
  }

  function command(topic: string, payload: string): void {
    const path = topic.slice(prefix.length + 1).split('/');
    const now = ctx.clock.nowMs();
    if (path.join('/') === 'site/limit/set') {
      const signals: GridSignal[] = [];
      if (payload.trim() !== '') {
        const w = parseDecimal(payload);
        if (w === undefined || w < 0) throw new MqttCommandError(`site limit must be W >= 0 or empty, got ${JSON.stringify(payload.slice(0, 40))}`);
        // A setting, like Home Assistant's number entity: in force until changed or cleared
        // (empty payload, or DELETE /api/v1/signals/mqtt-site-limit), shown as open-ended.
        try {
          signals.push(gridSignal({ id: SITE_LIMIT_SIGNAL, source: SITE_LIMIT_SOURCE, kind: 'import-limit', startMs: now, endMs: 'open', value: w, text: 'site limit set over MQTT' }));
        } catch (error) {
          throw new MqttCommandError((error as Error).message, { cause: error });
        }
      }
      if (options.signals) options.signals.submit(SITE_LIMIT_SOURCE, signals);
      else ctx.bus.emit('signals.changed', { signals, source: SITE_LIMIT_SOURCE });
      return;
    }
    if (path[0] !== 'connectors' || path.length !== 5 || path[4] !== 'set') throw new MqttCommandError(`unknown command topic ${topic}`);
    const [, chargerId, connectorText, field] = path;
    const connectorId = Number(connectorText);
    const connector = ctx.state.connector(chargerId, connectorId);
    if (!connector) throw new MqttCommandError(`no connector ${chargerId}/${connectorText}`);
    if (!connector.session) throw new MqttCommandError(`no session on ${chargerId}/${connectorId}`);
    const update: SessionUpdate = { chargerId, connectorId };
    const text = payload.trim();
    switch (field) {
      case 'departure': {
        if (text === '') update.departureAtMs = null;
        else {
          const atMs = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
          if (!Number.isFinite(atMs)) throw new MqttCommandError(`departure must be ISO 8601 or epoch ms, got ${JSON.stringify(text)}`);
          update.departureAtMs = atMs;
        }
        break;
      }
      case 'energyNeed': {
        const wh = Number(text);
        if (text !== '' && (!Number.isFinite(wh) || wh <= 0)) throw new MqttCommandError(`energyNeed must be Wh > 0 or empty`);
        update.energyNeedWh = text === '' ? null : wh;
        break;
      }
      case 'tier':
        if (!(text in ctx.config.control.tiers)) throw new MqttCommandError(`unknown tier ${JSON.stringify(text)}; known: ${Object.keys(ctx.config.control.tiers).join(', ')}`);
        update.tier = text;
        break;
      case 'paused': {
        const v = text.toLowerCase();
        if (!['true', 'false', '1', '0', 'on', 'off'].includes(v)) throw new MqttCommandError(`paused must be true/false, got ${JSON.stringify(text)}`);
        update.paused = ['true', '1', 'on'].includes(v);
        break;
      }
      case 'mode':
        if (text !== 'fast' && text !== 'pv' && text !== 'minpv') throw new MqttCommandError(`mode must be fast, pv or minpv`);
        update.chargeMode = text;
        break;
      default:
        throw new MqttCommandError(`unknown session field ${field}`);
    }
    ctx.bus.emit('session.update', update);
  }

  return {
    name: 'mqtt-bridge',
    async start() {
      const options: IClientOptions = {
        username: mqtt.username,
        password: mqtt.password,
        reconnectPeriod: MQTT_RECONNECT_PERIOD_MS,
        connectTimeout: 5000,
        will: { topic: statusTopic, payload: Buffer.from('offline'), retain: true, qos: 1 },
      };
      const subscriptions = [`${prefix}/site/+/set`, `${prefix}/connectors/+/+/+/set`, ...(ha ? [`${ha.prefix}/status`] : [])];
      let link: MqttClient;
      try {
        link = await connectAsync(mqtt.url, options);
      } catch (error) {
        linkLost();
        log.error({ err: (error as Error).message, url: mqtt.url }, 'cannot connect to the MQTT broker; retrying in the background');
        const { connect } = await import('mqtt');
        link = connect(mqtt.url, options);
      }
      // The handlers hold this link, not `client`: stop() clears `client` while the link may still
      // finish a connect it had started.
      client = link;
      // A broker that stays down is logged once when it goes and once when it is back.
      let connectionError: string | undefined;
      link.on('close', () => {
        if (linkUp) linkLost();
      });
      link.on('error', (error) => {
        linkLost();
        if (connectionError !== error.message) log.warn({ err: error.message, url: mqtt.url }, 'MQTT connection error; reconnecting');
        connectionError = error.message;
      });
      link.on('connect', () => {
        linkUp = true;
        if (connectionError) log.info({ url: mqtt.url }, 'MQTT broker connected again');
        connectionError = undefined;
        // After a reconnect the broker may have lost what we published (no persistence), and a
        // broker that was down at start has none of our subscriptions.
        published.clear();
        void link.subscribeAsync(subscriptions, { qos: 1 }).catch((error: Error) => log.warn({ err: error.message }, 'MQTT subscribe failed'));
        void link.publishAsync(statusTopic, 'online', { retain: true, qos: 1 }).then(publishDiscovery).catch(() => undefined);
      });
      link.on('message', (topic, payload, packet) => {
        if (ha && topic === `${ha.prefix}/status`) {
          if (payload.toString() === 'online') void publishDiscovery().catch(() => undefined);
          return;
        }
        if (packet.retain && payload.length === 0) return;
        try {
          command(topic, payload.toString());
          void schedulePublish();
        } catch (error) {
          counts.rejectedCommands++;
          log.warn({ topic, reason: (error as Error).message }, 'MQTT command rejected');
        }
        // A retained command would be replayed on every reconnect: clear it.
        if (packet.retain) void link.publishAsync(topic, '', { retain: true }).catch(() => undefined);
      });
      if (link.connected) {
        linkUp = true;
        await link.publishAsync(statusTopic, 'online', { retain: true, qos: 1 });
        await publishDiscovery();
        await link.subscribeAsync(subscriptions, { qos: 1 }).catch((error) => log.warn({ err: (error as Error).message }, 'MQTT subscribe failed'));
      }
      timer = setInterval(() => void schedulePublish(), mqtt.publishIntervalMs);
      timer.unref?.();
      await schedulePublish();
    },
    async stop() {
      clearInterval(timer);
      await publishing;
      linkUp = undefined; // closing it ourselves is no failure
      if (client?.connected) await client.publishAsync(statusTopic, 'offline', { retain: true, qos: 1 }).catch(() => undefined);
      await client?.endAsync().catch(() => undefined);
      client = undefined;
    },
    publishNow: () => schedulePublish(),
    stats: () => ({ connected: client?.connected === true, ...counts }),
  };
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'site';
const round = (v: number) => Math.round(v * 1000) / 1000;
