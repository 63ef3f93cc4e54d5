import { describe, expect, it } from 'vitest';
import { PowerSamples } from '../../src/openadr/power-samples.ts';
import { TelemetryReports } from '../../src/openadr/ven2b/telemetry-reports.ts';

const T = 1_800_000_000_000;
const request = (over: Partial<Parameters<TelemetryReports['accept']>[0][number]> = {}) => ({
  reportRequestId: 'rr-1',
  reportSpecifierId: 'site-telemetry',
  granularityMs: 60_000,
  reportBackDurationMs: 180_000,
  rIds: ['site-import-power'],
  ...over,
});

describe('2.0b telemetry reports', () => {
  it('sends one average per granularity step, every report-back period', () => {
    const reports = new TelemetryReports(60_000);
    const samples = new PowerSamples();
    expect(reports.accept([request()], T)).toEqual([]);
    for (let s = 0; s < 180; s += 10) samples.add(T + s * 1000, s < 60 ? 1000 : s < 120 ? 2000 : 3000);
    expect(reports.due(T + 179_000, samples)).toEqual([]);
    const [due] = reports.due(T + 180_000, samples);
    expect(due.samples.map((x) => [x.startMs - T, x.durationMs, x.powerW])).toEqual([
      [0, 60_000, 1000],
      [60_000, 60_000, 2000],
      [120_000, 60_000, 3000],
    ]);
    expect(reports.due(T + 200_000, samples)).toEqual([]);
    expect(reports.due(T + 360_000, samples)).toHaveLength(1);
  });

  it('refuses data points it does not offer, uses the configured period when the VTN gives none, and forgets cancelled requests', () => {
    const reports = new TelemetryReports(30_000);
    expect(reports.accept([request({ reportRequestId: 'x', rIds: ['battery-soc'] }), request({ reportBackDurationMs: 0 })], T)).toEqual(['x']);
    expect(reports.pendingIds()).toEqual(['rr-1']);
    const samples = new PowerSamples();
    samples.add(T + 10_000, 500);
    expect(reports.due(T + 30_000, samples)[0].samples).toEqual([{ startMs: T, durationMs: 30_000, powerW: 500 }]);
    reports.cancel(['rr-1']);
    expect(reports.pendingIds()).toEqual([]);
  });

  it('keeps a bounded number of samples and ignores missing readings', () => {
    const samples = new PowerSamples(3);
    for (let i = 0; i < 5; i++) samples.add(T + i, i);
    samples.add(T + 5, undefined);
    samples.add(T + 6, Number.NaN);
    expect(samples.range(T, T + 10).map((s) => s.powerW)).toEqual([2, 3, 4]);
  });
});
