import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/parse-config.ts';
import { dedent, problemLines } from './problem-lines.ts';

describe('parseConfigText', () => {
  it('returns the config with defaults filled in when the file is valid', () => {
    const { config, problems } = parseConfigText('grid: { maxCurrent: 63 }\nchargers: [ { id: CP1 } ]\n', 'site.yaml');
    expect(problems).toEqual([]);
    expect(config?.site.voltage).toBe(230);
    expect(config?.control.priority).toBe('fcfs');
    expect(config?.chargers[0]).toMatchObject({ id: 'CP1', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3, phaseRotation: 'L1L2L3' });
  });

  it('reports a YAML syntax error with the file and line number', () => {
    const lines = problemLines(`
      grid:
        maxCurrent: 63
      chargers: [ { id: CP1 }
      http: { port: 8080 }
    `);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^site\.yaml:3: /);
  });

  it('points an unclosed bracket or quote at the line where it was opened', () => {
    expect(problemLines(`
      grid: { maxCurrent: 63 } # a [ in a comment does not count
      chargers: [ { id: CP1 }
      http: { port: 8080 }
    `)).toEqual(['site.yaml:2: the "[" opened here is not closed with "]" (the parser gave up on line 3) (column 11)']);
    expect(problemLines(`
      site: { name: "Depot North }
      grid: { maxCurrent: 63 }
    `)).toEqual(['site.yaml:1: the double quote opened here is not closed (the parser gave up on line 3) (column 15)']);
  });

  it('reports a duplicated key with its line', () => {
    expect(problemLines(`
      grid:
        maxCurrent: 63
        maxCurrent: 80
    `)).toEqual(['site.yaml:3: Map keys must be unique (column 3)']);
  });

  it('names an empty file instead of failing on it', () => {
    expect(problemLines('\n# nothing here\n')).toEqual(['site.yaml: the file is empty; a site config needs at least grid.maxCurrent']);
  });

  it('refuses a YAML alias that contains itself', () => {
    expect(problemLines(`
      grid: { maxCurrent: 63 }
      circuits:
        - &main
          id: main
          maxCurrent: 63
          children: [ *main ]
    `)).toEqual(['circuits.0.children.0: a YAML alias refers to a node that contains it (circular reference) (line 6)']);
  });

  it('merges shared settings from a top-level x- anchor, and addresses problems at the merged-into item', () => {
    const text = dedent(`
      grid: { maxCurrent: 63 }
      x-wallbox: &wallbox { maxCurrent: 16, minCurrent: 20 }
      chargers:
        - { <<: *wallbox, id: CP1 }
        - { <<: *wallbox, id: CP2, minCurrent: 6 }
    `);
    expect(problemLines(text)).toEqual(['chargers.0.minCurrent: minCurrent 20 A is above maxCurrent 16 A (line 4)']);
    const fixed = parseConfigText(text.replace('minCurrent: 20', 'minCurrent: 8'), 'site.yaml');
    expect(fixed.config?.chargers.map((c) => [c.id, c.maxCurrent, c.minCurrent])).toEqual([['CP1', 16, 8], ['CP2', 16, 6]]);
  });

  it('still runs the cross-checks when the only schema problems are unknown keys', () => {
    expect(problemLines(`
      grid: { maxCurrent: 63 }
      circuits: [ { id: main, maxCurrent: 63, chargers: [CP1] } ]
      chargers:
        - { id: CP1, maxCurent: 16 }
        - { id: CP2 }
    `)).toEqual([
      'chargers.0.maxCurent: unknown key "maxCurent"; did you mean "maxCurrent"? (line 4)',
      'chargers.1.id: charger "CP2" is in no circuit; list it under the chargers of the circuit that feeds it (line 5)',
    ]);
    expect(parseConfigText('grid: { maxCurrent: 63, colour: red }\n', 'site.yaml').config).toBeUndefined();
  });

  it('lets a large site merge one anchor into every charger, but refuses exponential alias expansion', () => {
    const chargers = Array.from({ length: 1000 }, (_, i) => `  - { <<: *wallbox, id: CP${i} }`).join('\n');
    const big = `grid: { maxCurrent: 630 }\nx-wallbox: &wallbox { maxCurrent: 16, phases: 3 }\nchargers:\n${chargers}\n`;
    expect(parseConfigText(big, 'site.yaml').config?.chargers).toHaveLength(1000);

    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const name of 'bcdefgh') levels.push(`${name}: &${name} [${Array(10).fill(`*${String.fromCharCode(name.charCodeAt(0) - 1)}`).join(', ')}]`);
    const { config, problems } = parseConfigText(`${levels.join('\n')}\n`, 'laughs.yaml');
    expect(config).toBeUndefined();
    expect(problems).toEqual([{ path: 'laughs.yaml', message: 'cannot read the YAML: Excessive alias count indicates a resource exhaustion attack', severity: 'error' }]);
  });

  it('returns no config when there is any error, but keeps warnings beside a config', () => {
    const bad = parseConfigText('grid: { maxCurrent: -1 }\n', 'site.yaml');
    expect(bad.config).toBeUndefined();
    const warned = parseConfigText(dedent(`
      grid: { maxCurrent: 63 }
      circuits: [ { id: main, maxCurrent: 80 } ]
    `), 'site.yaml');
    expect(warned.config).toBeDefined();
    expect(warned.problems.map((p) => p.severity)).toEqual(['warning']);
  });

  it('never throws, whatever the text', () => {
    for (const text of ['[1, 2, 3]', '42', '"just a string"', '---\na: 1\n---\nb: 2\n', '{', '\t- x', 'grid: !!binary 123']) {
      const result = parseConfigText(text, 'x.yaml');
      expect(result.config).toBeUndefined();
      expect(result.problems.length).toBeGreaterThan(0);
    }
  });
});

