// `ems check-config` on the upstream section and the per-charger upstream keys.
import { describe, expect, it } from 'vitest';
import { problemLines } from '../config/problem-lines.ts';

describe('check-config: upstream', () => {
  it('accepts a local-controller site', () => {
    expect(
      problemLines(`
        grid: { maxCurrent: 63 }
        chargers:
          - { id: CP1, upstreamId: "DE*ABC*E1", upstreamPassword: "cloud-password-1" }
          - { id: CP2 }
        upstream: { url: "wss://csms.example.com/ocpp", protocol: ocpp1.6, acceptUnknownOffline: true }
      `),
    ).toEqual([]);
  });

  it.each([
    ['a url that is not a WebSocket', `upstream: { url: "https://csms.example.com/ocpp" }`, /^upstream\.url: .*ws:\/\/ or wss:\/\//],
    ['an unknown protocol', `upstream: { url: "wss://c.example.com", protocol: ocpp2.1 }`, /^upstream\.protocol: /],
    ['a client certificate without its key', `upstream: { url: "wss://c.example.com", tls: { cert: a.pem } }`, /^upstream\.tls: give both cert and key/],
    ['tls over ws://', `upstream: { url: "ws://127.0.0.1:9000/ocpp", tls: { ca: ca.pem } }`, /^upstream\.tls: tls needs a wss:\/\/ url/],
    ['a reconnect cap below the first delay', `upstream: { url: "wss://c.example.com", reconnectMinMs: 5000, reconnectMaxMs: 1000 }`, /^upstream\.reconnectMaxMs: /],
    ['an unknown key', `upstream: { url: "wss://c.example.com", urll: x }`, /^upstream(\.urll)?: /],
  ])('reports %s', (_what, section, pattern) => {
    const lines = problemLines(`grid: { maxCurrent: 63 }\n${section}`);
    expect(lines.some((l) => pattern.test(l)), lines.join('\n')).toBe(true);
  });

  it('reports two chargers with the same identity towards the CSMS', () => {
    const lines = problemLines(`
      grid: { maxCurrent: 63 }
      chargers:
        - { id: CP1, upstreamId: SAME }
        - { id: SAME }
      upstream: { url: "wss://csms.example.com/ocpp" }
    `);
    expect(lines).toEqual([expect.stringMatching(/^chargers\.1\.upstreamId: duplicate upstream identity "SAME" \(first at chargers\.0\)/)]);
  });

  it('warns about upstream keys without an upstream section, and passwords over ws://', () => {
    expect(problemLines(`
      grid: { maxCurrent: 63 }
      chargers: [ { id: CP1, upstreamPassword: "cloud-password-1" } ]
    `)).toEqual([expect.stringMatching(/^chargers\.0\.upstreamPassword: warning: has no effect without an upstream section/)]);
    expect(problemLines(`
      grid: { maxCurrent: 63 }
      chargers: [ { id: CP1, upstreamPassword: "cloud-password-1" } ]
      upstream: { url: "ws://127.0.0.1:9000/ocpp" }
    `)).toEqual([expect.stringMatching(/^upstream\.url: warning: upstream passwords travel in clear text/)]);
  });
});
