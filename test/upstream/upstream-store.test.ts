// The local controller's SQLite store: what the 2.0.1-to-1.6 translation has seen of a station
// transaction survives a reopen, is forgotten at its end, and a garbled row never reaches the CSMS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { openStorage } from '../../src/storage/open-storage.ts';

describe('upstream store: station transactions seen by the translation', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const open = (dir: string) => openStorage(join(dir, 'ems.sqlite'), new ManualClock(Date.parse('2026-12-06T07:00:00Z')));

  it('keeps what was seen across a reopen, per charger and transaction, and forgets it at the end', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-upstream-store-'));
    dirs.push(dir);
    const first = open(dir);
    const seen = { evseId: 2, firstRegisterWh: 5000, lastRegisterWh: 5300, startedAt: '2026-12-06T07:00:01.000Z' };
    first.upstream.saveStationTx('CS1', 'TX-A', seen, 1);
    first.upstream.saveStationTx('CS2', 'TX-A', { evseId: 1 }, 1);
    first.close();
    const again = open(dir);
    expect(again.upstream.stationTx('CS1', 'TX-A')).toEqual(seen);
    expect(again.upstream.stationTx('CS2', 'TX-A')).toEqual({ evseId: 1 });
    expect(again.upstream.stationTx('CS1', 'TX-B')).toBeUndefined();
    again.upstream.saveStationTx('CS1', 'TX-A', { ...seen, idTag: 'TAG1', lastRegisterWh: 6200 }, 2);
    expect(again.upstream.stationTx('CS1', 'TX-A')).toEqual({ ...seen, idTag: 'TAG1', lastRegisterWh: 6200 });
    again.upstream.forgetStationTx('CS1', 'TX-A');
    expect(again.upstream.stationTx('CS1', 'TX-A')).toBeUndefined();
    expect(again.upstream.stationTx('CS2', 'TX-A')).toEqual({ evseId: 1 });
    again.close();
  });

  it('a garbled row gives only its well-typed fields (a wrong meterStart would block the queue at the strict CSMS)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-upstream-store-'));
    dirs.push(dir);
    const store = open(dir);
    store.upstream.saveStationTx('CS1', 'TX-A', { firstRegisterWh: 'abc', lastRegisterWh: 1.5, startedAt: 7, idTag: '', evseId: 1 } as never, 1);
    expect(store.upstream.stationTx('CS1', 'TX-A')).toEqual({ evseId: 1 });
    store.upstream.saveStationTx('CS1', 'TX-B', 'not an object' as never, 1);
    expect(store.upstream.stationTx('CS1', 'TX-B')).toBeUndefined();
    store.close();
  });

  it('forgets station transactions that cannot end: the others on the EVSE of a new one (any charger but its own untouched), and those silent since a bound', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-upstream-store-'));
    dirs.push(dir);
    const store = open(dir);
    store.upstream.saveStationTx('CS1', 'OLD-E1', { evseId: 1, lastRegisterWh: 900 }, 1_000);
    store.upstream.saveStationTx('CS1', 'NEW-E1', { evseId: 1 }, 5_000);
    store.upstream.saveStationTx('CS1', 'LIVE-E2', { evseId: 2 }, 4_000);
    store.upstream.saveStationTx('CS1', 'SILENT', {}, 1_000);
    store.upstream.saveStationTx('CS1', 'GARBLED', 'not an object' as never, 4_000);
    store.upstream.saveStationTx('CS2', 'OTHER-E1', { evseId: 1 }, 1_000);
    const forgotten = store.upstream.forgetEndlessStationTxs('CS1', 1, 'NEW-E1', 2_000);
    expect(forgotten.map((f) => f.stationTxId).sort()).toEqual(['OLD-E1', 'SILENT']);
    expect(forgotten.find((f) => f.stationTxId === 'OLD-E1')!.seen).toEqual({ evseId: 1, lastRegisterWh: 900 });
    expect(store.upstream.stationTx('CS1', 'NEW-E1')).toEqual({ evseId: 1 });
    expect(store.upstream.stationTx('CS1', 'LIVE-E2')).toEqual({ evseId: 2 });
    expect(store.upstream.stationTx('CS2', 'OTHER-E1')).toEqual({ evseId: 1 });
    // Without an EVSE only the age counts.
    expect(store.upstream.forgetEndlessStationTxs('CS1', undefined, 'NEW-E1', 4_500).map((f) => f.stationTxId).sort()).toEqual(['GARBLED', 'LIVE-E2']);
    // At start-up: every charger's silent ones.
    expect(store.upstream.forgetStaleStationTxs(2_000)).toBe(1);
    expect(store.upstream.stationTx('CS2', 'OTHER-E1')).toBeUndefined();
    expect(store.upstream.stationTx('CS1', 'NEW-E1')).toEqual({ evseId: 1 });
    store.close();
  });
});
