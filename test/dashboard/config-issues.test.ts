import { describe, expect, it } from 'vitest';
import { checkConfigText, locateIssues } from '../../dashboard/src/config-issues.ts';

const SITE = `site:
  name: Test
grid:
  maxCurrent: 63
chargers:
  - id: CP1
    maxCurrent: 32
  - id: CP2
    minCurrent: 0
`;

describe('config problems at their line', () => {
  it('marks a bad value at the line of its key', () => {
    const issues = checkConfigText(SITE);
    expect(issues).toEqual([expect.objectContaining({ path: 'chargers.1.minCurrent', line: 9 })]);
    expect(issues[0].message).toMatch(/greater than 0|at least/);
  });

  it('marks a missing key at its parent', () => {
    const issues = checkConfigText('site:\n  name: x\ngrid:\n  safetyMargin: 0.1\n');
    expect(issues).toEqual([expect.objectContaining({ path: 'grid.maxCurrent', line: 3 })]);
  });

  it('reports YAML syntax errors with their line', () => {
    const issues = checkConfigText('grid:\n  maxCurrent: [63\n');
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0].line).not.toBeNull();
  });

  it('finds nothing wrong in a valid config', () => {
    expect(checkConfigText('grid:\n  maxCurrent: 63\n')).toEqual([]);
  });

  it('places the issues the server names', () => {
    expect(locateIssues(SITE, [{ path: 'chargers.0.maxCurrent', message: 'too big' }, { path: 'nowhere.at.all', message: 'x' }])).toEqual([
      { path: 'chargers.0.maxCurrent', message: 'too big', line: 7 },
      { path: 'nowhere.at.all', message: 'x', line: null },
    ]);
  });
});
