// The only file in src/upstream that knows ocpp-rpc: one WebSocket to the cloud CSMS, as a charger
// (client side), strict schema validation both ways.
import ocppRpc from 'ocpp-rpc';
import { EmsError } from '../errors.ts';
import { upstreamAnswerInChannel, upstreamCallOutChannel, type UpstreamWire } from '../wire-timing.ts';

const { RPCClient, createRPCError } = ocppRpc as unknown as {
  RPCClient: new (options: Record<string, unknown>) => any;
  createRPCError: (code: string, message?: string) => Error;
};

/** The uplink is not there, or the CSMS did not answer in time: the frame is handled locally. */
export class UplinkUnavailable extends EmsError {
  override readonly code: string = 'UPSTREAM_UNAVAILABLE';
}

/** The CSMS answered, but not with a valid answer to the call (schema): handled as if it had not answered. */
export class UpstreamGarbled extends UplinkUnavailable {
  override readonly code = 'UPSTREAM_GARBLED';
}

/** The CSMS answered a forwarded call with a CALLERROR. */
export class UpstreamRefused extends EmsError {
  override readonly code = 'UPSTREAM_REFUSED';
  constructor(
    readonly rpcErrorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** The WebSocket to the CSMS could not be opened; `httpStatus` 401/403 means the credentials were refused. */
export class UpstreamConnectError extends EmsError {
  override readonly code = 'UPSTREAM_CONNECT_FAILED';
  constructor(
    message: string,
    readonly httpStatus: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown by a CSMS-call handler to answer with this OCPP-J error code. */
export interface RelayedError {
  rpcErrorCode: string;
  message: string;
}

export interface UpstreamSocketOptions {
  /** The CSMS endpoint; the identity is appended as the last path segment. */
  url: string;
  identity: string;
  /** The charger whose socket this is, when known: named on the wire-timing channels (src/wire-timing.ts). */
  chargerId?: string;
  password?: string;
  protocols: string[];
  /** PEM contents. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** The call timeout runs on these (injected, so a test can say when a CSMS has been silent long enough). */
  timers: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
}

export interface UpstreamSocket {
  /** The subprotocol the CSMS chose, once connected. */
  readonly protocol: string | undefined;
  connect(): Promise<void>;
  /**
   * One CALL to the CSMS, answered with its (schema-checked) CALLRESULT. `paramsText`: the params
   * exactly as the charger sent them, already checked against this protocol's schema on the way in;
   * sent as they are (not serialised or checked again). Calls go out one at a time, in order.
   */
  call(action: string, params: unknown, timeoutMs: number, paramsText?: string): Promise<any>;
  /** Every CALL from the CSMS; register before connect(). */
  handle(handler: (action: string, params: any) => Promise<unknown>): void;
  onClose(listener: (info: { code: number; reason: string }) => void): void;
  close(code?: number, reason?: string): Promise<void>;
}

/** A CALL on its way to the CSMS, or waiting for the one before it to be answered. */
interface PendingCall {
  readonly id: string;
  readonly action: string;
  readonly frame: string;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  timer: unknown;
  settled: boolean;
}

const MSG_CALL = 2;
const MSG_CALLRESULT = 3;
const MSG_CALLERROR = 4;

/**
 * The socket's own calls (every frame the relay sends up) do not go through ocpp-rpc's call(): its
 * queue, UUIDs, abort controllers and per-call closures were a fifth of the relay's CPU (session 9
 * profile). They go out here one at a time (OCPP-J: no CALL before the last is answered) with a
 * counter for the message id, and their answers are taken off the socket before the library sees
 * them. The library keeps the handshake, pings and the CSMS's own calls.
 */
export function openUpstreamSocket(options: UpstreamSocketOptions): UpstreamSocket {
  const client = new RPCClient({
    endpoint: options.url.replace(/\/+$/, ''),
    identity: options.identity,
    password: options.password ?? null,
    protocols: options.protocols,
    strictMode: true,
    reconnect: false,
    callTimeoutMs: 30_000,
    pingIntervalMs: 30_000,
    wsOpts: { maxPayload: 4 * 1024 * 1024, ...(options.tls ?? {}) },
  });
  let opened = false;
  let nextId = 0;
  /** The call on the wire (answered next), and the ones behind it. */
  let inFlight: PendingCall | undefined;
  const waiting: PendingCall[] = [];
  const validator = () => {
    const found = client._strictValidators?.get(client.protocol) as { validate(schemaId: string, value: unknown): void } | undefined;
    if (!found) throw new UplinkUnavailable(`no schema for the CSMS's protocol ${String(client.protocol)}`);
    return found;
  };

  const settle = (call: PendingCall): boolean => {
    if (call.settled) return false;
    call.settled = true;
    options.timers.clearTimeout(call.timer);
    if (inFlight === call) inFlight = undefined;
    return true;
  };
  const sendNext = (): void => {
    while (!inFlight && waiting.length > 0) {
      const call = waiting.shift()!;
      if (call.settled) continue;
      if (!opened || client.state !== 1) {
        settle(call);
        call.reject(new UplinkUnavailable(`${call.action} not answered by the CSMS: Client disconnected`));
        continue;
      }
      inFlight = call;
      try {
        client.sendRaw(call.frame);
        if (upstreamCallOutChannel.hasSubscribers) upstreamCallOutChannel.publish({ identity: options.chargerId ?? options.identity, action: call.action, atMs: performance.now() } satisfies UpstreamWire);
      } catch (error) {
        settle(call);
        call.reject(new UplinkUnavailable(`${call.action} not answered by the CSMS: ${(error as Error).message}`, { cause: error }));
      }
    }
  };
  const answered = (call: PendingCall, outcome: () => unknown): void => {
    if (!settle(call)) return;
    try {
      call.resolve(outcome());
    } catch (error) {
      call.reject(error as Error);
    }
    sendNext();
  };
  /** A CALLRESULT or CALLERROR for the call on the wire: true when it was one (the library never sees it). */
  const takeAnswer = (text: string): boolean => {
    const call = inFlight;
    if (!call) return false;
    // Stamped before the parse: the EMS's own time with the answer starts when it reads the frame.
    const readAtMs = upstreamAnswerInChannel.hasSubscribers ? performance.now() : 0;
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return false;
    }
    if (!Array.isArray(frame) || frame[1] !== call.id) return false;
    if (upstreamAnswerInChannel.hasSubscribers) upstreamAnswerInChannel.publish({ identity: options.chargerId ?? options.identity, action: call.action, atMs: readAtMs } satisfies UpstreamWire);
    if (frame[0] === MSG_CALLRESULT) {
      const result = frame[2];
      answered(call, () => {
        try {
          validator().validate(`urn:${call.action}.conf`, result);
        } catch (error) {
          throw new UpstreamGarbled(`the CSMS's answer to ${call.action} is not a valid ${call.action}.conf: ${(error as Error).message}`, { cause: error });
        }
        return result;
      });
      return true;
    }
    if (frame[0] === MSG_CALLERROR) {
      const refusal = createRPCError(String(frame[2]), typeof frame[3] === 'string' ? frame[3] : undefined) as Error & { rpcErrorCode: string };
      answered(call, () => {
        throw new UpstreamRefused(refusal.rpcErrorCode, refusal.message || refusal.rpcErrorCode);
      });
      return true;
    }
    return false;
  };
  const onMessage = client._onMessage.bind(client) as (message: Buffer | string) => void;
  client._onMessage = (buffer: Buffer) => {
    const text = buffer.toString('utf8');
    // The library reads a string as it is (its toString() of a string is the string).
    if (!takeAnswer(text)) onMessage(text);
  };
  client.on('close', () => {
    opened = false;
    const calls = inFlight ? [inFlight, ...waiting] : [...waiting];
    waiting.length = 0;
    for (const call of calls) if (settle(call)) call.reject(new UplinkUnavailable(`${call.action} not answered by the CSMS: Client disconnected`));
  });

  return {
    get protocol() {
      return client.protocol as string | undefined;
    },
    async connect() {
      try {
        await client.connect();
        opened = true;
      } catch (error) {
        const e = error as { code?: unknown; message?: string };
        const status = typeof e.code === 'number' ? e.code : undefined;
        throw new UpstreamConnectError(`cannot connect to the CSMS${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(error)}`, status, { cause: error });
      }
    },
    call(action, params, timeoutMs, paramsText) {
      if (!opened || client.state !== 1) return Promise.reject(new UplinkUnavailable('the uplink is down'));
      if (paramsText === undefined) {
        // Our own strict check of what we send: a frame the schema refuses never leaves (its code is the answer).
        try {
          validator().validate(`urn:${action}.req`, params);
        } catch (error) {
          const e = error as { rpcErrorCode?: string; message?: string };
          return Promise.reject(e.rpcErrorCode ? new UpstreamRefused(e.rpcErrorCode, e.message ?? e.rpcErrorCode) : (error as Error));
        }
        paramsText = JSON.stringify(params);
      }
      const id = String(++nextId);
      return new Promise((resolve, reject) => {
        const call: PendingCall = { id, action, frame: `[${MSG_CALL},"${id}",${JSON.stringify(action)},${paramsText}]`, resolve, reject, timer: undefined, settled: false };
        call.timer = options.timers.setTimeout(() => {
          if (!settle(call)) return;
          call.reject(new UplinkUnavailable(`${action} not answered by the CSMS: no answer within ${timeoutMs} ms`));
          sendNext();
        }, timeoutMs);
        waiting.push(call);
        sendNext();
      });
    },
    handle(handler) {
      client.handle(async ({ method, params }: { method: string; params: unknown }) => {
        try {
          return await handler(method, params);
        } catch (error) {
          const relayed = error as Partial<RelayedError>;
          throw createRPCError(relayed.rpcErrorCode ?? 'InternalError', relayed.message ?? 'internal error');
        }
      });
    },
    onClose(listener) {
      client.on('close', (info: { code?: number; reason?: unknown }) => {
        opened = false;
        listener({ code: info?.code ?? 1006, reason: String(info?.reason ?? '') });
      });
    },
    async close(code = 1000, reason = '') {
      opened = false;
      await client.close({ code, reason, awaitPending: false }).catch(() => undefined);
    },
  };
}
