import type { DecideParams, Decision, SiteSnapshot } from '../../optimizer/types.ts';
import type { BusEvent } from '../bus.ts';
import { shiftDecideState } from '../../optimizer/time-shift.ts';
import type { ClockStepWatch } from '../clock-step-watch.ts';
import type { Service, ServiceContext } from '../service.ts';
import type { CeilingProvider } from './ceiling-provider.ts';
import type { ChargerCommands } from './charger-commands.ts';
import { decideParamsFromConfig } from './decide-params.ts';
import { controlStep, initialControlMemory, type CeilingsW, type ControlMemory } from './control-step.ts';

/** Events after which the caps may have to change at once, not only at the next tick. */
const TRIGGERS: readonly BusEvent[] = [
  'device.reading',
  'device.health',
  'connector.status',
  'connector.meter',
  'session.started',
  'session.ended',
  'session.update',
  'signals.changed',
  'charger.connected',
  'charger.disconnected',
];

/** Config sections the control loop takes without a restart. */
export const LIVE_SECTIONS: readonly string[] = ['control'];

export interface ControlLoopStats {
  cycles: number;
  lastCycleAtMs?: number;
  /** Wall time of the last decide() plus send, ms. */
  lastCycleDurationMs?: number;
  lastError?: string;
  failsafe: boolean;
}

export interface ControlLoop extends Service {
  readonly stats: ControlLoopStats;
  /** Run a cycle that starts after this call (tests, and the coalesced trigger path); during one, right after it. */
  runCycle(): Promise<Decision | undefined>;
}

export interface ControlLoopOptions {
  /** Coalescing window for event-triggered cycles, ms. */
  minTriggerGapMs?: number;
  /**
   * Coalescing window for cycles triggered only by connectors' MeterValues, ms (default 500). At 200
   * chargers these arrive many times a second; a cycle after each one (every 100 ms) was a fifth of
   * the EMS's busy time and blocked its loop. The grid meter and every other trigger keep minTriggerGapMs.
   */
  meterTriggerGapMs?: number;
  ceilingProviders?: readonly CeilingProvider[];
  /** Checked at the start of every cycle, before the time is read for a decision (wall clock steps). */
  clockWatch?: ClockStepWatch;
}

/**
 * The only place that turns state into decisions: snapshot → controlStep() → send the caps, each in
 * its own turn of the event loop. Runs control.intervalMs after the last cycle started (whatever
 * started it) and, coalesced to at most one per 100 ms, whenever a meter, a charger or a
 * session changes (connectors' MeterValues alone: at most one per meterTriggerGapMs, 500 ms). Cycles never overlap; a trigger during a cycle runs one more after it.
 */
