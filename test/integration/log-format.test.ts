// Logs: JSON lines for machines, readable lines on a terminal or with --log-format pretty.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';

function sink(isTTY: boolean) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = isTTY;
  return { stream, lines };
}

describe('log format', () => {
  it('writes one JSON object a line when stdout is not a terminal, each key once', () => {
    const { stream, lines } = sink(false);
    createLogger({ destination: stream, format: 'auto', level: 'info' }).child({ module: 'ocpp' }).warn({ chargerId: 'CP1' }, 'charger offline');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({ level: 40, module: 'ocpp', chargerId: 'CP1', msg: 'charger offline' });
    expect(lines[0].match(/"module"/g)).toHaveLength(1);
  });

  it('writes readable lines on a terminal and with format pretty: time, level, [module] message, fields', () => {
    for (const [tty, format] of [[true, 'auto'], [false, 'pretty']] as const) {
      const { stream, lines } = sink(tty);
      createLogger({ destination: stream, format, level: 'info' }).child({ module: 'ocpp' }).warn({ chargerId: 'CP1' }, 'charger offline');
      const text = lines.join('\n').replace(/\u001b\[[0-9;]*m/g, '');
      expect(text).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] WARN: \[ocpp\] charger offline/);
      expect(text).toContain('chargerId: "CP1"');
      expect(() => JSON.parse(lines[0])).toThrow();
    }
  });
});
