// How often the EMS may ask chargers for a MeterValues sample (TriggerMessage), whatever the
// control loop wants: per connector, per charger and for the whole site. No I/O: the central
// system (src/ocpp/central-system.ts) and the closed-loop harness send what pick() returns and
// report each answer back.
import type { Decision } from '../../optimizer/types.ts';
import type { Logger } from '../log.ts';
import { samplesWanted, type ConnectorSampleState, type SampleWanted, type SampleWantedSettings } from './samples-wanted.ts';

/** What came of one TriggerMessage MeterValues. */
export type TriggerAnswer = 'Accepted' | 'Rejected' | 'NotImplemented' | 'Failed' | 'Closed';

export interface MeterTriggerLimits {
  /** At most one request per connector in this time, ms. */
  connectorGapMs: number;
  /** A charger that answers Rejected or NotImplemented is not asked again for this long, ms. */
  refusedRetryMs: number;
  /** A charger whose request failed (no answer, an error), or that accepted three in a row and sent nothing, is left alone this long, ms. */
  failedRetryMs: number;
  /** Requests per second for the whole site (a token bucket), and its burst. */
  sitePerS: number;
  siteBurst: number;
}

export const DEFAULT_TRIGGER_LIMITS: MeterTriggerLimits = {
  connectorGapMs: 15_000,
  refusedRetryMs: 60 * 60_000,
  failedRetryMs: 10 * 60_000,
  sitePerS: 5,
  siteBurst: 10,
};

/** Accepted requests in a row after which no sample arrived before the next was wanted: the charger accepts and sends nothing. */
const UNKEPT_LIMIT = 3;

interface ChargerTriggers {
  /** A request is on the wire (one at a time per charger: its calls queue behind it). */
  inFlight: boolean;
  /** Not asked before this monotonic time. */
  quietUntilMs: number;
  /** Why it is left alone (logged once when it starts). */
  quietWhy?: string;
  unkept: number;
  /** Per connector: the last request (monotonic ms), the wall time it was made and whether it was accepted. */
  asked: Map<number, { atMonoMs: number; atWallMs: number; accepted: boolean }>;
}

export interface TriggerCounts {
  sent: number;
  accepted: number;
  refused: number;
  failed: number;
}

/**
 * The EMS's TriggerMessage MeterValues policy: after each decision, the connectors samplesWanted()
 * names, at most one per connector per connectorGapMs, one on the wire per charger, a site-wide
 * token bucket (200 chargers never storm), the longest waiting first. A charger that refuses
 * (Rejected, NotImplemented) is not asked again for refusedRetryMs, logged once.
 */
export class MeterTriggers {
  readonly counts: TriggerCounts = { sent: 0, accepted: 0, refused: 0, failed: 0 };
  private readonly chargers = new Map<string, ChargerTriggers>();
  private tokens: number;
  private tokensAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly settings: SampleWantedSettings,
    private readonly limits: MeterTriggerLimits = DEFAULT_TRIGGER_LIMITS,
    private readonly log?: Logger,
  ) {
    this.tokens = limits.siteBurst;
  }

  private of(chargerId: string): ChargerTriggers {
    let charger = this.chargers.get(chargerId);
    if (!charger) {
      charger = { inFlight: false, quietUntilMs: Number.NEGATIVE_INFINITY, unkept: 0, asked: new Map() };
      this.chargers.set(chargerId, charger);
    }
    return charger;
  }

  /**
   * The requests to send now, after `decision` (monotonic `nowMs` for the limits). Each one
   * returned is in flight until answered() hears of it.
   */
  pick(decision: Decision, connectors: () => Iterable<ConnectorSampleState>, nowMs: number): SampleWanted[] {
    const wanted = samplesWanted(decision, connectors, this.settings);
    if (!wanted.length) return [];
    this.refill(nowMs);
    const picked: SampleWanted[] = [];
    for (const want of wanted) {
      if (this.tokens < 1) break;
      const charger = this.of(want.chargerId);
      if (charger.inFlight || nowMs < charger.quietUntilMs) continue;
      const asked = charger.asked.get(want.connectorId);
      if (asked && nowMs - asked.atMonoMs < this.limits.connectorGapMs) continue;
      if (asked?.accepted) {
        const sampledAt = want.lastSampleAtMs;
        if (sampledAt === undefined || sampledAt < asked.atWallMs - 1_000) {
          charger.unkept++;
          if (charger.unkept >= UNKEPT_LIMIT) {
            this.quiet(want.chargerId, charger, nowMs, this.limits.failedRetryMs, `it accepted ${UNKEPT_LIMIT} requests in a row and sent no sample`);
            continue;
          }
        } else charger.unkept = 0;
      }
      charger.inFlight = true;
      charger.asked.set(want.connectorId, { atMonoMs: nowMs, atWallMs: decision.atMs, accepted: false });
      this.tokens -= 1;
      this.counts.sent++;
      picked.push(want);
    }
    return picked;
  }

  /** The charger answered a request pick() returned (or it failed, or its link closed). */
  answered(chargerId: string, connectorId: number, answer: TriggerAnswer, nowMs: number, detail?: string): void {
    const charger = this.of(chargerId);
    charger.inFlight = false;
    if (answer === 'Accepted') {
      this.counts.accepted++;
      const asked = charger.asked.get(connectorId);
      if (asked) asked.accepted = true;
      if (charger.quietWhy) {
        charger.quietWhy = undefined;
        this.log?.info({ chargerId }, 'charger sends MeterValues on request again');
      }
      return;
    }
    if (answer === 'Closed') return;
    if (answer === 'Failed') {
      this.counts.failed++;
      this.quiet(chargerId, charger, nowMs, this.limits.failedRetryMs, `the request failed${detail ? ` (${detail})` : ''}`);
      return;
    }
    this.counts.refused++;
    this.quiet(chargerId, charger, nowMs, this.limits.refusedRetryMs, `it answered ${answer}`);
  }

  private quiet(chargerId: string, charger: ChargerTriggers, nowMs: number, forMs: number, why: string): void {
    charger.quietUntilMs = nowMs + forMs;
    charger.unkept = 0;
    if (charger.quietWhy === undefined) {
      this.log?.info(
        { chargerId, retryInS: Math.round(forMs / 1000) },
        `charger does not send MeterValues on request (TriggerMessage): ${why}; its unused current is lent after its own samples, and it is asked again later`,
      );
    }
    charger.quietWhy = why;
  }

  private refill(nowMs: number): void {
    const { sitePerS, siteBurst } = this.limits;
    if (Number.isFinite(this.tokensAtMs)) this.tokens = Math.min(siteBurst, this.tokens + ((nowMs - this.tokensAtMs) / 1000) * sitePerS);
    this.tokensAtMs = nowMs;
  }
}
