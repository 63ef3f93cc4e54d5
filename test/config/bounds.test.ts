// check-config refuses typos that are not sites: absurd numbers, unsafe ids, non-web URL schemes,
// and YAML too deep or too large, each with one clear line.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/parse-config.ts';

const base = (extra: string) => `site: { name: T }\ngrid: { maxCurrent: 63 }\n${extra}`;
const errors = (text: string) => parseConfigText(text, 'site.yaml').problems.filter((p) => p.severity === 'error');

describe('config bounds and charsets', () => {
  it.each([
    ['a fuse of 1e308 A', 'site: { name: T }\ngrid: { maxCurrent: 1e308 }\n', /grid.maxCurrent/],
    ['a charger of 1e6 A', base('chargers: [{ id: CP1, maxCurrent: 1000000 }]\n'), /chargers.0.maxCurrent/],
    ['a voltage of 1e9 V', 'site: { name: T, voltage: 1000000000 }\ngrid: { maxCurrent: 63 }\n', /site.voltage/],
    ['a charger id ".."', base('chargers: [{ id: ".." }]\n'), /chargers.0.id/],
    ['a charger id with a slash', base('chargers: [{ id: "a/b" }]\n'), /chargers.0.id/],
    ['a vtnUrl file:///etc/passwd', base("openadr: [{ id: v, version: '3.1', vtnUrl: 'file:///etc/passwd', venName: x }]\n"), /openadr.0.vtnUrl.*http/],
    ['an influx url javascript:', base("influx: { url: 'javascript:alert(1)', database: x }\n"), /influx.url/],
    ['an mqtt url tcp://', base("mqtt: { url: 'tcp://127.0.0.1:1883' }\n"), /mqtt.url.*mqtt:\/\//],
    ['an idTag with a control character', base('idTags: [{ idTag: "AB\\u0007" }]\n'), /idTags.0.idTag/],
  ])('refuses %s', (_name, text, path) => {
    const found = errors(text);
    expect(found.map((p) => `${p.path}: ${p.message}`).join('\n')).toMatch(path);
  });

  it('refuses a 20,000-deep YAML with a clear message, not a stack overflow', () => {
    const found = errors(`a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    expect(found).toHaveLength(1);
    expect(found[0]!.message).toMatch(/nests 20000 levels deep; a site config nests at most 64/);
  });

  it('finds deep nesting behind an apostrophe, an escaped quote or stray closing brackets', () => {
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    for (const hide of ["name: O'Brien's depot\n", 'name: "say \\"hi"\n', "name: 'it''s'\n", 'x: ]]]]]]\n', '# a comment with a quote "\n']) {
      const found = errors(`${hide}a: ${deep}\n`);
      expect(found.map((p) => p.message).join('\n'), hide).toMatch(/nests 5000 levels deep/);
    }
  });

  it('takes a real config with many flow maps, quotes and comments at its true depth', () => {
    const chargers = Array.from({ length: 300 }, (_, i) => `  - { id: "CP${i}", maxCurrent: 16, phases: 3 } # it's row ${i % 3}`).join('\n');
    const found = errors(base(`chargers:\n${chargers}\n`));
    expect(found.filter((p) => /levels deep/.test(p.message))).toEqual([]);
  });

  it('refuses a file over 4 MiB', () => {
    const found = errors(`# ${'x'.repeat(5 * 1024 * 1024)}\n${base('')}`);
    expect(found[0]!.message).toMatch(/at most 4 MiB/);
  });
});
