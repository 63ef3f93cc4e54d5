import type { Config } from '../config/schema.ts';
import type { Bus } from './bus.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';
import type { SiteState } from './state/site-state.ts';

/** A feature of the shell: owns its timers, sockets and listeners between start() and stop(). */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Everything a service may use; handed in by src/app.ts, the one place that wires things. */
export interface ServiceContext {
  config: Config;
  bus: Bus;
  log: Logger;
  clock: Clock;
  state: SiteState;
}