export function createControlLoop(ctx: ServiceContext, chargers: ChargerCommands, options: ControlLoopOptions = {}): ControlLoop {
  const log = ctx.log.child({ module: 'control' });
  let params: DecideParams = decideParamsFromConfig(ctx.config);
  const minGapMs = options.minTriggerGapMs ?? 100;
  const meterGapMs = Math.max(minGapMs, options.meterTriggerGapMs ?? 500);
  const providers = options.ceilingProviders ?? [];
  const stats: ControlLoopStats = { cycles: 0, failsafe: false };
  let memory: ControlMemory = initialControlMemory;
  let intervalMs = ctx.config.control.intervalMs;
  /** The periodic cycle: intervalMs after the last cycle started, whatever started it. */
  let periodicTimer: NodeJS.Timeout | undefined;
  let triggerTimer: NodeJS.Timeout | undefined;
  /** When the pending trigger timer fires (performance.now() ms). */
  let triggerDueMs = Infinity;
  let running: Promise<Decision | undefined> | undefined;
  /** The cycle a runCycle() call during a running one waits for: it starts right after. */
  let queued: Promise<Decision | undefined> | undefined;
  /** A trigger came during a cycle: the gap it asked for (undefined: none). */
  let rerunGapMs: number | undefined;
  let lastStartMs = -Infinity;
  let stopped = true;
  const unsubscribe: (() => void)[] = [];

  /** Each provider's ceilings for this snapshot; a provider that throws is ignored this cycle. */
  function ceilingsOf(snapshot: SiteSnapshot): CeilingsW[] {
    return providers.map((p) => {
      try {
        return p.ceilingsW(snapshot);
      } catch (error) {
        log.error({ err: error, provider: p.name }, 'ceiling provider failed; ignoring its ceilings this cycle');
        return new Map<string, number>();
      }
    });
  }

  /** What the estimator distrusts (over-reporting chargers, implausible grid readings): logged once when it starts and once when it clears. */
  const activeFindings = new Map<string, string>();
  function logFindings(decision: Decision): void {
    const now = new Map((decision.findings ?? []).map((f) => [f.key, f.text]));
    for (const [key, text] of now) if (!activeFindings.has(key)) log.warn({ finding: key }, text);
    for (const [key, text] of activeFindings) if (!now.has(key)) log.info({ finding: key }, `cleared: ${text}`);
    activeFindings.clear();
    for (const [key, text] of now) activeFindings.set(key, text);
  }

  /**
   * At debug: per connector, what a cycle read and decided, when any of it changed (the cap, the
   * limit the charger confirmed, the reservation, the newest sample): enough to replay by hand why
   * the estimator judged a draw as it did. Nothing is built at info.
   */
  const traced = new Map<string, string>();
  function traceConnectors(snapshot: SiteSnapshot, decision: Decision): void {
    if (!log.isLevelEnabled('debug')) return;
    const caps = new Map(decision.caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
    for (const c of snapshot.connectors) {
      const key = `${c.chargerId}/${c.connectorId}`;
      const fields = { capA: caps.get(key), installedCapA: c.installedCapA, reservedA: c.reservedA, drawA: c.drawA, drawAtMs: c.drawAtMs, session: c.session?.id };
      const line = JSON.stringify(fields);
      if (traced.get(key) === line) continue;
      traced.set(key, line);
      log.debug({ chargerId: c.chargerId, connectorId: c.connectorId, atMs: snapshot.atMs, ...fields }, 'connector as the cycle read and decided it');
    }
  }

  /**
   * Lets the event loop run what has queued up meanwhile (a charger's frame, the CSMS's answer)
   * before the cycle goes on: each stage of a cycle is its own loop turn, so a relayed message waits
   * behind one stage at most, never behind the whole cycle (docs/local-controller.md, "Where the
   * MeterValues tail goes").
   */
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  /**
   * The next periodic cycle comes intervalMs after this one started: a cycle triggered by events
   * counts as the periodic one (at 200 chargers the meters trigger one every 500 ms, and a tick on
   * top of them was a third of the cycles, each one allocating ~0.5 MB and blocking the loop).
   */
  function schedulePeriodic(): void {
    clearTimeout(periodicTimer);
    periodicTimer = undefined;
    if (stopped) return;
    periodicTimer = setTimeout(() => {
      periodicTimer = undefined;
      void runCycle();
    }, Math.max(0, lastStartMs + intervalMs - performance.now()));
  }

  async function cycle(): Promise<Decision | undefined> {
    const started = performance.now();
    lastStartMs = started;
    schedulePeriodic();
    // A step of the wall clock is announced (and every stamp moved with it) before this cycle reads the time.
    options.clockWatch?.check();
    const atMs = ctx.clock.nowMs();
    let decision: Decision | undefined;
    try {
      const snapshot = ctx.state.snapshot(atMs);
      const step = controlStep({ snapshot, params, memory, ceilingsW: ceilingsOf(snapshot) });
      const result = step.decision;
      decision = result;
      memory = step.memory;
      stats.cycles++;
      stats.lastCycleAtMs = atMs;
      if (result.failsafe !== stats.failsafe) {
        stats.failsafe = result.failsafe;
        // The optimizer says why in every failsafe reason ("failsafe: no grid meter reading yet; …").
        const because = result.caps.find((c) => c.reason.kind === 'failsafe')?.reason.text.split(';')[0]?.replace(/^failsafe: /, '');
        const why = result.failsafe ? (because ?? 'site data is stale') : 'site data is fresh again';
        // Every start is in failsafe until the first readings come (the demo at x60 reads its meter
        // after its first cycle): expected, so not a warning (the event log says it the same way).
        if (result.failsafe && stats.cycles === 1) log.info({ atMs }, `failsafe on at start until site data comes: ${why}; sessions held at the failsafe current`);
        else if (result.failsafe) log.warn({ atMs }, `failsafe on: ${why}; sessions held at the failsafe current`);
        else log.info({ atMs }, `failsafe off: ${why}`);
        ctx.bus.emit('control.failsafe', { active: result.failsafe, atMs, why });
      }
      // Three loop turns: the decision (above), its listeners (history, metrics, live feed), the caps' dispatch.
      await nextTurn();
      logFindings(result);
      traceConnectors(snapshot, result);
      ctx.bus.emit('decision', result);
      await nextTurn();
      await chargers.applyCaps(result.caps);
      if (stats.lastError) log.info('control cycle recovered');
      stats.lastError = undefined;
    } catch (error) {
      if (!stats.lastError) log.error({ err: error }, 'control cycle failed; profiles already installed stay in force');
      stats.lastError = error instanceof Error ? error.message : String(error);
    }
    stats.lastCycleDurationMs = performance.now() - started;
    return decision;
  }

  /**
   * A cycle that starts after this call, so it sees everything that happened before it. During a
   * running cycle (which read its snapshot earlier) that is one more right after it, shared by every
   * caller meanwhile.
   */
  function runCycle(): Promise<Decision | undefined> {
    if (running) {
      queued ??= running.then(() => {
        queued = undefined;
        return runCycle();
      });
      return queued;
    }
    // This cycle covers every trigger so far: a pending one would only repeat it.
    clearTimeout(triggerTimer);
    triggerTimer = undefined;
    triggerDueMs = Infinity;
    running = cycle().finally(() => {
      running = undefined;
      const gapMs = rerunGapMs;
      rerunGapMs = undefined;
      if (gapMs !== undefined && !stopped) trigger(gapMs);
    });
    return running;
  }

  /** A cycle at most gapMs after the last one started; a faster trigger moves a slower pending one earlier. */
  function trigger(gapMs: number = minGapMs): void {
    if (stopped) return;
    if (running) {
      rerunGapMs = Math.min(rerunGapMs ?? Infinity, gapMs);
      return;
    }
    const nowMs = performance.now();
    const dueMs = Math.max(nowMs, lastStartMs + gapMs);
    if (triggerTimer) {
      if (dueMs >= triggerDueMs) return;
      clearTimeout(triggerTimer);
    }
    triggerDueMs = dueMs;
    triggerTimer = setTimeout(() => {
      triggerTimer = undefined;
      triggerDueMs = Infinity;
      void runCycle();
    }, dueMs - nowMs);
  }

  return {
    name: 'control',
    stats,
    runCycle,
    async start() {
      stopped = false;
      for (const event of TRIGGERS) unsubscribe.push(ctx.bus.on(event, () => trigger(event === 'connector.meter' ? meterGapMs : minGapMs)));
      // The wall clock stepped: the pause and estimation timers move with it (no pause ends early or lasts an hour longer).
      unsubscribe.push(ctx.bus.on('clock.stepped', ({ stepMs }) => (memory = { ...memory, decide: shiftDecideState(memory.decide, stepMs) })));
      intervalMs = ctx.config.control.intervalMs;
      // A config edit applied live (the API writes the section into ctx.config first): new
      // parameters from the next cycle on, and a new period if it changed.
      unsubscribe.push(
        ctx.bus.on('config.changed', ({ applied }) => {
          if (!applied.some((section) => LIVE_SECTIONS.includes(section))) return;
          params = decideParamsFromConfig(ctx.config);
          log.info({ applied }, 'control parameters updated from the edited config');
          if (ctx.config.control.intervalMs !== intervalMs) {
            intervalMs = ctx.config.control.intervalMs;
            schedulePeriodic();
          }
          trigger();
        }),
      );
      await runCycle();
    },
    async stop() {
      stopped = true;
      unsubscribe.splice(0).forEach((off) => off());
      clearTimeout(periodicTimer);
      periodicTimer = undefined;
      clearTimeout(triggerTimer);
      triggerTimer = undefined;
      triggerDueMs = Infinity;
      await running;
      await queued;
    },
  };
}
