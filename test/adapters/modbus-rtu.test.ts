import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DeviceProtocolError, ModbusTimeoutError } from '../../adapters/errors.ts';
import { ModbusLine } from '../../adapters/modbus/line.ts';
import { SunSpecDevice } from '../../adapters/modbus/sunspec-device.ts';
import { sunSpecImage } from '../../adapters/modbus/sunspec-image.ts';
import { silentLogger } from '../../src/log.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { describeWithPeer, hasCommand, hasPythonModule } from '../helpers/peers.ts';

const meterImage = sunSpecImage([{ id: 1 }, { id: 203, values: { W: 4321, AphA: 6, AphB: 6.5, AphC: 7 }, scaleFactors: { 6: -1, 22: 0 } }]);
const peer = new PymodbusPeer({ framer: 'rtu', units: { 7: { hr: { 40000: meterImage, 100: [111, 222] } } } });

async function until<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'RTU framing over TCP (pymodbus RTU framer, like a serial gateway)', () => {
  let line: ModbusLine;
  beforeAll(async () => {
    await peer.start();
    line = new ModbusLine({ transport: { kind: 'rtu-over-tcp', host: '127.0.0.1', port: peer.port }, timeoutMs: 300, log: silentLogger, nowMs: Date.now, backoffInitialMs: 20 });
  });
  afterAll(async () => {
    await line?.close();
    await peer.stop();
  });

  it('scans and reads a SunSpec meter through RTU frames', async () => {
    const meter = new SunSpecDevice({ deviceId: 'm', role: 'grid-meter', line, unitId: 7, nowMs: Date.now, log: silentLogger });
    const r = await meter.read();
    expect(r.powerW).toBe(4321);
    expect(r.currentA).toEqual([6, 6.5, 7]);
  });

  it('serializes concurrent requests on the line so no answer is taken for another', async () => {
    const reads = await Promise.all(Array.from({ length: 8 }, (_, i) => line.read({ unitId: 7, fc: 3, address: 100 + (i % 2), count: 1 })));
    expect(reads.map((r) => r[0])).toEqual([111, 222, 111, 222, 111, 222, 111, 222]);
  });

  it('reopens the line after a timeout, so a late answer is not read as the next one', async () => {
    const line = new ModbusLine({ transport: { kind: 'rtu-over-tcp', host: '127.0.0.1', port: peer.port }, timeoutMs: 500, log: silentLogger, nowMs: Date.now });
    await line.read({ unitId: 7, fc: 3, address: 100, count: 1 });
    await peer.delay(800, true);
    await expect(line.read({ unitId: 7, fc: 3, address: 100, count: 1 })).rejects.toBeInstanceOf(ModbusTimeoutError);
    // Sent while the device is still busy with the first request; its late answer (111) comes first.
    expect(await line.read({ unitId: 7, fc: 3, address: 101, count: 1 })).toEqual([222]);
    await line.close();
  });
});

describe_garbage();
function describe_garbage() {
  describeWithPeer('loopback socket', true, 'a device that answers garbage', () => {
    let server: Server;
    let port = 0;
    beforeAll(async () => {
      server = createServer((socket) => socket.on('data', () => socket.write(Buffer.from([0x07, 0x03, 0x04, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00]))));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('rejects a frame with a bad CRC with a clear error and reopens the line', async () => {
      const line = new ModbusLine({ transport: { kind: 'rtu-over-tcp', host: '127.0.0.1', port }, timeoutMs: 300, log: silentLogger, nowMs: Date.now });
      const error = await line.read({ unitId: 7, fc: 3, address: 0, count: 2 }).catch((e) => e);
      expect(error).toBeInstanceOf(DeviceProtocolError);
      expect(error.message).toMatch(/CRC/);
      expect(line.isOpen).toBe(false);
      await line.close();
    });
  });
}

describeWithPeer('socat', hasCommand('socat') && hasPythonModule('pymodbus'), 'serial RTU through a pty pair (socat)', () => {
  const serialPeer = new PymodbusPeer({ framer: 'rtu', units: { 3: { hr: { 40000: meterImage } } } });
  let socat: ChildProcess;
  const ptyPath = join(mkdtempSync(join(tmpdir(), 'rtu-')), 'ttyEMS');
  beforeAll(async () => {
    await serialPeer.start();
    socat = spawn('socat', [`PTY,link=${ptyPath},raw,echo=0`, `TCP:127.0.0.1:${serialPeer.port}`], { stdio: 'ignore' });
    await until(async () => {
      if (!existsSync(ptyPath)) throw new Error('pty not there yet');
    });
  });
  afterAll(async () => {
    socat?.kill('SIGKILL');
    await serialPeer.stop();
  });

  it('reads a SunSpec meter over a serial port', async () => {
    const line = new ModbusLine({ transport: { kind: 'rtu', path: ptyPath, baudRate: 19200, parity: 'none' }, timeoutMs: 500, log: silentLogger, nowMs: Date.now, backoffInitialMs: 20 });
    const meter = new SunSpecDevice({ deviceId: 'm', role: 'grid-meter', line, unitId: 3, nowMs: Date.now, log: silentLogger });
    const r = await until(() => meter.read());
    expect(r.powerW).toBe(4321);
    await line.close();
  });
});
