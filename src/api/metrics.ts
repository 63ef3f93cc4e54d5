import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServiceContext } from '../service.ts';
import { sitePowers } from '../state/site-powers.ts';
import type { UpstreamChargerStatus } from '../upstream/index.ts';

/** What the control loop reports about itself, when wired (ControlLoop.stats fits). */
export interface ControlStatsSource {
  readonly cycles: number;
  readonly lastCycleDurationMs?: number;
  readonly failsafe: boolean;
}

/** The InfluxDB export's counters, when it runs (InfluxExport.stats fits). */
export interface ExportStatsSource {
  readonly buffered: number;
  readonly written: number;
  readonly dropped: number;
  readonly failedWrites: number;
}

/** The MQTT bridge's counters, when it runs (MqttBridge.stats fits). */
export interface MqttStatsSource {
  readonly connected: boolean;
  readonly connectionFailures: number;
  readonly publishFailures: number;
  readonly rejectedCommands: number;
}

/** What /metrics reads besides the site state and the bus, each when wired. */
export interface MetricSources {
  controlStats?: () => ControlStatsSource;
  exportStats?: () => ExportStatsSource;
  /** Process CPU/memory/event-loop metrics (default true). */
  processMetrics?: boolean;
  upstream?: () => readonly UpstreamChargerStatus[];
  mqtt?: () => MqttStatsSource;
}

const PHASES = ['L1', 'L2', 'L3'] as const;

/**
 * Series a scrape sets or formats per turn of the event loop. At 200 chargers a scrape sets ~2,600
 * labelled series; done in one task (prom-client's Registry.metrics()) it held the EMS's one thread
 * for 76 ms (wall, loaded), and every frame a charger sent meanwhile waited for it.
 */
const SERIES_PER_TURN = 64;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Calls `set` for each item, letting the event loop run (I/O included) after every SERIES_PER_TURN. */
async function setInTurns<T>(items: readonly T[], set: (item: T) => void): Promise<void> {
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % SERIES_PER_TURN === 0) await nextTurn();
    set(items[i]!);
  }
}

/**
 * Prometheus metrics in a registry of this service's own (no global default registry). Gauges
 * read SiteState when scraped; the decision counter and cycle timings follow the bus.
 */
