import { describe, expect, it } from 'vitest';
import { OPEN_ENDED_MS, eventState, toVenEvent } from '../../src/openadr/ven2b/event-mapping.ts';
import type { Oadr2bEvent, Oadr2bSignal } from '../../src/openadr/ven2b/xml-parse.ts';

const T = Date.parse('2026-11-24T16:00:00Z');
const MIN = 60_000;

const signal = (over: Partial<Oadr2bSignal>): Oadr2bSignal => ({
  signalName: 'SIMPLE',
  signalType: 'level',
  signalId: 's',
  itemKind: undefined,
  item: undefined,
  intervals: [{ durationMs: 60 * MIN, uid: '0', value: 1 }],
  ...over,
});

const event = (over: Partial<Oadr2bEvent> = {}): Oadr2bEvent => ({
  eventId: 'e',
  modificationNumber: 0,
  marketContext: 'http://mc',
  status: 'far',
  testEvent: false,
  startMs: T,
  durationMs: 60 * MIN,
  startAfterMs: 0,
  rampUpMs: 10 * MIN,
  responseRequired: true,
  signals: [signal({})],
  ...over,
});

describe('2.0b event state from the VEN clock', () => {
  it.each([
    [T - 60 * MIN, 'far'],
    [T - 5 * MIN, 'near'],
    [T, 'active'],
    [T + 59 * MIN, 'active'],
    [T + 60 * MIN, 'completed'],
  ])('at %i the event is %s', (nowMs, state) => {
    expect(eventState(event(), nowMs)).toBe(state);
  });

  it('counts a cancelled event as cancelled whatever the time, and an open-ended one as active', () => {
    expect(eventState(event({ status: 'cancelled' }), T + MIN)).toBe('cancelled');
    expect(eventState(event({ durationMs: 0 }), T + 1000 * 60 * MIN)).toBe('active');
  });

  it('shifts the states by the random start offset', () => {
    expect(eventState(event(), T + MIN, 5 * MIN)).toBe('near');
  });
});

describe('2.0b signals to site slots', () => {
  const support = { siteCapacityW: 69_000 };
  it.each([
    ['LOAD_CONTROL capacity in kW', signal({ signalName: 'LOAD_CONTROL', signalType: 'x-loadControlCapacity', itemKind: 'powerReal', item: { scale: 1000, units: 'W', description: 'RealPower' }, intervals: [{ durationMs: 60 * MIN, value: 45, uid: '0' }] }), 'import-limit', 45_000],
    ['LOAD_CONTROL capacity as a fraction of the site', signal({ signalName: 'LOAD_CONTROL', signalType: 'x-loadControlCapacity', intervals: [{ durationMs: 60 * MIN, value: 0.5, uid: '0' }] }), 'import-limit', 34_500],
    ['LOAD_DISPATCH setpoint in W', signal({ signalName: 'LOAD_DISPATCH', signalType: 'setpoint', itemKind: 'powerReal', item: { scale: 1, units: 'W', description: 'RealPower' }, intervals: [{ durationMs: 60 * MIN, value: 20_000, uid: '0' }] }), 'import-limit', 20_000],
    ['ELECTRICITY_PRICE', signal({ signalName: 'ELECTRICITY_PRICE', signalType: 'price', intervals: [{ durationMs: 60 * MIN, value: 0.27, uid: '0' }] }), 'price', 0.27],
    ['lower-case simple', signal({ signalName: 'simple' }), 'simple', 1],
  ])('maps %s', (_name, s, kind, value) => {
    const { event: mapped, unsupported } = toVenEvent(event({ signals: [s] }), support);
    expect(unsupported).toEqual([]);
    expect(mapped.slots).toEqual([expect.objectContaining({ startMs: T, endMs: T + 60 * MIN, kind, value })]);
  });

  it('lists what it cannot use instead of failing', () => {
    const { event: mapped, unsupported } = toVenEvent(
      event({ signals: [signal({ signalName: 'LOAD_DISPATCH', signalType: 'delta' }), signal({ signalName: 'BID_LOAD', signalType: 'setpoint' }), signal({})] }),
      support,
    );
    expect(unsupported).toEqual(['LOAD_DISPATCH/delta', 'BID_LOAD/setpoint']);
    expect(mapped.slots.map((s) => s.kind)).toEqual(['simple']);
  });

  it('lays intervals end to end from dtstart and runs an open-ended last interval to the event end', () => {
    const { event: mapped } = toVenEvent(
      event({ durationMs: 0, signals: [signal({ intervals: [{ durationMs: 15 * MIN, value: 1, uid: '0' }, { durationMs: 0, value: 3, uid: '1' }] })] }),
      support,
    );
    expect(mapped.slots.map((s) => [s.startMs - T, s.endMs - T, s.value])).toEqual([
      [0, 15 * MIN, 1],
      [15 * MIN, OPEN_ENDED_MS, 3],
    ]);
  });

  it('gives a cancelled event no slots', () => {
    expect(toVenEvent(event({ status: 'cancelled' }), support).event.slots).toEqual([]);
  });
});
