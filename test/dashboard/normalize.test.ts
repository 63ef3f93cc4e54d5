import { describe, expect, it } from 'vitest';
import { readCookie } from '../../dashboard/src/api-client.ts';
import type { StateView } from '../../dashboard/src/api-types.ts';
import { siteBanners } from '../../dashboard/src/site-banners.ts';
import { flattenCircuits } from '../../dashboard/src/views/circuits-panel.ts';
import { gridEvents } from '../../dashboard/src/views/grid-events-panel.ts';
import { connectorNotes, departureWarning } from '../../dashboard/src/views/connector-card.ts';
import { buildEvents, describeChange } from '../../dashboard/src/event-log.ts';
import { SiteTime } from '../../dashboard/src/format.ts';

const berlin = new SiteTime('Europe/Berlin');
import { breakGaps, resolutionFor, summarizeHistory } from '../../dashboard/src/history-summary.ts';
import { stateFromMessage } from '../../dashboard/src/live-feed.ts';
import { auditEntries, fieldIssues, historyPoints, priorityRank, reasonText, sessionRecords } from '../../dashboard/src/normalize.ts';

describe('reading API answers', () => {
  it('finds the field problems in a 400 body, whatever the path encoding', () => {
    expect(fieldIssues({ error: 'VALIDATION_FAILED', issues: [{ path: 'departure', message: 'expected an ISO 8601 time' }] })).toEqual([
      { path: 'departure', message: 'expected an ISO 8601 time' },
    ]);
    expect(fieldIssues({ issues: [{ path: ['chargers', 3, 'minCurrent'], message: 'must be at least 6' }] })[0].path).toBe('chargers.3.minCurrent');
    expect(fieldIssues({ errors: [{ instancePath: '/body/energyNeedWh', message: 'must be > 0' }] })[0].path).toBe('energyNeedWh');
    expect(fieldIssues({ message: 'nope' })).toEqual([]);
  });

  it('takes the priority rank from the field, the reason object or the reason text', () => {
    expect(priorityRank(2, 'x')).toEqual({ rank: 2, of: undefined });
    expect(priorityRank(null, { kind: 'scarcity', text: 't', rank: 4, of: 9 })).toEqual({ rank: 4, of: 9 });
    expect(priorityRank(null, 'waiting for capacity; priority 4 of 9')).toEqual({ rank: 4, of: 9 });
    // The position among cars sharing one limit is not the site rank.
    expect(priorityRank(null, 'site limit 250 A shared by 9 cars; priority 4 of 9')).toBeNull();
    expect(priorityRank(null, 'no car')).toBeNull();
    expect(reasonText({ text: 'circuit row-a' })).toBe('circuit row-a');
    expect(reasonText(null)).toBe('');
  });

  it('reads history as points or as columns, sorted by time', () => {
    const points = historyPoints({ resolution: '1m', points: [{ atMs: 2000, gridPowerW: 5, evPowerW: 1, limitPowerW: 9 }, { atMs: 1000, gridPowerW: 4, evPowerW: 0 }] });
    expect(points.map((p) => p.atMs)).toEqual([1000, 2000]);
    expect(points[1]).toMatchObject({ gridPowerW: 5, limitW: 9, pvPowerW: null });
    expect(historyPoints({ points: [{ atMs: 1, gridL1A: 31, gridL2A: 8, gridL3A: 0 }] })[0]).toMatchObject({ gridL1A: 31, gridL2A: 8, gridL3A: 0 });
    const columns = historyPoints({ atMs: [1, 2], gridPowerW: [10, 20] });
    expect(columns.map((p) => p.gridPowerW)).toEqual([10, 20]);
  });

  it('reads recent transactions with their energy and tier', () => {
    const rows = sessionRecords({
      active: [],
      recent: [{ transactionId: 7, chargerId: 'CP001', connectorId: 1, idTag: 'AB', startedAt: '2026-11-24T10:00:00Z', stoppedAt: null, energyWh: null, meterStartWh: 100, meterStopWh: 2100, settings: { tier: 'fleet' } }],
    });
    expect(rows[0]).toMatchObject({ id: '7', chargerId: 'CP001', tier: 'fleet', endedAt: null, energyWh: 2000 });
  });

  it('reads audit entries under the usual names', () => {
    expect(auditEntries([{ atMs: 0, actor: 'ops', action: 'session.update', target: 'CP001/1', before: { paused: false }, after: { paused: true } }])[0]).toMatchObject({
      at: '1970-01-01T00:00:00.000Z',
      user: 'ops',
      action: 'session.update',
    });
  });

  it('takes the state out of a live message, bare or wrapped', () => {
    const state = { site: {}, connectors: [], devices: [], signals: [] };
    expect(stateFromMessage(state)).toBe(state);
    expect(stateFromMessage({ type: 'state', data: state })).toBe(state);
    expect(stateFromMessage({ type: 'hello' })).toBeNull();
  });

  it('reads the CSRF cookie among others', () => {
    expect(readCookie('a=1; ems_csrf=abc%3D; b=2', 'ems_csrf')).toBe('abc=');
    expect(readCookie('a=1', 'ems_csrf')).toBeNull();
  });
});

