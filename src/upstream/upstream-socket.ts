// The only file in src/upstream that knows ocpp-rpc: one WebSocket to the cloud CSMS, as a charger
// (client side), strict schema validation both ways.
import ocppRpc from 'ocpp-rpc';
import { EmsError } from '../errors.ts';

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
  call(action: string, params: unknown, timeoutMs: number): Promise<any>;
  /** Every CALL from the CSMS; register before connect(). */
  handle(handler: (action: string, params: any) => Promise<unknown>): void;
  onClose(listener: (info: { code: number; reason: string }) => void): void;
  close(code?: number, reason?: string): Promise<void>;
}

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
  // Our strict validation of the CSMS's answers: its failures reject the call with this error object.
  const garbled = new WeakSet<object>();
  client.on('strictValidationFailure', (event: { outbound?: boolean; isCall?: boolean; error?: unknown }) => {
    if (!event.outbound && !event.isCall && typeof event.error === 'object' && event.error !== null) garbled.add(event.error);
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
    async call(action, params, timeoutMs) {
      if (!opened || client.state !== 1) throw new UplinkUnavailable('the uplink is down');
      // ocpp-rpc's own timer is off (Infinity): the injected one aborts the call.
      const abort = new AbortController();
      const timer = options.timers.setTimeout(() => abort.abort(`no answer within ${timeoutMs} ms`), timeoutMs);
      try {
        return await client.call(action, params, { callTimeoutMs: Infinity, signal: abort.signal });
      } catch (error) {
        const e = error as { rpcErrorCode?: string; name?: string; message?: string };
        if (typeof error === 'object' && error !== null && garbled.has(error)) {
          throw new UpstreamGarbled(`the CSMS's answer to ${action} is not a valid ${action}.conf: ${e.message ?? String(error)}`, { cause: error });
        }
        // A CALLERROR the CSMS sent, or our own call refused by our strict validation.
        if (e.rpcErrorCode && e.name !== 'TimeoutError' && e.name !== 'AbortError') throw new UpstreamRefused(e.rpcErrorCode, e.message ?? e.rpcErrorCode);
        throw new UplinkUnavailable(`${action} not answered by the CSMS: ${e.message ?? String(error)}`, { cause: error });
      } finally {
        options.timers.clearTimeout(timer);
      }
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
