// The one place that wires the system together. Feature folders never import each other; they
// meet here, on the bus, or through the interfaces handed in below.
import type { Config } from '../config/schema.ts';
import { Bus } from './bus.ts';
import { systemClock, type Clock } from './clock.ts';
import type { CeilingProvider } from './control/ceiling-provider.ts';
import { createControlLoop, type ControlLoop } from './control/control-loop.ts';
import type { Logger } from './log.ts';
import { createCentralSystem } from './ocpp/central-system.ts';
import type { Service, ServiceContext } from './service.ts';
import { SiteState } from './state/site-state.ts';
import { MemoryTransactionStore } from './state/memory-transaction-store.ts';

export interface AppOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
  /** The file the config came from; the API saves edits there. */
  configPath?: string;
}

export interface App {
  readonly ctx: ServiceContext;
  readonly control: ControlLoop;
  readonly ocppPort: number;
  readonly httpPort?: number;
  stop(): Promise<void>;
}

export async function startApp(options: AppOptions): Promise<App> {
  const { config, log } = options;
  const clock = options.clock ?? systemClock;
  const bus = new Bus(log.child({ module: 'bus' }));
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
    const transactions = new MemoryTransactionStore();
    const ocpp = await start(createCentralSystem(ctx, { transactions }));
    const ceilingProviders: CeilingProvider[] = [];
    const control = await start(createControlLoop(ctx, ocpp, { ceilingProviders }));
    log.info({ ocppPort: ocpp.port }, `EMS running for ${config.site.name}: OCPP on ws://${config.ocpp.host}:${ocpp.port}/ocpp/{chargerId}`);
    return { ctx, control, ocppPort: ocpp.port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
