import { appendFileSync } from 'node:fs';

// Shared figures of the acceptance cases: the reaction window allowed after an outside change and
// one line of figures per case on stdout (what the findings quote).

/** Meter poll (1 s) + control cycle (1 s) + the slowest car (4 s) + charger step and slack (2 s). */
export const REACTION_WINDOW_MS = 8_000;

export function report(name: string, figures: Record<string, unknown>): void {
  console.log(`[acceptance] ${name}: ${JSON.stringify(figures)}`);
}

/** With ACCEPTANCE_TIMELINE=file: one line per second of true currents, pilots and draws. */
export function dumpTimeline(
  samples: { tMs: number; gridA: number[]; pilotA: Record<string, number>; drawA: Record<string, number> }[],
  name: string,
  chargers: { id: string; received: { atMs: number; connectorId: number; purpose: string; limit: number; status: string }[] }[] = [],
): void {
  const path = process.env.ACCEPTANCE_TIMELINE;
  if (!path || !samples.length) return;
  const t0 = samples[0]!.tMs;
  const profiles = chargers.map((cp) => `${cp.id} received: ${cp.received.map((r) => `${((r.atMs - t0) / 1000).toFixed(1)}s c${r.connectorId} ${r.purpose.replace('Profile', '')} ${r.limit} ${r.status}`).join(', ')}`);
  const lines = samples
    .filter((_, i) => i % 10 === 0)
    .map((s) => `${((s.tMs - t0) / 1000).toFixed(1)}s grid=${s.gridA.map((a) => a.toFixed(1)).join('/')} ${Object.keys(s.pilotA).map((k) => `${k}:${s.pilotA[k]!.toFixed(1)}>${s.drawA[k]!.toFixed(1)}`).join(' ')}`);
  appendFileSync(path, `== ${name}\n${lines.join('\n')}\n${profiles.join('\n')}\n`);
}

/** The longer cases run only on request (CI time): ACCEPTANCE_ALL=1, or with the field variants. */
export const ACCEPTANCE_ALL = process.env.ACCEPTANCE_ALL === '1' || process.env.ACCEPTANCE_VARIANTS === '1';

/**
 * ACCEPTANCE_STRICT=1: also the bars a known, intermittent EMS fault misses in some runs (each such
 * bar names its finding in findings.md); by default a case asserts what must hold in every run, so
 * CI stays deterministic, and reports the strict figures.
 */
export const ACCEPTANCE_STRICT = process.env.ACCEPTANCE_STRICT === '1';

/**
 * With ACCEPTANCE_TRACE=file: to file.NAME every 500 ms, one line of what the EMS says (GET /api/v1/state): its
 * building load, headroom and each connector's cap, status, reported draw and reason. Returns a stop.
 */
export function traceState(ems: { request(method: string, path: string): Promise<{ status: number; body: any }> }, name: string): () => void {
  const base = process.env.ACCEPTANCE_TRACE;
  if (!base) return () => undefined;
  const path = `${base}.${name}`;
  const t0 = Date.now();
  appendFileSync(path, `== ${name}\n`);
  const timer = setInterval(() => {
    void ems.request('GET', '/api/v1/state').then(({ body }) => {
      if (!body?.site) return;
      const s = body.site;
      const cons = (body.connectors as any[]).map((c) => `${c.chargerId}:${c.status}/${c.capA}>${c.drawA}[${c.reasonKind}${c.profile?.reservedA ? ` r${c.profile.reservedA}` : ''}]`).join(' ');
      appendFileSync(path, `${((Date.now() - t0) / 1000).toFixed(1)}s grid=${(s.gridCurrentA ?? []).map((a: number) => a.toFixed(1)).join('/')} bldW=${s.buildingPowerW} head=${(s.headroomA ?? []).map((a: number) => a.toFixed(1)).join('/')} ${cons} | ${(body.connectors as any[]).map((c) => `${c.chargerId} ${String(c.reason ?? '').slice(0, 110)}`).join(' ; ')}\n`);
    }, () => undefined);
  }, 500);
  return () => clearInterval(timer);
}
