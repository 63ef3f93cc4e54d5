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

const PHASES = ['L1', 'L2', 'L3'] as const;

/**
 * Prometheus metrics in a registry of this service's own (no global default registry). Gauges
 * read SiteState when scraped; the decision counter and cycle timings follow the bus.
 */
export function createMetrics(
  ctx: ServiceContext,
  controlStats?: () => ControlStatsSource,
  exportStats?: () => ExportStatsSource,
  processMetrics = true,
  upstream?: () => readonly UpstreamChargerStatus[],
) {
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
    name: 'ems_connector_cap_amperes',
    help: 'Current cap per connector (A per phase) from the last decision',
    labelNames: ['charger', 'connector', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const cap of state.lastDecision?.caps ?? []) {
        this.set({ charger: cap.chargerId, connector: String(cap.connectorId), reason: cap.reason.kind }, cap.currentA);
      }
    },
  });
  new Gauge({
    name: 'ems_connector_draw_amperes',
    help: 'Measured draw per connector, highest phase',
    labelNames: ['charger', 'connector'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of state.connectors.values()) this.set({ charger: c.chargerId, connector: String(c.connectorId) }, Math.max(...c.drawA));
    },
  });
  new Gauge({
    name: 'ems_connector_reserved_amperes',
    help: 'Current a connector may draw whatever the EMS decides (uncontrollable charger, unanswered or refused profile), A per phase',
    labelNames: ['charger', 'connector', 'uncontrollable'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of state.connectors.values()) {
        if (c.profile?.reserveA === undefined) continue;
        this.set({ charger: c.chargerId, connector: String(c.connectorId), uncontrollable: c.profile.uncontrollable ? 'true' : 'false' }, c.profile.reserveA);
      }
    },
  });
  new Gauge({
    name: 'ems_charger_connected',
    help: '1 while the charger holds its OCPP connection',
    labelNames: ['charger'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of state.chargers.values()) this.set({ charger: c.id }, c.online ? 1 : 0);
    },
  });
  if (upstream) {
    new Gauge({
      name: 'ems_upstream_connected',
      help: "Local-controller mode: 1 while the charger's uplink to the CSMS is open",
      labelNames: ['charger'],
      registers: [registry],
      collect() {
        this.reset();
        for (const u of upstream()) this.set({ charger: u.chargerId }, u.uplink === 'online' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ems_upstream_queue_length',
      help: 'Local-controller mode: transaction frames held for the CSMS while the uplink is down',
      labelNames: ['charger'],
      registers: [registry],
      collect() {
        this.reset();
        for (const u of upstream()) this.set({ charger: u.chargerId }, u.queueLength);
      },
    });
    new Gauge({
      name: 'ems_upstream_last_message_timestamp_seconds',
      help: 'Local-controller mode: when the last message went each way (from/to charger, from/to csms)',
      labelNames: ['charger', 'direction'],
      registers: [registry],
      collect() {
        this.reset();
        for (const u of upstream()) {
          const times = { from_charger: u.lastFromChargerAtMs, to_charger: u.lastToChargerAtMs, from_csms: u.lastFromCsmsAtMs, to_csms: u.lastToCsmsAtMs };
          for (const [direction, atMs] of Object.entries(times)) if (atMs !== undefined) this.set({ charger: u.chargerId, direction }, atMs / 1000);
        }
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
  new Gauge({
    name: 'ems_control_cycle_duration_seconds',
    help: 'Wall time of the last control cycle (decide plus sending profiles)',
    registers: [registry],
    collect() {
      const ms = controlStats?.().lastCycleDurationMs;
      if (ms !== undefined) this.set(ms / 1000);
    },
  });
  if (exportStats) {
    new Gauge({
      name: 'ems_influx_points',
      help: 'InfluxDB export: points by state (buffered now; written, dropped since start)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const s = exportStats();
        this.set({ state: 'buffered' }, s.buffered);
        this.set({ state: 'written' }, s.written);
        this.set({ state: 'dropped' }, s.dropped);
      },
    });
    new Gauge({
      name: 'ems_influx_failed_writes',
      help: 'InfluxDB export: writes that failed or timed out since start',
      registers: [registry],
      collect() {
        this.set(exportStats().failedWrites);
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
  const off = ctx.bus.on('decision', (decision) => {
    decisions.inc();
    if (lastDecisionAtMs !== undefined && decision.atMs >= lastDecisionAtMs) cycleGap.observe((decision.atMs - lastDecisionAtMs) / 1000);
    lastDecisionAtMs = decision.atMs;
  });

  return {
    registry,
    observeRequest(method: string, route: string, status: number, seconds: number) {
      httpDuration.observe({ method, route, status: String(status) }, seconds);
    },
    stop() {
      off();
      offSecurity();
    },
  };
}