describe('schema problems', () => {
  it.each([
    [
      'an unknown key names the key and the close match',
      `
        grid:
          maxCurent: 63
      `,
      ['grid.maxCurrent: required (line 1)', 'grid.maxCurent: unknown key "maxCurent"; did you mean "maxCurrent"? (line 2)'],
    ],
    [
      'an unknown key with no close match lists the allowed keys',
      `
        grid: { maxCurrent: 63 }
        site: { colour: red }
      `,
      ['site.colour: unknown key "colour"; allowed here: name, voltage, timezone (line 2)'],
    ],
    [
      'an unknown top-level section',
      `
        grid: { maxCurrent: 63 }
        charger: []
      `,
      ['charger: unknown key "charger"; did you mean "chargers"? (line 2)'],
    ],
    [
      'a wrong type, with the value that was found',
      `
        grid: { maxCurrent: lots }
      `,
      ['grid.maxCurrent: expected a number, got "lots" (line 1)'],
    ],
    [
      'a number outside its range, addressed with the array index',
      `
        grid: { maxCurrent: 63 }
        chargers:
          - { id: CP1 }
          - { id: CP2 }
          - { id: CP3 }
          - { id: CP4, minCurrent: 0 }
      `,
      ['chargers.3.minCurrent: must be greater than 0 (line 6)'],
    ],
    [
      'a misspelt choice suggests the right one',
      `
        grid: { maxCurrent: 63 }
        control: { priority: FCFS }
      `,
      ['control.priority: must be one of fcfs, departure, soc, tier or equal, got "FCFS"; did you mean "fcfs"? (line 2)'],
    ],
    [
      'phases other than 1 or 3',
      `
        grid: { maxCurrent: 63 }
        chargers: [ { id: CP1, phases: 2 } ]
      `,
      ['chargers.0.phases: must be 1 or 3, got 2 (line 2)'],
    ],
    [
      'an unquoted all-digit idTag',
      `
        grid: { maxCurrent: 63 }
        idTags:
          - { idTag: 12345678 }
      `,
      ['idTags.0.idTag: expected a string, got 12345678 (put it in quotes) (line 3)'],
    ],
    [
      'a device driver that does not exist',
      `
        grid: { maxCurrent: 63 }
        devices:
          - { id: grid, role: grid-meter, driver: modbuss, host: 127.0.0.1 }
      `,
      ['devices.0.driver: must be one of modbus, mqtt or simulated, got "modbuss"; did you mean "modbus"? (line 3)'],
    ],
    [
      'an unknown key on a device is matched against its own driver',
      `
        grid: { maxCurrent: 63, meter: grid }
        devices:
          - { id: grid, role: grid-meter, driver: modbus, hots: 127.0.0.1, host: 127.0.0.1 }
      `,
      ['devices.0.hots: unknown key "hots"; did you mean "host"? (line 3)'],
    ],
    [
      'a value that fits none of the allowed types',
      `
        grid: { maxCurrent: 63 }
        mqtt: { url: "mqtt://127.0.0.1:1883", homeAssistant: "yes" }
      `,
      ['mqtt.homeAssistant: expected true/false or a mapping (key: value), got "yes" (line 2)'],
    ],
    [
      'a missing required section',
      `
        site: { name: Somewhere }
      `,
      ['grid: required (line 1)'],
    ],
  ])('%s', (_name, yamlText, expected) => {
    expect(problemLines(yamlText)).toEqual(expected);
  });
});
