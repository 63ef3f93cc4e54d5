import type { PowerSamples } from '../power-samples.ts';
import type { TelemetrySample } from './xml-build.ts';
import { TELEMETRY } from './xml-build.ts';
import type { ReportRequest } from './xml-parse.ts';

interface ActiveReport extends ReportRequest {
  nextDueMs: number;
}

export interface DueReport {
  reportRequestId: string;
  reportSpecifierId: string;
  samples: TelemetrySample[];
}

/**
 * The VTN's report requests for site telemetry (TELEMETRY_USAGE): which are pending, when each is
 * due (every reportBackDuration), and its intervals at the requested granularity.
 */
export class TelemetryReports {
  private readonly active = new Map<string, ActiveReport>();

  /** Used when a request's reportBackDuration is 0. */
  constructor(private readonly defaultPeriodMs: number) {}

  /** Takes the requests this VEN can serve; returns the ids of those it cannot. */
  accept(requests: readonly ReportRequest[], nowMs: number): string[] {
    const refused: string[] = [];
    for (const request of requests) {
      if (!request.rIds.includes(TELEMETRY.rId)) {
        refused.push(request.reportRequestId);
        continue;
      }
      this.active.set(request.reportRequestId, { ...request, nextDueMs: nowMs + this.periodMs(request) });
    }
    return refused;
  }

  cancel(ids: readonly string[]): void {
    for (const id of ids) this.active.delete(id);
  }

  clear(): void {
    this.active.clear();
  }

  pendingIds(): string[] {
    return [...this.active.keys()];
  }

  /** Reports due at `nowMs`, each covering the last period; their next due time moves on. */
  due(nowMs: number, samples: PowerSamples): DueReport[] {
    const result: DueReport[] = [];
    for (const report of this.active.values()) {
      if (report.nextDueMs > nowMs) continue;
      const periodMs = this.periodMs(report);
      const granularityMs = report.granularityMs > 0 ? Math.min(report.granularityMs, periodMs) : periodMs;
      const buckets: TelemetrySample[] = [];
      for (let startMs = nowMs - periodMs; startMs < nowMs; startMs += granularityMs) {
        const powerW = samples.averageW(startMs, startMs + granularityMs);
        if (powerW !== undefined) buckets.push({ startMs, durationMs: granularityMs, powerW });
      }
      report.nextDueMs = nowMs + periodMs;
      result.push({ reportRequestId: report.reportRequestId, reportSpecifierId: report.reportSpecifierId, samples: buckets });
    }
    return result;
  }

  private periodMs(request: ReportRequest): number {
    return request.reportBackDurationMs > 0 ? request.reportBackDurationMs : this.defaultPeriodMs;
  }
}
