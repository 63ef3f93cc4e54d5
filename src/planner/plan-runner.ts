// Runs plans in a worker thread with a deadline. A plan that fails or is late is dropped (the
// worker is restarted); callers then run without ceilings and the greedy control carries on.
import { Worker } from 'node:worker_threads';
import type { Plan, PlanInput } from '../../optimizer/plan-types.ts';
import { EmsError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { SolverName } from './lp-solver.ts';
import type { PlanRequest } from './plan-worker.ts';

export class PlanFailedError extends EmsError {
  override readonly code: string = 'PLAN_FAILED';
}
export class PlanTimeoutError extends PlanFailedError {
  override readonly code = 'PLAN_TIMEOUT';
}

export interface PlanOutcome {
  plan: Plan;
  solveMs: number;
}

type Pending = { resolve: (o: PlanOutcome) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout };

/** A worker that has not loaded its code by then is stuck: it is dropped and the plans fail. */
const BOOT_LIMIT_MS = 120_000;

/** The worker runs TypeScript through tsx's loader, registered by a small JS bootstrap. */
const WORKER_URL = new URL('./plan-worker-boot.mjs', import.meta.url);

export class PlanRunner {
  private worker?: Worker;
  /** Resolves when the worker has loaded (its first message); plan deadlines count from then. */
  private workerReady?: Promise<boolean>;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly log: Logger,
    private readonly options: { solver: SolverName; timeLimitMs: number },
  ) {}

  private spawn(): Worker {
    const worker = new Worker(WORKER_URL);
    worker.unref();
    let booted: (ok: boolean) => void = () => {};
    this.workerReady = new Promise<boolean>((resolve) => (booted = resolve));
    const bootTimer = setTimeout(() => {
      this.log.warn({ bootLimitMs: BOOT_LIMIT_MS }, 'planner worker did not start; restarting it');
      booted(false);
      if (this.worker === worker) this.worker = undefined;
      void worker.terminate();
      this.failAll(new PlanTimeoutError(`planner worker not started within ${BOOT_LIMIT_MS} ms`));
    }, BOOT_LIMIT_MS);
    bootTimer.unref();
    worker.on('message', (message: { id: number; ready?: boolean; plan?: Plan; solveMs?: number; error?: string }) => {
      if (message.ready) {
        clearTimeout(bootTimer);
        booted(true);
        return;
      }
      const p = this.pending.get(message.id);
      if (!p) return;
      this.pending.delete(message.id);
      clearTimeout(p.timer);
      if (message.plan) p.resolve({ plan: message.plan, solveMs: message.solveMs ?? 0 });
      else p.reject(new PlanFailedError(`planner worker: ${message.error ?? 'no plan'}`));
    });
    worker.on('error', (error) => this.failAll(new PlanFailedError('planner worker crashed', { cause: error })));
    worker.on('exit', (code) => {
      clearTimeout(bootTimer);
      booted(false);
      if (this.worker === worker) this.worker = undefined;
      if (code !== 0) this.failAll(new PlanFailedError(`planner worker exited with code ${code}`));
    });
    return worker;
  }

  private failAll(error: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(error);
      this.pending.delete(id);
    }
  }

  /**
   * Solves in the worker; rejects with PlanTimeoutError after the time limit (plus load grace),
   * counted from when the worker has loaded: loading its code (tsx compiling the planner and the
   * solvers) takes seconds on a busy or small machine, and a deadline that counted it failed every
   * first plan there, then again in each fresh worker.
   */
  run(input: PlanInput): Promise<PlanOutcome> {
    const worker = (this.worker ??= this.spawn());
    const ready = this.workerReady!;
    const id = this.nextId++;
    const request: PlanRequest = { id, input, solver: this.options.solver, timeLimitMs: this.options.timeLimitMs };
    return new Promise<PlanOutcome>((resolve, reject) => {
      // The solver's own limit stops it cleanly; the deadline here catches a solver that ignores it.
      const deadlineMs = this.options.timeLimitMs * 1.5 + 2_000;
      const pending: Pending = { resolve, reject };
      this.pending.set(id, pending);
      worker.postMessage(request);
      void ready.then((ok) => {
        if (!ok || !this.pending.has(id)) return;
        pending.timer = setTimeout(() => {
          this.pending.delete(id);
          this.log.warn({ timeLimitMs: this.options.timeLimitMs }, 'plan is late; dropping it and restarting the planner worker');
          if (this.worker === worker) this.worker = undefined;
          void worker.terminate();
          reject(new PlanTimeoutError(`plan not ready within ${deadlineMs} ms`));
        }, deadlineMs);
      });
    });
  }

  async close(): Promise<void> {
    this.failAll(new PlanFailedError('planner stopped'));
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
