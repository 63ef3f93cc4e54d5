// Secrets never reach a log line: not in its fields (by key, inside URLs), not in its message
// text, not in an error's message or stack, whatever key the error is logged under.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { redactSecretText, SECRET_MASK } from '../../src/secrets.ts';

function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

const SECRET = 'hunter2-Secret-77';

describe('secrets in log lines', () => {
  it('masks secrets inside the message text, printf arguments, fields and errors, in JSON and pretty lines', () => {
    for (const format of ['json', 'pretty'] as const) {
      const { stream, lines } = sink();
      const log = createLogger({ destination: stream, format, level: 'debug' }).child({ module: 'test' });
      log.warn(`cannot connect to mqtt://ems:${SECRET}@127.0.0.1:1883 (refused)`);
      log.info(`retrying with password=${SECRET} and token: ${SECRET}`);
      log.info('sent %s to the VTN', `Authorization: Bearer ${SECRET}`);
      log.info({ detail: `{"client_secret":"${SECRET}"}` }, 'token request');
      log.error({ err: new Error(`connect to http://writer:${SECRET}@127.0.0.1:8086 failed`) }, 'export failed');
      log.error({ error: new Error(`password=${SECRET} refused`) }, 'under another key');
      log.error(new Error(`the short form: https://u:${SECRET}@127.0.0.1/x`));
      const cause = new Error(`inner mqtt://a:${SECRET}@127.0.0.1`);
      log.error({ err: new Error('outer', { cause }) }, 'with a cause');
      if (format === 'json') expect(lines.length).toBe(8);
      for (const line of lines) {
        expect(line, `${format}: ${line}`).not.toContain(SECRET);
      }
      expect(lines.join('\n')).toContain(SECRET_MASK);
      // What is not a secret stays readable.
      expect(lines.join('\n')).toContain('127.0.0.1:1883 (refused)');
      expect(lines.join('\n')).toContain('export failed');
    }
  });

  it('keeps the structure of an error logged under err (type, message, stack)', () => {
    const { stream, lines } = sink();
    createLogger({ destination: stream, format: 'json' }).error({ err: new TypeError(`bad mqtt://u:${SECRET}@h`) }, 'boom');
    const entry = JSON.parse(lines[0]!);
    expect(entry.err.type).toBe('TypeError');
    expect(entry.err.message).toBe(`bad mqtt://u:${SECRET_MASK}@h`);
    expect(entry.err.stack).toContain('TypeError: bad mqtt://u:********@h');
    expect(entry.msg).toBe('boom');
  });

  it('redactSecretText masks key=value and auth headers and leaves ordinary text alone', () => {
    expect(redactSecretText('password=abc123 user=bob')).toBe(`password=${SECRET_MASK} user=bob`);
    expect(redactSecretText('"apiKey": "k-1", "keyFile": "/etc/key.pem"')).toBe(`"apiKey": "${SECRET_MASK}", "keyFile": "/etc/key.pem"`);
    expect(redactSecretText('Authorization: Basic dXNlcjpwYXNz')).toBe(`Authorization: Basic ${SECRET_MASK}`);
    expect(redactSecretText('GET /token?access_token=xyz987&x=1')).toBe(`GET /token?access_token=${SECRET_MASK}&x=1`);
    expect(redactSecretText('charger CP1 connected from 127.0.0.1: passwordGiven: true')).toBe('charger CP1 connected from 127.0.0.1: passwordGiven: true');
    expect(redactSecretText('grid.maxCurrent: 63 A, deadbandA: 0.5')).toBe('grid.maxCurrent: 63 A, deadbandA: 0.5');
  });
});