describe('events timeline', () => {
  it('lists current faults first, then config changes, signals and actions newest first', () => {
    const events = buildEvents({
      time: berlin,
      audit: [
        { at: '2026-11-24T10:00:00Z', user: 'admin', action: 'config.update', before: 1, after: 2 },
        { at: '2026-11-24T12:00:00Z', user: 'ops', action: 'session.update', target: 'CP001/1' },
      ],
      signals: [{ id: 's', source: 'utility', kind: 'import-limit', start: '2026-11-24T11:00:00Z', end: '2026-11-24T13:00:00Z', value: 60000 }],
      devices: [{ id: 'grid', role: 'grid-meter', health: 'stale', lastReadingAt: '2026-11-24T09:00:00Z', lastError: 'timeout' }],
      connectors: [{ chargerId: 'CP002', connectorId: 1, status: 'Faulted', capA: 0, drawA: 0, phases: 3, reason: null, session: null }],
    });
    expect(events.map((e) => e.kind)).toEqual(['fault', 'audit', 'signal', 'config', 'fault']);
    expect(events[0].title).toContain('CP002');
    expect(events[3].detail).toBe('1 → 2');
    expect(events[2].detail).toMatch(/^60\.0 kW until \d\d:\d\d$/);
    expect(events[1].title).toBe('ops steered session CP001/1');
  });
});

describe('connector notes', () => {
  const base = { chargerId: 'CP1', connectorId: 1, status: 'Charging', capA: 16, drawA: 15, phases: 3, reason: null, session: null };
  it('says when a charger is offline, faulted or refused its limit', () => {
    expect(connectorNotes({ ...base, online: false }).map((n) => n.text)).toEqual(['✕ Charger not connected to the EMS']);
    expect(connectorNotes({ ...base, errorCode: 'GroundFailure' })[0]).toMatchObject({ tone: 'bad', text: '⚠ Charger reports GroundFailure' });
    expect(connectorNotes({ ...base, profile: { state: 'rejected', capA: 16, at: null } })[0].text).toContain('refused');
    expect(connectorNotes({ ...base, profile: { state: 'pending', capA: 10, at: null } })[0].text).toBe('◌ Waiting for the charger to confirm 10.0 A');
  });
  it('says how long a limit has waited for the charger, in the EMS\'s time, once it is more than a moment', () => {
    const sent = Date.UTC(2026, 11, 7, 22, 0, 0);
    const pending = { ...base, profile: { state: 'pending', capA: 6, at: new Date(sent).toISOString() } };
    expect(connectorNotes(pending, sent + 1_200)[0].text).toBe('◌ Waiting for the charger to confirm 6.0 A');
    // At x60 a charger answering 0.8 real seconds later has kept it waiting 48 demo seconds.
    expect(connectorNotes(pending, sent + 48_000)[0].text).toBe('◌ Waiting 48 s for the charger to confirm 6.0 A');
    expect(connectorNotes(pending, sent + 3 * 60_000)[0].text).toBe('◌ Waiting 3 min for the charger to confirm 6.0 A');
  });
  it('says nothing when all is well', () => {
    expect(connectorNotes({ ...base, online: true, errorCode: 'NoError', profile: { state: 'accepted', capA: 16, at: null } })).toEqual([]);
  });
});

describe('grid events', () => {
  it('reads the timeline with opt state, earliest first', () => {
    const events = gridEvents([
      { id: 'b', source: 'utility', kind: 'import-limit', startMs: 2000, endMs: 3000, value: 40000, eventId: 'ev2', opt: 'out', active: false },
      { id: 'a', source: 'utility', kind: 'price', start: '1970-01-01T00:00:01Z', end: null, value: 0.3 },
      { nonsense: true },
    ]);
    expect(events.map((e) => e.id)).toEqual(['a', 'b']);
    expect(events[0]).toMatchObject({ startMs: 1000, endMs: null, opt: undefined });
    expect(events[1]).toMatchObject({ eventId: 'ev2', opt: 'out', active: false });
  });
});

describe('circuit tree', () => {
  it('lists nodes depth first with their depth', () => {
    const tree = { id: 'main', maxCurrentA: 80, limitA: 76, loadA: [1, 2, 3], children: [{ id: 'row-a', maxCurrentA: 40, limitA: 38, loadA: [0, 0, 0], children: [{ id: 'a1', maxCurrentA: 20, limitA: 19, loadA: [0, 0, 0] }] }, { id: 'row-b', maxCurrentA: 40, limitA: 38, loadA: [0, 0, 0] }] };
    expect(flattenCircuits(tree).map(({ node, depth }) => `${depth}:${node.id}`)).toEqual(['0:main', '1:row-a', '2:a1', '1:row-b']);
    expect(flattenCircuits(null)).toEqual([]);
  });
});