export function createMetrics(ctx: ServiceContext, sources: MetricSources = {}) {
  const { controlStats, exportStats, processMetrics = true, upstream, mqtt } = sources;
  const registry = new Registry();
  // Process metrics (CPU, memory, event-loop lag) start a monitor that lives as long as the process.
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const { state, config } = ctx;

  new Gauge({
    name: 'ems_site_power_watts',
    help: 'Site power by flow: grid (+import), pv, battery (+discharge), ev, building, limit',
    labelNames: ['flow'],
    registers: [registry],
    collect() {
      this.reset();
      const p = sitePowers(state, config, ctx.clock.nowMs());
      const flows: [string, number | undefined][] = [
        ['grid', p.gridPowerW],
        ['pv', p.pvPowerW],
        ['battery', p.batteryPowerW],
        ['ev', p.evPowerW],
        ['building', p.buildingPowerW],
        ['limit', p.limitPowerW],
      ];
      for (const [flow, w] of flows) if (w !== undefined && Number.isFinite(w)) this.set({ flow }, w);
    },
  });
  new Gauge({
    name: 'ems_site_headroom_amperes',
    help: 'Capacity left at the connection point after all caps, per phase',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      this.reset();
      const headroom = state.lastDecision?.headroom.headroomA;
      if (headroom) PHASES.forEach((phase, i) => this.set({ phase }, headroom[i]));
    },
  });
  new Gauge({
    name: 'ems_grid_current_amperes',
    help: 'Measured current at the connection point per site phase (+ import)',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      this.reset();
      const currentA = sitePowers(state, config, ctx.clock.nowMs()).gridCurrentA;
      if (currentA) PHASES.forEach((phase, i) => Number.isFinite(currentA[i]) && this.set({ phase }, currentA[i]));
    },
  });
  new Gauge({
    name: 'ems_site_headroom_watts',
    help: 'Import power left at the connection point under the tightest limit',
    registers: [registry],
    collect() {
      this.reset();
      const w = (state.lastDecision?.headroom as { headroomW?: number } | undefined)?.headroomW;
      if (typeof w === 'number' && Number.isFinite(w)) this.set(w);
    },
  });
  new Gauge({
    name: 'ems_connector_cap_amperes',
    help: 'Current cap per connector (A per phase) from the last decision; why: ems_connector_cap_reason_info',
    labelNames: ['charger', 'connector'],
    registers: [registry],
    async collect() {
      const caps = state.lastDecision?.caps ?? [];
      this.reset();
      await setInTurns(caps, (cap) => this.set({ charger: cap.chargerId, connector: String(cap.connectorId) }, cap.currentA));
    },
  });
  new Gauge({
    name: 'ems_connector_cap_reason_info',
    help: 'What bounds each connector cap now (always 1; the reason is the label), so the cap series keeps one identity',
    labelNames: ['charger', 'connector', 'reason'],
    registers: [registry],
    async collect() {
      const caps = state.lastDecision?.caps ?? [];
      this.reset();
      await setInTurns(caps, (cap) => this.set({ charger: cap.chargerId, connector: String(cap.connectorId), reason: cap.reason.kind }, 1));
    },
  });
  new Gauge({
    name: 'ems_connector_draw_amperes',
    help: 'Measured draw per connector, highest phase',
    labelNames: ['charger', 'connector'],
    registers: [registry],
    async collect() {
      this.reset();
      await setInTurns([...state.connectors.values()], (c) => this.set({ charger: c.chargerId, connector: String(c.connectorId) }, Math.max(...c.drawA)));
    },
  });
  new Gauge({
    name: 'ems_connector_reserved_amperes',
    help: 'Current a connector may draw whatever the EMS decides (uncontrollable charger, unanswered or refused profile), A per phase',
    labelNames: ['charger', 'connector', 'uncontrollable'],
    registers: [registry],
    async collect() {
      this.reset();
      const reserved = [...state.connectors.values()].filter((c) => c.profile?.reserveA !== undefined);
      await setInTurns(reserved, (c) => this.set({ charger: c.chargerId, connector: String(c.connectorId), uncontrollable: c.profile!.uncontrollable ? 'true' : 'false' }, c.profile!.reserveA!));
    },
  });
  new Gauge({
    name: 'ems_charger_connected',
    help: '1 while the charger holds its OCPP connection',
    labelNames: ['charger'],
    registers: [registry],
    async collect() {
      this.reset();
      await setInTurns([...state.chargers.values()], (c) => this.set({ charger: c.id }, c.online ? 1 : 0));
    },
  });
  if (upstream) {
    new Gauge({
      name: 'ems_upstream_connected',
      help: "Local-controller mode: 1 while the charger's uplink to the CSMS is open",
      labelNames: ['charger'],
      registers: [registry],
      async collect() {
        this.reset();
        await setInTurns(upstream(), (u) => this.set({ charger: u.chargerId }, u.uplink === 'online' ? 1 : 0));
      },
    });
    new Gauge({
      name: 'ems_upstream_queue_length',
      help: 'Local-controller mode: transaction frames held for the CSMS while the uplink is down',
      labelNames: ['charger'],
      registers: [registry],
      async collect() {
        this.reset();
        await setInTurns(upstream(), (u) => this.set({ charger: u.chargerId }, u.queueLength));
      },
    });
    new Gauge({
      name: 'ems_upstream_last_message_timestamp_seconds',
      help: 'Local-controller mode: when the last message went each way (from/to charger, from/to csms)',
      labelNames: ['charger', 'direction'],
      registers: [registry],
      async collect() {
        this.reset();
        await setInTurns(upstream(), (u) => {
          const times = { from_charger: u.lastFromChargerAtMs, to_charger: u.lastToChargerAtMs, from_csms: u.lastFromCsmsAtMs, to_csms: u.lastToCsmsAtMs };
          for (const [direction, atMs] of Object.entries(times)) if (atMs !== undefined) this.set({ charger: u.chargerId, direction }, atMs / 1000);
        });
      },
    });
  }
  new Gauge({
    name: 'ems_device_up',
    help: '1 when the device answers and its data is fresh',
    labelNames: ['device', 'role'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of state.devices.values()) this.set({ device: d.id, role: d.role }, d.health === 'online' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'ems_device_reading_age_seconds',
    help: 'Age of the latest reading per device',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      const nowMs = ctx.clock.nowMs();
      for (const d of state.devices.values()) if (d.reading) this.set({ device: d.id }, (nowMs - d.reading.atMs) / 1000);
    },
  });
  new Gauge({
    name: 'ems_failsafe',
    help: '1 while site data is stale and connectors are held at the failsafe current',
    registers: [registry],
    collect() {
      this.set(state.lastDecision?.failsafe ? 1 : 0);
    },
  });
  const decisions = new Counter({ name: 'ems_control_decisions_total', help: 'Control decisions made', registers: [registry] });
  const cycleGap = new Histogram({
    name: 'ems_control_cycle_interval_seconds',
    help: 'Time between consecutive control decisions',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const cycleDuration = new Histogram({
    name: 'ems_control_cycle_duration_seconds',
    help: 'Wall time of each control cycle (decide plus sending profiles)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const roundTrip = new Histogram({
    name: 'ems_profile_round_trip_seconds',
    help: 'From sending a charging profile to the charger answering it, by result',
    labelNames: ['result'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const energy = new Counter({
    name: 'ems_energy_joules_total',
    help: 'Energy by flow since start (grid_import, grid_export, pv, ev), integrated from the measured powers at each decision',
    labelNames: ['flow'],
    registers: [registry],
  });
  const deviceErrors = new Counter({
    name: 'ems_device_errors_total',
    help: 'Times a device (Modbus, MQTT, simulated) went from answering to not answering, by device and driver',
    labelNames: ['device', 'driver'],
    registers: [registry],
  });
  const profileErrors = new Counter({
    name: 'ems_ocpp_profile_errors_total',
    help: 'Charging profiles a charger refused, by charger',
    labelNames: ['charger'],
    registers: [registry],
  });
  if (exportStats) {
    new Gauge({
      name: 'ems_influx_points_buffered',
      help: 'InfluxDB export: points waiting to be written',
      registers: [registry],
      collect() {
        this.set(exportStats().buffered);
      },
    });
    new Counter({
      name: 'ems_influx_points_total',
      help: 'InfluxDB export: points written or dropped since start',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const s = exportStats();
        this.reset();
        this.inc({ state: 'written' }, s.written);
        this.inc({ state: 'dropped' }, s.dropped);
      },
    });
    new Counter({
      name: 'ems_influx_write_errors_total',
      help: 'InfluxDB export: writes that failed or timed out since start',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(exportStats().failedWrites);
      },
    });
  }
  if (mqtt) {
    new Gauge({
      name: 'ems_mqtt_connected',
      help: 'MQTT bridge: 1 while the broker connection is up',
      registers: [registry],
      collect() {
        this.set(mqtt().connected ? 1 : 0);
      },
    });
    new Counter({
      name: 'ems_mqtt_errors_total',
      help: 'MQTT bridge errors since start, by kind: connection (lost or not made; an outage counts once, not per retry), publish (a batch failed), command (a /set message refused)',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const s = mqtt();
        this.reset();
        this.inc({ kind: 'connection' }, s.connectionFailures);
        this.inc({ kind: 'publish' }, s.publishFailures);
        this.inc({ kind: 'command' }, s.rejectedCommands);
      },
    });
  }
  const httpDuration = new Histogram({
    name: 'ems_http_request_duration_seconds',
    help: 'API request duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });

  const securityEvents = new Counter({
    name: 'ems_security_events_total',
    help: 'Hostile or broken input the EMS survived, by kind (refused OCPP frames and handshakes, failed auth, throttled logins, unhandled rejections)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const offSecurity = ctx.bus.on('security.event', (event) => securityEvents.inc({ kind: event.kind }));

  let lastDecisionAtMs: number | undefined;
  let lastCycles = -1;
  let lastPowers: ReturnType<typeof sitePowers> | undefined;
  const off = ctx.bus.on('decision', (decision) => {
    decisions.inc();
    if (lastDecisionAtMs !== undefined && decision.atMs >= lastDecisionAtMs) {
      const seconds = (decision.atMs - lastDecisionAtMs) / 1000;
      cycleGap.observe(seconds);
      // Energy: the powers of the previous decision held until this one (gaps over 5 min are not bridged).
      if (lastPowers && seconds <= 300) {
        const grid = lastPowers.gridPowerW;
        if (grid !== undefined) energy.inc({ flow: grid >= 0 ? 'grid_import' : 'grid_export' }, Math.abs(grid) * seconds);
        if (lastPowers.pvPowerW !== undefined) energy.inc({ flow: 'pv' }, Math.max(0, lastPowers.pvPowerW) * seconds);
        energy.inc({ flow: 'ev' }, Math.max(0, lastPowers.evPowerW ?? 0) * seconds);
      }
    }
    lastDecisionAtMs = decision.atMs;
    lastPowers = sitePowers(state, config, decision.atMs);
    // Each completed cycle once: the stats hold the duration of the one that just finished.
    const stats = controlStats?.();
    if (stats && stats.cycles !== lastCycles && stats.lastCycleDurationMs !== undefined) {
      lastCycles = stats.cycles;
      cycleDuration.observe(stats.lastCycleDurationMs / 1000);
    }
  });
  const sentAtMs = new Map<string, number>();
  const offProfile = ctx.bus.on('profile.status', (p) => {
    const key = `${p.chargerId}/${p.connectorId}`;
    if (p.state === 'pending') {
      sentAtMs.set(key, p.atMs);
      return;
    }
    const sent = sentAtMs.get(key);
    sentAtMs.delete(key);
    if (sent !== undefined && p.atMs >= sent) roundTrip.observe({ result: p.state }, (p.atMs - sent) / 1000);
    if (p.state === 'rejected') profileErrors.inc({ charger: p.chargerId });
  });
  const drivers = new Map(config.devices.map((d) => [d.id, d.driver as string]));
  const healthy = new Map<string, boolean>();
  const offHealth = ctx.bus.on('device.health', (h) => {
    const ok = h.health === 'online';
    if (healthy.get(h.deviceId) !== false && !ok) deviceErrors.inc({ device: h.deviceId, driver: drivers.get(h.deviceId) ?? 'unknown' });
    healthy.set(h.deviceId, ok);
  });

  /**
   * The text of a scrape, a metric at a time and a slice of each per-connector one per turn of the
   * event loop (Registry.metrics() collects and formats every metric in one task), so a charger's
   * frame waits for a slice, not the scrape. Scrapes at once share one: a gauge is reset and refilled
   * across turns, and two fills of it must not interleave.
   */
  const scrapeInTurns = async (): Promise<string> => {
    const parts: string[] = [];
    for (const metric of registry.getMetricsAsArray()) {
      parts.push(await registry.getSingleMetricAsString(metric.name));
      await nextTurn();
    }
    return `${parts.join('\n\n')}\n`;
  };
  let scraping: Promise<string> | undefined;

  return {
    registry,
    /** What GET /metrics answers (Prometheus text, registry.contentType). */
    scrape(): Promise<string> {
      scraping ??= scrapeInTurns().finally(() => (scraping = undefined));
      return scraping;
    },
    observeRequest(method: string, route: string, status: number, seconds: number) {
      httpDuration.observe({ method, route, status: String(status) }, seconds);
    },
    stop() {
      off();
      offSecurity();
      offProfile();
      offHealth();
    },
  };
}
