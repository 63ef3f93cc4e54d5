// The last line of defence for a long-running command: an error nothing else handled is logged and
// counted; the process keeps serving when the error came from a peer's socket (its connection is
// gone, our state is intact), and exits for systemd to restart when our own state may be corrupt.
import type { Bus } from '../bus.ts';
import type { Logger } from '../log.ts';

/** Error codes of one broken peer connection: the socket is lost, nothing of ours is half-changed. */
const PEER_IO_CODES = /^(WS_ERR_|ECONNRESET$|EPIPE$|ECONNABORTED$|ECONNREFUSED$|ETIMEDOUT$|EHOSTUNREACH$|ENETUNREACH$|ENOTCONN$|ERR_STREAM_(DESTROYED|WRITE_AFTER_END|PREMATURE_CLOSE)$|ERR_SSL_|ERR_TLS_|HPE_)/;

export const EXIT_STATE_UNSAFE = 70;

export interface ProcessGuardOptions {
  log: Logger;
  /** Ends the process (default process.exit); called once, after the fatal line is logged. */
  exit?: (code: number) => void;
  /** The emitter to guard (default process). */
  target?: NodeJS.EventEmitter;
}

/** Whether an error is a peer's connection failing (keep serving) rather than a fault of ours. */
export function isPeerIoError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && PEER_IO_CODES.test(code);
}

export class ProcessGuard {
  private bus: Bus | undefined;
  private exiting = false;
  readonly counts = { unhandledRejection: 0, uncaughtException: 0 };
  private readonly log: Logger;
  private readonly exit: (code: number) => void;
  private readonly target: NodeJS.EventEmitter;
  private readonly onRejection = (reason: unknown) => this.rejection(reason);
  private readonly onException = (error: unknown) => this.exception(error);

  constructor(options: ProcessGuardOptions) {
    this.log = options.log.child({ module: 'process' });
    this.exit = options.exit ?? ((code) => process.exit(code));
    this.target = options.target ?? process;
    this.target.on('unhandledRejection', this.onRejection);
    this.target.on('uncaughtException', this.onException);
  }

  /** From now on faults are also counted on /metrics (ems_security_events_total). */
  attach(bus: Bus): void {
    this.bus = bus;
  }

  dispose(): void {
    this.target.off('unhandledRejection', this.onRejection);
    this.target.off('uncaughtException', this.onException);
  }

  private count(kind: 'unhandled-rejection' | 'uncaught-exception'): void {
    this.bus?.emit('security.event', { kind, atMs: Date.now() });
  }

  /**
   * A promise nobody awaited failed. Its work was abandoned, not half-applied to shared state (state
   * changes here are synchronous), so the process keeps serving.
   */
  private rejection(reason: unknown): void {
    this.counts.unhandledRejection++;
    this.count('unhandled-rejection');
    this.log.error({ err: reason }, 'unhandled promise rejection (a bug); the process keeps serving');
  }

  private exception(error: unknown): void {
    this.counts.uncaughtException++;
    this.count('uncaught-exception');
    if (isPeerIoError(error)) {
      this.log.error({ err: error }, 'uncaught error from a peer connection (a bug); that connection is lost, the process keeps serving');
      return;
    }
    if (this.exiting) return;
    this.exiting = true;
    this.log.fatal({ err: error }, 'uncaught exception: state may be inconsistent; exiting for the service manager to restart');
    this.exit(EXIT_STATE_UNSAFE);
  }
}
