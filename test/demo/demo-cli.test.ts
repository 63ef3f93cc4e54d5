// `ems demo --mqtt URL`: a URL that is not an MQTT one is refused before anything starts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

describe('ems demo --mqtt', () => {
  afterEach(() => vi.restoreAllMocks());

  it('refuses a URL that is not mqtt://, mqtts://, ws:// or wss:// with exit 1 and the reason', async () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    expect(await main(['demo', '--mqtt', 'http://127.0.0.1:1883', '--quiet'])).toBe(1);
    expect(written.join('')).toContain('--mqtt http://127.0.0.1:1883: use mqtt://host:1883');
  });
});
