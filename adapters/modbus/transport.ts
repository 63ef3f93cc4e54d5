// Opening a modbus-serial client for one physical line. Which framing goes with which transport:
// Modbus TCP speaks MBAP (transaction ids); RTU over TCP (transparent RS485 gateways) and serial
// RTU carry raw RTU frames with a CRC and no transaction id.
import { createRequire } from 'node:module';
import type { ModbusRTU as ModbusRTUClass } from 'modbus-serial/ModbusRTU.js';

// modbus-serial is CommonJS (module.exports = class); its typings declare an ES default export.
const ModbusRTU = createRequire(import.meta.url)('modbus-serial') as typeof ModbusRTUClass;

export type ModbusTransport =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'rtu-over-tcp'; host: string; port: number }
  | { kind: 'rtu'; path: string; baudRate: number; parity: 'none' | 'even' | 'odd' };

export type ModbusClient = ModbusRTUClass;

/** One key per physical line: devices with the same key share a request queue. */
export function transportKey(transport: ModbusTransport): string {
  return transport.kind === 'rtu' ? `rtu:${transport.path}` : `${transport.kind}:${transport.host}:${transport.port}`;
}

/** Has a single transaction slot: a late answer would be taken for the next request's. */
export const isRtuFramed = (transport: ModbusTransport): boolean => transport.kind !== 'tcp';

export async function openClient(transport: ModbusTransport, timeoutMs: number): Promise<ModbusClient> {
  const client = new ModbusRTU();
  // modbus-serial has no default timeout: without this an unanswered request never settles.
  client.setTimeout(timeoutMs);
  switch (transport.kind) {
    case 'tcp':
      await client.connectTCP(transport.host, { port: transport.port });
      break;
    case 'rtu-over-tcp':
      await client.connectTelnet(transport.host, { port: transport.port });
      break;
    case 'rtu':
      await client.connectRTUBuffered(transport.path, { baudRate: transport.baudRate, parity: transport.parity, dataBits: 8, stopBits: 1 });
      break;
  }
  return client;
}

export function closeClient(client: ModbusClient): Promise<void> {
  return new Promise((resolve) => {
    try {
      client.close(() => resolve());
    } catch {
      resolve();
    }
    // close() on a half-dead socket may never call back; do not wait for it.
    setTimeout(resolve, 200).unref();
  });
}
