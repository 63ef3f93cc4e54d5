import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import * as build from '../../src/openadr/ven2b/xml-build.ts';
import { parseMessage } from '../../src/openadr/ven2b/xml-parse.ts';
import { createVen2bService } from '../../src/openadr/ven2b/ven2b-service.ts';
import { createTestPki } from '../fixtures/openadr/certs.ts';
import * as vtnMsg from '../fixtures/openadr/vtn2b-messages.ts';
import { TestVtn2b } from '../fixtures/openadr/vtn2b-server.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { siteContext } from './helpers.ts';

const XSD_PATH = fileURLToPath(new URL('../fixtures/openadr/spec-2.0b/oadr_20b.xsd', import.meta.url));

/** Validates each document; returns the xmllint complaints per name (empty when all are valid). */
function validate(documents: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'oadr-xsd-'));
  const failures: Record<string, string> = {};
  for (const [name, xml] of Object.entries(documents)) {
    const file = join(dir, `${name.replace(/[^\w.-]/g, '_')}.xml`);
    writeFileSync(file, xml);
    try {
      execFileSync('xmllint', ['--noout', '--schema', XSD_PATH, file], { stdio: 'pipe' });
    } catch (error) {
      failures[name] = String((error as { stderr?: Buffer }).stderr ?? error);
    }
  }
  return failures;
}

const T = Date.parse('2026-11-24T16:00:00Z');

