// The one place that wires the system together. Feature folders never import each other; they
// meet here, on the bus, or through the interfaces handed in below.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packagePath } from './package-root.ts';
import type { Config } from '../config/schema.ts';
import { Bus } from './bus.ts';
import { realWait, systemClock, type Clock } from './clock.ts';
import type { CeilingProvider } from './control/ceiling-provider.ts';
import { ClockStepWatch } from './clock-step-watch.ts';
import { createControlLoop, LIVE_SECTIONS, type ControlLoop } from './control/control-loop.ts';
import { decideParamsFromConfig } from './control/decide-params.ts';
import type { Logger } from './log.ts';
import { createDeviceService } from './devices/device-service.ts';
import { createMqttBridge, type MqttBridge } from './devices/mqtt-bridge.ts';
import { createPlannerService } from './planner/index.ts';
import { createTariffService } from './tariffs/index.ts';
import { createSolarCeilings } from './devices/solar-ceilings.ts';
import { createStorageControl } from './devices/storage-control.ts';
import { createCentralSystem } from './ocpp/central-system.ts';
import { TransactionBook } from './ocpp/transaction-book.ts';
import { OcppCallRefused } from './ocpp/errors.ts';
import { createUpstreamService, type UpstreamService } from './upstream/index.ts';
import type { Service, ServiceContext } from './service.ts';
import { SiteState } from './state/site-state.ts';
import { createEventLog, createHttpService, type HttpService, type SignalsControl } from './api/index.ts';
import { createInfluxExport } from './export/index.ts';
import { openStorage, type Storage } from './storage/index.ts';
import { createChargerReconciler } from './storage/charger-reconciler.ts';
import { createHistoryRecorder } from './storage/history-recorder.ts';
import { createSessionSettingsKeeper } from './storage/session-settings-keeper.ts';
import { WalCheckpointer } from './storage/wal-checkpointer.ts';
import { createOpenAdrServices, type OpenAdrService } from './openadr/index.ts';
import {
  createJsonSignalStore,
  createMemorySignalStore,
  createMqttSignalSource,
  createSignalTimeline,
  defaultSignalStorePath,
  type SignalTimelineService,
} from './signals/index.ts';

export interface AppOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
  /** The file the config came from; the API saves edits there (or, with overridesPath, over it). */
  configPath?: string;
  /** Keep the Settings page's edits in this file in the state directory, laid over configPath. */
  overridesPath?: string;
  /** The dashboard's build output; default dashboard/dist in this checkout. */
  staticDir?: string;
  /** Grid-signal timeline's operator side, for the signals routes. */
  signals?: SignalsControl;
  /**
   * What the process runs with for a config read from the file (the demo: its command-line ports
   * and speed-scaled timings). A Settings edit is compared and applied through it, so those never
   * read as the operator's changes; the file keeps what the operator wrote.
   */
  runtimeConfig?: (fromFile: Config) => Config;
}

export interface App {
  readonly ctx: ServiceContext;
  readonly control: ControlLoop;
  readonly ocppPort: number;
  readonly httpPort?: number;
  readonly store: Storage;
  readonly http: HttpService;
  /** The grid-signal timeline: producers submit, the operator lists and opts out. */
  readonly signals: SignalTimelineService;
  /** One VEN per configured VTN; status() for the operator view. */
  readonly openadr: OpenAdrService[];
  /** Local-controller mode (config `upstream`): per charger, its uplink to the CSMS. */
  readonly upstream: UpstreamService;
  stop(): Promise<void>;
}

