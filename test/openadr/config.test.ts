import { describe, expect, it } from 'vitest';
import { openadrSchema } from '../../config/schema.ts';

const problems = (entry: Record<string, unknown>) => {
  const result = openadrSchema.safeParse(entry);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('openadr config', () => {
  it('reads the DESIGN.md example with numeric SIMPLE level keys', () => {
    const parsed = openadrSchema.parse({
      id: 'utility',
      version: '2.0b',
      vtnUrl: 'https://vtn.example.com/OpenADR2/Simple/2.0b',
      venName: 'depot-north',
      pollIntervalS: 10,
      tls: { ca: 'certs/ca.pem', cert: 'certs/ven.pem', key: 'certs/ven.key' },
      simpleLevels: { 1: 100000, 2: 60000, 3: 20000 },
    });
    expect(parsed.simpleLevels).toEqual({ '1': 100000, '2': 60000, '3': 20000 });
    expect(parsed).toMatchObject({ reportIntervalS: 60, optOut: false, randomize: true, programs: [] });
  });

  it.each([
    [{ version: '2.0b', vtnUrl: 'https://vtn.example.com/x' }, 'tls.cert: 2.0b needs a client certificate (mutual TLS): set tls.cert and tls.key'],
    [{ version: '2.0b', vtnUrl: 'http://127.0.0.1/x', client: { id: 'a', secret: 'b' } }, 'client: client credentials are for 3.1; 2.0b authenticates with tls.cert'],
    [{ version: '3.1', vtnUrl: 'https://vtn.example.com', tls: { cert: 'a.pem' } }, 'tls: give both cert and key for a client certificate'],
    [{ version: '3.1', vtnUrl: 'https://vtn.example.com', simpleLevels: { 4: 1000 } }, 'simpleLevels.4: SIMPLE levels are 0..3'],
    [{ version: '3.0', vtnUrl: 'https://vtn.example.com' }, 'version: Invalid option: expected one of "2.0b"|"3.1"'],
  ])('says what is wrong with %j', (entry, message) => {
    expect(problems({ id: 'u', venName: 'v', ...entry })).toContain(message);
  });
});