describeWithPeer('xmllint', hasCommand('xmllint'), 'OpenADR 2.0b messages against the official XSD', () => {
  it('every message the VEN can send validates against oadr_20b.xsd', () => {
    const failures = validate({
      queryRegistration: build.queryRegistration('q-1'),
      createPartyRegistration: build.createPartyRegistration({ requestId: 'r-1', venName: 'depot <north> & co' }),
      reRegistration: build.createPartyRegistration({ requestId: 'r-2', venName: 'depot', venId: 'V1', registrationId: 'R1' }),
      cancelPartyRegistration: build.cancelPartyRegistration({ requestId: 'c-1', registrationId: 'R1', venId: 'V1' }),
      canceledPartyRegistration: build.canceledPartyRegistration({ code: 200, requestId: 'c-1', registrationId: 'R1', venId: 'V1' }),
      response: build.response({ code: 454, requestId: '', venId: 'V1', description: 'malformed XML' }),
      requestEvent: build.requestEvent({ requestId: 'e-1', venId: 'V1' }),
      createdEvent: build.createdEvent({
        venId: 'V1',
        replies: [
          { code: 200, requestId: 'dist-1', eventId: 'e1', modificationNumber: 0, opt: 'optIn' },
          { code: 200, requestId: 'dist-1', eventId: 'e2', modificationNumber: 3, opt: 'optOut', description: 'operator opted out' },
        ],
      }),
      createdEventError: build.createdEvent({ venId: 'V1', code: 454, description: 'invalid', replies: [] }),
      poll: build.poll('V1'),
      registerReport: build.registerReport({ requestId: 'rr-1', venId: 'V1', createdAtMs: T, minPeriodMs: 10_000, maxPeriodMs: 3_600_000 }),
      registeredReport: build.registeredReport({ code: 200, requestId: 'x', venId: 'V1' }),
      createdReport: build.createdReport({ code: 200, requestId: 'x', venId: 'V1', pendingReportRequestIds: ['rr-1', 'rr-2'] }),
      canceledReport: build.canceledReport({ code: 200, requestId: 'x', venId: 'V1', pendingReportRequestIds: [] }),
      updatedReport: build.updatedReport({ code: 200, requestId: 'x', venId: 'V1' }),
      updateReport: build.updateReport({
        requestId: 'u-1',
        venId: 'V1',
        reportRequestId: 'rr-1',
        reportSpecifierId: 'site-telemetry',
        createdAtMs: T,
        samples: [
          { startMs: T, durationMs: 60_000, powerW: 41_234.6 },
          { startMs: T + 60_000, durationMs: 60_000, powerW: -500 },
        ],
      }),
    });
    expect(failures).toEqual({});
  });

  it("the test VTN's messages are spec-valid too, and the VEN reads them back", () => {
    const event: vtnMsg.FixtureEvent = {
      eventId: 'shed-2026-11-24',
      modificationNumber: 4,
      startMs: T,
      durationS: 3600,
      startAfterS: 300,
      signals: [
        { name: 'SIMPLE', type: 'level', intervals: [{ durationS: 1800, value: 1 }, { durationS: 1800, value: 2 }] },
        { name: 'ELECTRICITY_PRICE', type: 'price', unit: 'EUR', intervals: [{ durationS: 3600, value: 0.42 }] },
        { name: 'LOAD_CONTROL', type: 'x-loadControlCapacity', unit: 'kW', intervals: [{ durationS: 3600, value: 80 }] },
      ],
    };
    const documents = {
      distributeEvent: vtnMsg.distributeEvent({ requestId: 'd-1', vtnId: 'VTN', venId: 'V1', events: [event] }),
      createdPartyRegistration: vtnMsg.createdPartyRegistration({ requestId: 'r', vtnId: 'VTN', venId: 'V1', registrationId: 'R1', pollFreqS: 10 }),
      registeredReport: vtnMsg.registeredReport({ requestId: 'r', venId: 'V1', reportRequestId: 'rr-1', granularityS: 60, backS: 300 }),
      createReport: vtnMsg.createReport({ requestId: 'r', venId: 'V1', reportRequestId: 'rr-2', granularityS: 60, backS: 300 }),
      cancelPartyRegistration: vtnMsg.cancelPartyRegistration({ requestId: 'r', registrationId: 'R1', venId: 'V1' }),
      requestReregistration: vtnMsg.requestReregistration('V1'),
      oadrResponse: vtnMsg.oadrResponse(200, 'r', 'V1'),
    };
    expect(validate(documents)).toEqual({});
    const parsed = parseMessage(documents.distributeEvent);
    expect(parsed.type).toBe('oadrDistributeEvent');
    if (parsed.type !== 'oadrDistributeEvent') return;
    expect(parsed.events[0]).toMatchObject({ eventId: 'shed-2026-11-24', modificationNumber: 4, startMs: T, durationMs: 3600_000, startAfterMs: 300_000 });
    expect(parsed.events[0].signals.map((s) => [s.signalName, s.intervals.map((i) => i.value), s.item?.scale ?? 1])).toEqual([
      ['SIMPLE', [1, 2], 1],
      ['ELECTRICITY_PRICE', [0.42], 1],
      ['LOAD_CONTROL', [80], 1000],
    ]);
    const registration = parseMessage(documents.createdPartyRegistration);
    expect(registration).toMatchObject({ type: 'oadrCreatedPartyRegistration', venId: 'V1', registrationId: 'R1', pollFreqMs: 10_000 });
  });

  describeWithPeer('openssl', hasCommand('openssl'), 'in a live exchange', () => {
    it('everything the VEN sent to a VTN validates', async () => {
      const pki = createTestPki();
      const vtn = await new TestVtn2b({
        ca: pki.read(pki.caPath),
        cert: pki.read(pki.serverCertPath),
        key: pki.read(pki.serverKeyPath),
        reportRequest: { reportRequestId: 'rr-1', granularityS: 1, backS: 1 },
      }).start();
      const { ctx, timeline, vtnConfig } = siteContext({
        id: 'utility',
        version: '2.0b',
        vtnUrl: vtn.url,
        venName: 'depot-north',
        pollIntervalS: 0.05,
        tls: { ca: pki.caPath, cert: pki.clientCertPath, key: pki.clientKeyPath },
        simpleLevels: { 2: 50_000 },
      });
      ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: Date.now(), powerW: 12_000 });
      await timeline.start();
      const ven = createVen2bService(ctx, vtnConfig, { sink: timeline });
      vtn.events = [{ eventId: 'e1', modificationNumber: 0, startMs: Date.now(), durationS: 600, signals: [{ name: 'SIMPLE', type: 'level', intervals: [{ durationS: 600, value: 2 }] }] }];
      const reported = vtn.nextOf('oadrUpdateReport');
      await ven.start();
      await reported;
      const optedOut = vtn.nextOf('oadrCreatedEvent');
      timeline.optOut('e1', { username: 'olga', role: 'operator' });
      await optedOut;
      await ven.stop();
      await ven.deregister();
      await timeline.stop();
      await vtn.stop();
      const sent = Object.fromEntries(vtn.received.map((m, i) => [`${i}-${m.type}`, m.xml]));
      expect(new Set(vtn.received.map((m) => m.type))).toEqual(
        new Set([
          'oadrQueryRegistration',
          'oadrCreatePartyRegistration',
          'oadrRegisterReport',
          'oadrCreatedReport',
          'oadrRequestEvent',
          'oadrCreatedEvent',
          'oadrPoll',
          'oadrUpdateReport',
          'oadrCancelPartyRegistration',
        ]),
      );
      expect(validate(sent)).toEqual({});
    });
  });
});