export async function startApp(options: AppOptions): Promise<App> {
  const { config, log } = options;
  const bus = new Bus(log.child({ module: 'bus' }));
  // Everything stamps with the step watch's clock: wall time that moves only when a step is
  // announced, so no stamp is ever on a clock its store has not been moved to (src/clock-step-watch.ts).
  const clockWatch = new ClockStepWatch(options.clock ?? systemClock, bus, log.child({ module: 'clock' }));
  const clock: Clock = clockWatch;
  const state = new SiteState(config, bus);
  const ctx: ServiceContext = { config, bus, log, clock, state };

  const started: Service[] = [];
  const start = async <S extends Service>(service: S): Promise<S> => {
    await service.start();
    started.push(service);
    return service;
  };
  const stop = async () => {
    for (const service of started.splice(0).reverse()) {
      try {
        await service.stop();
      } catch (error) {
        log.error({ err: error, service: service.name }, 'service failed to stop cleanly');
      }
    }
  };

  try {
    // Storage first (closed last): transactions are committed before a charger gets its answer.
    const store = openStorage(config.storage.path, clock);
    started.push({ name: 'storage', start: async () => {}, stop: async () => store.close() });
    // SQLite's WAL checkpoints (two fsyncs each) on a worker thread, not inside a commit on the event loop.
    if (config.storage.path !== ':memory:') {
      await start(new WalCheckpointer({ path: config.storage.path, autoCheckpoint: (pages) => store.autoCheckpoint(pages), wait: realWait, log: log.child({ module: 'storage' }) }));
    }
    // The site's events list listens before anything runs: the failsafe every start begins in is in it.
    const events = createEventLog(ctx);
    started.push({ name: 'event-log', start: async () => {}, stop: async () => events.stop() });
    await start(createSessionSettingsKeeper(ctx, store));
    await start(createChargerReconciler(ctx, store));
    await start(createHistoryRecorder(ctx, store));
    // Grid signals before control, so persisted limits are in force from the first cycle.
    const signalStore = config.storage.path === ':memory:' ? createMemorySignalStore() : createJsonSignalStore(defaultSignalStorePath(config.storage.path));
    const signals = await start(createSignalTimeline(ctx, signalStore));
    if (config.mqtt) await start(createMqttSignalSource(ctx, signals, config.mqtt));
    const influx = config.influx ? await start(createInfluxExport(ctx, config.influx)) : undefined;
    // One book of the OCPP transactions and 2.0.1 station ids: the central system writes it, the relay reads it.
    const transactions = new TransactionBook(store.transactions, store.stationIds, store.refused);
    const upstream = await start(
      createUpstreamService(ctx, {
        store: store.upstream,
        book: transactions,
        refuse: (code, message) => new OcppCallRefused(code as OcppCallRefused['rpcErrorCode'], message),
      }),
    );
    const decideParams = decideParamsFromConfig(config);
    const ocpp = await start(
      createCentralSystem(ctx, {
        transactions,
        holdings: store.holdings,
        meterSampleIntervalS: config.control.meterValueIntervalS,
        samples: { carResponseMs: decideParams.carResponseMs ?? config.control.carResponseS * 1000, drawStaleMs: decideParams.drawStaleAfterMs ?? config.control.staleAfterMs },
        ...(upstream.enabled ? { wrapConnection: (connection, charger) => upstream.wrap(connection, charger), acceptedElsewhere: (idTag) => upstream.acceptedElsewhere(idTag) } : {}),
      }),
    );
    const devices = await start(createDeviceService(ctx));
    await start(createStorageControl(ctx, devices.controls));
    const solar = await start(createSolarCeilings(ctx));
    // The tariff service starts after the bridge; its figures reach MQTT once it runs.
    let energyToday: (() => { gridImportWh: number; gridExportWh: number; evEnergyWh: number }) | undefined;
    let mqttBridge: MqttBridge | undefined;
    if (config.mqtt) {
      mqttBridge = await start(
        createMqttBridge(ctx, config.mqtt, {
          chargeMode: solar.mode,
          signals,
          energyToday: () => energyToday?.(),
          softwareVersion: softwareVersion(),
          ...(upstream.enabled ? { upstream: () => upstream.status() } : {}),
        }),
      );
    }
    // Files beside the database; an in-memory database (tests, benchmarks) gets a temporary folder
    // so nothing lands in the working directory.
    const dataDir = config.storage.path === ':memory:' ? mkdtempSync(join(tmpdir(), 'ems-data-')) : dirname(config.storage.path);
    const tariffs = await start(
      createTariffService(ctx, {
        peakSource: store.peaks,
        kpiStore: store.kpiDays,
        peakFilePath: join(dataDir, 'demand-peak.json'),
        billsFilePath: join(dataDir, 'session-bills.jsonl'),
      }),
    );
    energyToday = () => tariffs.kpis();
    const planner = await start(createPlannerService(ctx, tariffs, { forecastFilePath: join(dataDir, 'planner-forecast.json') }));
    const ceilingProviders: CeilingProvider[] = [solar, planner];
    // The first cycle decides on the meters' first readings, not on none: after a restart with a
    // grid meter it would otherwise start in the failsafe and hold every car at the failsafe current
    // until the first reading. Chargers keep what they hold meanwhile (safe on its own); bounded by
    // control.staleAfterMs, after which no reading is no reading.
    await firstReadings(devices.pollAll(), config.control.staleAfterMs);
    const control = await start(createControlLoop(ctx, ocpp, { ceilingProviders, clockWatch }));
    const openadr = createOpenAdrServices(ctx, { sink: signals });
    for (const ven of openadr) await start(ven);
    const http = await start(
      createHttpService(ctx, {
        store,
        configPath: options.configPath,
        overridesPath: options.overridesPath,
        ...(options.runtimeConfig ? { runtimeConfig: options.runtimeConfig } : {}),
        events,
        staticDir: options.staticDir ?? packagePath('dashboard', 'dist'),
        signals: options.signals ?? signals,
        openadr: () => openadr.map((ven) => ven.status()),
        unauthenticatedChargers: () => ocpp.unauthenticatedChargers(),
        economics: tariffs,
        plan: planner,
        chargeMode: solar.mode,
        controlStats: () => control.stats,
        liveConfigSections: LIVE_SECTIONS,
        ...(upstream.enabled ? { upstream: () => upstream.status() } : {}),
        ...(influx ? { exportStats: () => influx.stats } : {}),
        ...(mqttBridge ? { mqttStats: () => mqttBridge.stats() } : {}),
      }),
    );
    log.info({ ocppPort: ocpp.port }, `EMS running for ${config.site.name}: OCPP on ws://${config.ocpp.host}:${ocpp.port}/ocpp/{chargerId}`);
    return { ctx, control, ocppPort: ocpp.port, httpPort: http.port, store, http, signals, openadr, upstream, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits for the devices' first poll (in flight since they started), at most `maxMs`. */
async function firstReadings(polled: Promise<void>, maxMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([polled.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)))]);
  clearTimeout(timer);
}

/** The version in package.json, for the Home Assistant device; undefined when it cannot be read. */
function softwareVersion(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}
