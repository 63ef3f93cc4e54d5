import { describe, expect, it } from 'vitest';
import { uncovered } from '../../src/openadr/ven3/capacity-fallback.ts';

describe('capacity subscription fallback', () => {
  it.each([
    [[], [[0, 100]]],
    [[[20, 40]], [[0, 20], [40, 100]]],
    [[[60, 80], [10, 30], [25, 50]], [[0, 10], [50, 60], [80, 100]]],
    [[[-10, 200]], []],
    [[[100, 120], [-20, 0]], [[0, 100]]],
  ])('leaves the gaps of [0, 100) not covered by %j', (covers, gaps) => {
    const spans = (list: number[][]) => list.map(([startMs, endMs]) => ({ startMs, endMs }));
    expect(uncovered({ startMs: 0, endMs: 100 }, spans(covers))).toEqual(spans(gaps));
  });
});