describe('overview banners', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  const state = (over: Partial<StateView> = {}, site: Partial<StateView['site']> = {}): StateView => ({
    site: { gridCurrentA: null, gridPowerW: null, buildingPowerW: null, pvPowerW: null, batteryPowerW: null, batterySoc: null, headroomA: null, limitA: null, failsafe: false, ...site },
    connectors: [],
    devices: [],
    signals: [],
    ...over,
  });

  it('shows nothing on a quiet site', () => {
    expect(siteBanners(state(), now)).toEqual([]);
  });

  it('puts the failsafe first, as an alarm', () => {
    const banners = siteBanners(state({ devices: [{ id: 'grid', role: 'grid-meter', health: 'stale', lastReadingAt: null, lastError: 'timeout' }] }, { failsafe: true }), now);
    expect(banners.map((b) => b.tone)).toEqual(['bad', 'warn']);
    expect(banners[0].title).toContain('Failsafe');
    expect(banners[1].text).toBe('grid (grid-meter) stale: timeout');
  });

  it('shows a grid signal in force and one coming today, not past or far-off ones', () => {
    const signal = (id: string, startH: number, endH: number) => ({
      id,
      source: 'utility',
      kind: 'import-limit',
      start: new Date(now + startH * 3_600_000).toISOString(),
      end: new Date(now + endH * 3_600_000).toISOString(),
      value: 60_000,
    });
    const banners = siteBanners(state({ signals: [signal('past', -3, -1), signal('now', -1, 2), signal('soon', 3, 4), signal('later', 30, 31)] }), now);
    expect(banners.map((b) => b.tone)).toEqual(['warn', 'idle']);
    expect(banners[0].text).toMatch(/^import-limit to 60\.0 kW until \d\d:\d\d$/);
    expect(banners[1].title).toContain('Coming');
  });
});

describe('audit details', () => {
  it('names only what changed', () => {
    expect(describeChange({ departure: null, paused: false, tier: 'staff' }, { departure: '2026-11-25T07:30:00Z', paused: false, tier: 'staff' }, berlin)).toBe(
      // In the site's time (Berlin, UTC+1), whatever the zone of the machine running this.
      'departure: — → 2026-11-25 08:30',
    );
    expect(describeChange(undefined, { role: 'viewer' }, berlin)).toBe('role: viewer');
    // Config edits read as paths, never as raw JSON.
    expect(describeChange({ control: { priority: 'tier', tiers: { fleet: 3 } }, chargers: [{ id: 'CP1', maxCurrent: 32 }] }, { control: { priority: 'departure', tiers: { fleet: 3 } }, chargers: [{ id: 'CP1', maxCurrent: 16 }, { id: 'CP2', maxCurrent: 16 }] }, berlin)).toBe(
      'control.priority: tier → departure; chargers[CP1].maxCurrent: 32 → 16; chargers: added CP2',
    );
    expect(describeChange(undefined, undefined, berlin)).toBe('');
  });
});

describe('events timeline with the EMS event log', () => {
  it('takes faults, signals and sessions from the log instead of the present state', () => {
    const events = buildEvents({
      time: berlin,
      audit: [],
      signals: [{ id: 's', source: 'utility', kind: 'import-limit', start: '2026-11-24T11:00:00Z', end: '2026-11-24T13:00:00Z', value: 60000 }],
      devices: [{ id: 'grid', role: 'grid-meter', health: 'stale', lastReadingAt: null, lastError: null }],
      connectors: [],
      siteLog: [
        { atMs: 3, kind: 'session', severity: 'info', text: 'CP1/1 session started (AB, staff)' },
        { atMs: 2, kind: 'device', severity: 'warning', text: 'grid is stale' },
        { at: '1970-01-01T00:00:00.001Z', kind: 'failsafe', severity: 'error', text: 'Failsafe on: site data is stale' },
      ],
    });
    expect(events.map((e) => [e.kind, e.severity, e.atMs])).toEqual([
      ['session', 'info', 3],
      ['fault', 'warning', 2],
      ['fault', 'error', 1],
    ]);
  });
});

