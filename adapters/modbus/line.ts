// One physical Modbus line (a TCP connection, a serial port, a serial gateway socket) with one FIFO
// request queue: devices (unit ids) hang off it. Every request has a timeout; the line reconnects
// with the shared back-off (adapters/backoff.ts, capped at 5 s); an RTU-framed line is reopened after a timeout or a garbled answer
// because a late reply would otherwise be read as the answer to the next request.
import type { Logger } from 'pino';
import {
  DeviceError,
  DeviceProtocolError,
  ModbusConnectionError,
  ModbusExceptionError,
  ModbusTimeoutError,
} from '../errors.ts';
import { RECONNECT_POLICY } from '../backoff.ts';
import { MAX_REGISTERS_PER_READ, splitRange, type RegisterRange } from './read-plan.ts';
import { closeClient, isRtuFramed, openClient, transportKey, type ModbusClient, type ModbusTransport } from './transport.ts';

export interface ModbusLineOptions {
  transport: ModbusTransport;
  timeoutMs: number;
  log: Logger;
  nowMs: () => number;
  /** Some devices (Huawei SUN2000) drop requests sent right after connecting. */
  connectDelayMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export class ModbusLine {
  readonly key: string;
  /** Increments on every successful (re)connect; devices rescan when it changes. */
  generation = 0;
  private client: ModbusClient | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private nextConnectAtMs = 0;
  private backoffMs: number;
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly options: ModbusLineOptions) {
    this.key = transportKey(options.transport);
    this.backoffMs = options.backoffInitialMs ?? RECONNECT_POLICY.initialMs;
    this.log = options.log.child({ line: this.key });
  }

  get isOpen(): boolean {
    return this.client?.isOpen ?? false;
  }

  /** Read any number of registers (split into reads of ≤ 125), one queued request per chunk. */
  async read(range: RegisterRange): Promise<number[]> {
    const values: number[] = [];
    for (const chunk of splitRange(range, MAX_REGISTERS_PER_READ)) {
      const result = await this.enqueue(
        range.unitId,
        (client) => (chunk.fc === 3 ? client.readHoldingRegisters(chunk.address, chunk.count) : client.readInputRegisters(chunk.address, chunk.count)),
        `read fc${chunk.fc} ${chunk.address}+${chunk.count}`,
      );
      values.push(...checkLength(result.data, chunk.count));
    }
    return values;
  }

  /** FC16 write of consecutive registers. */
  async write(unitId: number, address: number, registers: readonly number[]): Promise<void> {
    await this.enqueue(unitId, (client) => client.writeRegisters(address, [...registers]), `write ${address}+${registers.length}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail.catch(() => undefined);
    await this.drop();
  }

  private enqueue<T>(unitId: number, op: (client: ModbusClient) => Promise<T>, what: string): Promise<T> {
    const run = this.tail.then(
      () => this.execute(unitId, op, what),
      () => this.execute(unitId, op, what),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async execute<T>(unitId: number, op: (client: ModbusClient) => Promise<T>, what: string): Promise<T> {
    const client = await this.ensureOpen();
    client.setID(unitId);
    try {
      return await withGuard(op(client), this.options.timeoutMs + 250);
    } catch (error) {
      const mapped = mapError(error, `unit ${unitId} ${what}`);
      const rtu = isRtuFramed(this.options.transport);
      if (mapped instanceof ModbusConnectionError || (rtu && !(mapped instanceof ModbusExceptionError))) {
        // The stream may be shifted by one answer (RTU) or the socket is gone: start clean.
        this.log.debug({ err: mapped.message }, 'reopening line');
        await this.drop();
      }
      throw mapped;
    }
  }

  private async ensureOpen(): Promise<ModbusClient> {
    if (this.closed) throw new ModbusConnectionError(`line ${this.key} is closed`);
    if (this.client?.isOpen) return this.client;
    if (this.client) await this.drop();
    const now = this.options.nowMs();
    if (now < this.nextConnectAtMs) {
      throw new ModbusConnectionError(`line ${this.key} down, next connect attempt in ${this.nextConnectAtMs - now} ms`);
    }
    try {
      const client = await openClient(this.options.transport, this.options.timeoutMs);
      client.on('error', () => undefined);
      if (this.options.connectDelayMs) await new Promise((r) => setTimeout(r, this.options.connectDelayMs));
      this.client = client;
      this.generation++;
      this.backoffMs = this.options.backoffInitialMs ?? RECONNECT_POLICY.initialMs;
      this.nextConnectAtMs = 0;
      this.log.info({ generation: this.generation }, 'modbus line connected');
      return client;
    } catch (error) {
      this.nextConnectAtMs = this.options.nowMs() + this.backoffMs;
      const waitMs = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * RECONNECT_POLICY.factor, this.options.backoffMaxMs ?? RECONNECT_POLICY.maxMs);
      throw new ModbusConnectionError(`cannot open ${this.key}: ${describe(error)} (retry in ${waitMs} ms)`, { cause: error });
    }
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await closeClient(client);
  }
}

/** Lines by physical key, so two devices behind one gateway share its queue. */
export class ModbusLines {
  private readonly lines = new Map<string, ModbusLine>();
  constructor(private readonly defaults: Omit<ModbusLineOptions, 'transport' | 'timeoutMs'>) {}

  get(transport: ModbusTransport, timeoutMs: number, extra: Partial<ModbusLineOptions> = {}): ModbusLine {
    const key = transportKey(transport);
    let line = this.lines.get(key);
    if (!line) this.lines.set(key, (line = new ModbusLine({ ...this.defaults, ...extra, transport, timeoutMs })));
    return line;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.lines.values()].map((line) => line.close()));
    this.lines.clear();
  }
}

function checkLength(data: number[], count: number): number[] {
  if (!Array.isArray(data) || data.length < count) throw new DeviceProtocolError(`short answer: ${data?.length ?? 0} of ${count} registers`);
  return data.slice(0, count);
}

function withGuard<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('request guard timeout'), { errno: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}

function mapError(error: unknown, context: string): DeviceError {
  if (error instanceof DeviceError) return error;
  const e = (error ?? {}) as { modbusCode?: number; errno?: string; name?: string; code?: string };
  if (typeof e.modbusCode === 'number') return new ModbusExceptionError(`${context}: exception ${e.modbusCode} (${describe(error)})`, e.modbusCode, { cause: error });
  if (e.errno === 'ETIMEDOUT' || e.name === 'TransactionTimedOutError') return new ModbusTimeoutError(`${context}: no answer (timeout)`, { cause: error });
  if (e.name === 'PortNotOpenError' || e.errno === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'EPIPE') {
    return new ModbusConnectionError(`${context}: ${describe(error)}`, { cause: error });
  }
  return new DeviceProtocolError(`${context}: ${describe(error)}`, { cause: error });
}