describe('a config change in the events timeline', () => {
  it('is one line: who changed what (the diff) and what the EMS applied now or after a restart', () => {
    const events = buildEvents({
      time: berlin,
      audit: [{ at: '2026-11-24T10:00:00.000Z', user: 'admin', action: 'config.update', target: 'site.yaml', before: { control: { priority: 'tier' } }, after: { control: { priority: 'departure' } } }],
      signals: [],
      devices: [],
      connectors: [],
      siteLog: [{ atMs: Date.parse('2026-11-24T10:00:00.400Z'), kind: 'config', severity: 'info', text: 'Config saved: control applied now' }],
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'config', title: 'admin changed the site config site.yaml', detail: 'control.priority: tier → departure · Config saved: control applied now' });
  });
});

describe('history summary', () => {
  it('integrates EV energy and finds the import peak', () => {
    const h = 3_600_000;
    const s = summarizeHistory([
      { atMs: 0, gridPowerW: 10_000, pvPowerW: 0, batteryPowerW: 0, evPowerW: 6000, limitW: null, buildingPowerW: null, gridL1A: null, gridL2A: null, gridL3A: null, samples: null },
      { atMs: h / 2, gridPowerW: 30_000, pvPowerW: 0, batteryPowerW: 0, evPowerW: 6000, limitW: null, buildingPowerW: null, gridL1A: null, gridL2A: null, gridL3A: null, samples: null },
    ]);
    expect(s.evEnergyWh).toBeCloseTo(3000);
    expect(s.peakImportW).toBe(30_000);
    expect(s.peakAtMs).toBe(h / 2);
  });

  it('breaks the chart line where the data has a gap (the EMS was stopped), not between close points', () => {
    const { times, columns } = breakGaps([0, 1000, 2000, 90_000, 91_000], [[1, 2, 3, 4, 5]], 10_000);
    expect(times).toEqual([0, 1000, 2000, 2001, 90_000, 91_000]);
    expect(columns).toEqual([[1, 2, 3, null, 4, 5]]);
  });

  it('does not bridge gaps in the data', () => {
    const s = summarizeHistory([
      { atMs: 0, gridPowerW: 0, pvPowerW: 0, batteryPowerW: 0, evPowerW: 6000, limitW: null, buildingPowerW: null, gridL1A: null, gridL2A: null, gridL3A: null, samples: null },
      { atMs: 5 * 3_600_000, gridPowerW: 0, pvPowerW: 0, batteryPowerW: 0, evPowerW: 6000, limitW: null, buildingPowerW: null, gridL1A: null, gridL2A: null, gridL3A: null, samples: null },
    ]);
    expect(s.evEnergyWh).toBe(0);
  });

  it('asks for the finest resolution the EMS still keeps for the range', () => {
    const now = 1_800_000_000_000;
    const h = 3_600_000;
    expect(resolutionFor(now - h - 2000, now - 2000, now)).toBe('1s');
    expect(resolutionFor(now - 24 * h, now, now)).toBe('1m');
    expect(resolutionFor(now - 3 * h, now - 2 * h, now)).toBe('1m');
    expect(resolutionFor(now - 30 * 24 * h, now, now)).toBe('15m');
    expect(resolutionFor(now - 10 * 24 * h, now - 9 * 24 * h, now)).toBe('15m');
  });
});

describe("the card's departure warning", () => {
  const now = Date.parse('2026-12-06T15:46:00Z');
  const held = (departure: string, energyNeedWh: number) =>
    ({ chargerId: 'CP008', connectorId: 1, status: 'SuspendedEVSE', capA: 0, maxCurrentA: 32, phases: 3, session: { departure, energyNeedWh, energyWh: 5 } }) as unknown as Parameters<typeof departureWarning>[0];
  it('does not warn about a car held at 0 A now that its charger can still fill by the departure (the plan charges it later)', () => {
    // 120 kWh by 05:45 tomorrow: 14 h at 22 kW is plenty, whatever the cap is this minute.
    expect(departureWarning(held('2026-12-07T04:45:00Z', 120_000), now, 230, berlin, 32)).toBeNull();
  });
  it("warns when even the charger's max cannot deliver it, in the site's time", () => {
    expect(departureWarning(held('2026-12-06T16:16:00Z', 120_000), now, 230, berlin, 32)).toBe("⚠ Needs 120.0 kWh more by 17:16; at most 11.0 kWh even at the charger's max of 32.0 A.");
    expect(departureWarning(held('2026-12-06T15:00:00Z', 120_000), now, 230, berlin, 32)).toBe('⚠ Departure has passed with 120.0 kWh still wanted.');
  });
  it('says the need may be too high when the car reports itself (nearly) full, instead of warning it will miss it', () => {
    const full = { ...held('2026-12-06T16:16:00Z', 120_000), session: { departure: '2026-12-06T16:16:00Z', energyNeedWh: 120_000, energyWh: 23_800, soc: 97 } } as unknown as Parameters<typeof departureWarning>[0];
    expect(departureWarning(full, now, 230, berlin, 32)).toBe('The car reports 97 % charged with 23.8 kWh of its 120.0 kWh need delivered: the need may be set too high.');
  });
});
