// The only file that knows ocpp-rpc. Everything else in src/ocpp talks to the typed OcppConnection,
// so a fork or our own framing could replace the library without touching the central system.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import ocppRpc from 'ocpp-rpc';
import type { Logger } from '../log.ts';
import { OcppCallError, OcppCallRefused, OcppListenError } from './errors.ts';
import { callParamsText, inspectFrame } from './frame-guard.ts';
import type { CentralSystemCalls, ChargePointCalls } from './messages.ts';
import { answerOutChannel, callInChannel, type AnswerOut, type CallIn } from '../wire-timing.ts';

const { RPCServer, createRPCError, NOREPLY } = ocppRpc;

/** ocpp-rpc's client state OPEN. */
const OPEN = 1;
const NO_ABORT = () => undefined;

/** Largest frame a charger may send; a StopTransaction with a long transactionData fits easily. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

export interface Handshake {
  identity: string;
  /** URL path before the identity, e.g. "/ocpp". */
  endpoint: string;
  /** HTTP Basic password when the user part matched the identity. */
  password?: Buffer;
  remoteAddress?: string;
  /** With wss:// and a client certificate (Security Profile 3): what it names, already chain-checked by TLS. */
  clientCertificate?: { subjectCN?: string; altNames: string[] };
}

export type HandshakeVerdict = { accept: true } | { accept: false; status: 400 | 401 | 403 | 404 | 429; message: string };

/** Things peers did that the transport survived; the caller counts them (metrics) and may log. */
export type TransportFault =
  | 'socket-error'
  | 'close-failed'
  | 'tls-handshake-failed'
  | 'frame-too-deep'
  | 'frame-not-json'
  | 'frame-bad-message-id'
  | 'frame-ill-formed-text'
  | 'frame-bad-id-tag';

export interface ValidationFailure {
  action: string;
  /** True when our own message failed (a bug on our side), false for the charger's. */
  outbound: boolean;
  isCall: boolean;
  message: string;
}

/** Request and confirmation payload types per action. */
export type CallMap<T> = { [A in keyof T]: { req: unknown; conf: unknown } };

/**
 * One charger's OCPP-J link, typed both ways: `In` are the calls the charger makes, `Out` the calls
 * we make (OCPP 1.6 by default; the 2.0.1 maps live in messages-201.ts).
 */
export interface OcppConnection<In extends CallMap<In> = ChargePointCalls, Out extends CallMap<Out> = CentralSystemCalls> {
  readonly identity: string;
  readonly protocol: string;
  call<A extends keyof Out & string>(action: A, req: Out[A]['req'], timeoutMs?: number): Promise<Out[A]['conf']>;
  handle<A extends keyof In & string>(action: A, handler: (req: In[A]['req']) => In[A]['conf'] | Promise<In[A]['conf']>): void;
  /**
   * Only while an inbound CALL's handler starts (synchronously, before its first await): that
   * CALL's params as the charger's frame spells them, already checked against the schema (a relay
   * sends them on as they are). Undefined at any other time.
   */
  inboundParamsText?(action: string): string | undefined;
  /** Handles every inbound CALL no `handle` covers (a relay forwards them); default: NotImplemented. */
  handleOther(handler: (action: string, req: unknown) => unknown): void;
  /** Called for every inbound CALL before its handler, valid or not. */
  onInboundCall(listener: (action: string) => void): void;
  onValidationFailure(listener: (failure: ValidationFailure) => void): void;
  onClose(listener: (info: { code: number; reason: string }) => void): void;
  /** Resolves once closed; never rejects. */
  close(code?: number, reason?: string): Promise<void>;
}

export interface OcppListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  port: number;
  /**
   * PEM contents (not paths) for wss://. `requireClientCert` (Security Profile 3): the TLS handshake
   * fails unless the charger presents an unexpired certificate chained to `ca`.
   */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer; requireClientCert?: boolean };
  protocols: string[];
  callTimeoutMs: number;
  log: Logger;
  verify(handshake: Handshake): HandshakeVerdict;
  /** Register handlers synchronously in here: the charger's first CALL may already be on its way. */
  onConnection(connection: OcppConnection<any, any>): void;
  onFault?(fault: TransportFault, details: { chargerId?: string; remoteAddress?: string; message?: string }): void;
}

function toCallError(action: string, error: unknown): OcppCallError {
  const e = error as { rpcErrorCode?: string; name?: string; message?: string };
  const code = e?.rpcErrorCode ?? (e?.name === 'TimeoutError' ? 'Timeout' : undefined);
  return new OcppCallError(`${action} failed${code ? ` (${code})` : ''}: ${e?.message ?? String(error)}`, code, { cause: error });
}

/**
 * Makes one ocpp-rpc client safe against its peer: every close promise is handled (a socket that
 * errors while closing, e.g. an invalid UTF-8 frame on a replaced connection, rejects it), socket
 * errors are reported instead of thrown, and each inbound frame passes inspectFrame first, so a deep,
 * non-JSON or ill-formed frame gets a CALLERROR with its real message id and never reaches the library.
 */
function guard(client: any, options: Pick<ListenOptions, 'log' | 'onFault'>, inbound: InboundHandlers): () => { text: string; frame: unknown } | undefined {
  const chargerId = String(client.identity);
  const fault: NonNullable<ListenOptions['onFault']> = options.onFault ?? (() => undefined);
  const close = client.close.bind(client);
  client.close = (closeOptions?: unknown) => {
    const closing = Promise.resolve().then(() => close(closeOptions));
    closing.catch((error: unknown) => {
      fault('close-failed', { chargerId, message: (error as Error)?.message });
      options.log.debug({ chargerId, err: error }, 'OCPP socket failed while closing');
    });
    return closing;
  };
  client.on('socketError', (error: Error) => {
    fault('socket-error', { chargerId, message: error?.message });
    options.log.debug({ chargerId, err: error }, 'OCPP socket error');
  });
  client.on('error', (error: Error) => options.log.debug({ chargerId, err: error }, 'OCPP client error'));
  const onMessage = client._onMessage.bind(client);
  const formatCode = client.protocol === 'ocpp1.6' ? 'FormationViolation' : 'FormatViolation';
  /** The frame the library is dispatching right now (its handlers start synchronously in there). */
  let dispatching: { text: string; frame: unknown } | undefined;
  client._onMessage = (buffer: Buffer) => {
    // Stamped before the frame is decoded: the EMS's own time with a frame starts when it reads it.
    const readAtMs = callInChannel.hasSubscribers ? performance.now() : 0;
    const text = buffer.toString('utf8');
    const verdict = inspectFrame(text);
    if (verdict.ok) {
      dispatching = { text, frame: verdict.frame };
      try {
        const frame = verdict.frame;
        // A CALL is answered here (answerCall) while the link is open; a second CALL with the id of one
        // still being answered, and every other frame, go to the library as they are.
        if (isCall(frame) && client._state === OPEN && !client._pendingResponses.has(frame[1])) {
          if (callInChannel.hasSubscribers) callInChannel.publish({ identity: chargerId, messageId: frame[1], action: frame[2], atMs: readAtMs } satisfies CallIn);
          return answerCall(client, text, frame, inbound, options.log);
        }
        // The library reads a string as it is (its toString() of a string is the string): decoded once.
        return onMessage(text);
      } finally {
        dispatching = undefined;
      }
    }
    fault(`frame-${verdict.reason}`, { chargerId, message: verdict.description });
    if (!verdict.answer) return;
    const code = verdict.code === 'format' ? formatCode : verdict.code;
    try {
      client.sendRaw(JSON.stringify([4, verdict.messageId, code, verdict.description, {}]));
    } catch (error) {
      options.log.debug({ chargerId, err: error }, 'could not answer a refused frame');
    }
  };
  return () => dispatching;
}

/** The EMS's handlers of one charger's CALLs, by action, and the one for every other action (handleOther). */
interface InboundHandlers {
  byAction: Map<string, (params: any) => unknown>;
  other?: (action: string, params: unknown) => unknown;
}

type CallFrame = [2, string, string, unknown];

const isCall = (frame: unknown): frame is CallFrame =>
  Array.isArray(frame) && frame[0] === 2 && typeof frame[1] === 'string' && typeof frame[2] === 'string';

/** A handler's error as the CALLERROR the charger gets: a refusal with its code, anything else InternalError (logged). */
function rpcErrorOf(error: unknown, action: string, client: any, log: Logger): Error {
  if (error instanceof OcppCallRefused) return createRPCError(error.rpcErrorCode, error.message) as Error;
  log.error({ err: error, action, chargerId: client.identity }, 'OCPP handler failed; answered InternalError');
  return createRPCError('InternalError', 'internal error while handling the call') as Error;
}

/**
 * One inbound CALL answered as ocpp-rpc's own `_onCall` would (strict validation both ways and its
 * `strictValidationFailure` events, the same CALLERRORs, the same entry in its pending responses
 * while the handler runs, so a close aborts and awaits it alike), without what it costs per CALL: an
 * AbortController, an async Promise executor, a reply closure and the event objects nobody listens
 * to (about 8 % of the EMS's CPU and 12 % of its allocation at 200 chargers, session 10's profile).
 * The handler starts synchronously, inside the frame's dispatch (inboundParamsText).
 */
function answerCall(client: any, text: string, frame: CallFrame, inbound: InboundHandlers, log: Logger): void {
  const [, messageId, method, params] = frame;
  if (client._options.deferPingsOnActivity) client._deferNextPing();
  if (client.listenerCount('message') > 0) client.emit('message', { message: text, outbound: false });
  client.emit('call', { outbound: false, payload: frame });
  const pending: { abort: () => void; promise?: Promise<void> } = { abort: NO_ABORT };
  client._pendingResponses.set(messageId, pending);
  pending.promise = respond(client, messageId, method, params, inbound, log);
  client._badMessagesCount = 0;
}

async function respond(client: any, messageId: string, method: string, params: unknown, inbound: InboundHandlers, log: Logger): Promise<void> {
  let payload: unknown[];
  try {
    const handler = inbound.byAction.get(method);
    if (!handler && !inbound.other) throw createRPCError('NotImplemented', `Unable to handle '${method}' calls`, {});
    const validator = client._strictProtocols.includes(client._protocol) ? (client._strictValidators.get(client._protocol) as { validate(schemaId: string, value: unknown): void }) : undefined;
    try {
      validator?.validate(`urn:${method}.req`, params);
    } catch (error) {
      client.emit('strictValidationFailure', { messageId, method, params, result: null, error, outbound: false, isCall: true });
      throw error;
    }
    let result: unknown;
    try {
      result = await (handler ? handler(params) : inbound.other!(method, params));
    } catch (error) {
      throw rpcErrorOf(error, method, client, log);
    }
    if (client.listenerCount('callResult') > 0) client.emit('callResult', { outbound: false, messageId, method, params, result });
    if (result === NOREPLY) return;
    try {
      validator?.validate(`urn:${method}.conf`, result);
    } catch (error) {
      client.emit('strictValidationFailure', { messageId, method, params, result, error, outbound: true, isCall: false });
      throw createRPCError('InternalError');
    }
    payload = [3, messageId, result];
  } catch (error) {
    const e = error as { rpcErrorCode?: string; rpcErrorMessage?: string; message?: string; details?: unknown };
    let code = e.rpcErrorCode || 'GenericError';
    // OCPP 1.6J's spellings (its errata v1.0, section 5), as the library answers them.
    if (client._protocol === 'ocpp1.6' && code === 'FormatViolation') code = 'FormationViolation';
    if (client._protocol === 'ocpp1.6' && code === 'OccurenceConstraintViolation') code = 'OccurrenceConstraintViolation';
    payload = [4, messageId, code, e.message || e.rpcErrorMessage || '', e.details || {}];
    if (client.listenerCount('callError') > 0) client.emit('callError', { outbound: false, messageId, method, params, error });
  } finally {
    client._pendingResponses.delete(messageId);
  }
  if (client.listenerCount('response') > 0) client.emit('response', { outbound: true, payload });
  try {
    client.sendRaw(JSON.stringify(payload));
  } catch {
    void client.close({ code: 1000, reason: 'Unable to send call result' });
  }
  if (answerOutChannel.hasSubscribers) answerOutChannel.publish({ identity: String(client.identity), messageId, atMs: performance.now() } satisfies AnswerOut);
}

function wrap(client: any, log: Logger, dispatching: () => { text: string; frame: unknown } | undefined, inbound: InboundHandlers): OcppConnection<any, any> {
  const answer = async (action: string, run: () => unknown) => {
    try {
      return await run();
    } catch (error) {
      throw rpcErrorOf(error, action, client, log);
    }
  };
  return {
    identity: client.identity,
    protocol: client.protocol,
    async call(action, req, timeoutMs) {
      try {
        return await client.call(action, req, timeoutMs === undefined ? undefined : { callTimeoutMs: timeoutMs });
      } catch (error) {
        throw toCallError(action, error);
      }
    },
    handle(action, handler) {
      inbound.byAction.set(action, handler);
      client.handle(action, ({ params }: { params: any }) => answer(action, () => handler(params)));
    },
    inboundParamsText(action) {
      const now = dispatching();
      return now && callParamsText(now.text, now.frame, action);
    },
    handleOther(handler) {
      inbound.other = handler;
      client.handle(({ method, params }: { method: string; params: unknown }) => answer(method, () => handler(method, params)));
    },
    onInboundCall(listener) {
      client.on('call', (event: { outbound: boolean; payload: unknown[] }) => {
        if (!event.outbound) listener(String(event.payload?.[2]));
      });
    },
    onValidationFailure(listener) {
      client.on('strictValidationFailure', (event: any) =>
        listener({ action: event.method, outbound: !!event.outbound, isCall: !!event.isCall, message: String(event.error?.message ?? event.error) }),
      );
    },
    onClose(listener) {
      client.once('close', (info: { code: number; reason: string }) => listener({ code: info?.code ?? 1006, reason: String(info?.reason ?? '') }));
    },
    /** Never rejects: a socket that fails while closing is closed all the same (guard() reports it). */
    async close(code = 1000, reason = '') {
      try {
        await client.close({ code, reason });
      } catch {
        client._ws?.terminate?.();
      }
    },
  };
}

/** The client certificate of a TLS connection (TLS has already checked chain and dates). */
function clientCertificateOf(request: IncomingMessage | undefined): Pick<Handshake, 'clientCertificate'> {
  const socket = request?.socket as TLSSocket | undefined;
  if (!socket || typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return {};
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return {};
  const cn = cert.subject.CN;
  const altNames = (cert.subjectaltname ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^(DNS|URI|email):/.test(s))
    .map((s) => s.slice(s.indexOf(':') + 1));
  return { clientCertificate: { ...(typeof cn === 'string' ? { subjectCN: cn } : {}), altNames } };
}

/** Starts the OCPP-J WebSocket endpoint on our own HTTP(S) server; resolves once it listens. */
export async function listenOcpp(options: ListenOptions): Promise<OcppListener> {
  const rpc = new RPCServer({
    protocols: options.protocols,
    strictMode: true,
    callTimeoutMs: options.callTimeoutMs,
    // OCPP frames are small; ws would otherwise buffer up to 100 MiB from one socket.
    wssOptions: { maxPayload: MAX_FRAME_BYTES },
  });
  rpc.auth((accept, reject, handshake) => {
    const verdict = options.verify({
      identity: handshake.identity,
      endpoint: handshake.endpoint,
      password: handshake.password,
      remoteAddress: handshake.remoteAddress,
      ...clientCertificateOf(handshake.request),
    });
    if (verdict.accept) accept({});
    else reject(verdict.status, verdict.message);
  });
  rpc.on('client', (client: any) => {
    try {
      const inbound: InboundHandlers = { byAction: new Map() };
      options.onConnection(wrap(client, options.log, guard(client, options, inbound), inbound));
    } catch (error) {
      options.log.error({ err: error, chargerId: client.identity }, 'could not set up an OCPP connection; closing it');
      void client.close({ code: 1011, reason: 'internal error' });
    }
  });
  rpc.on('upgradeAborted', (event: any) =>
    options.log.debug({ chargerId: event.identity, reason: event.error?.message }, 'OCPP handshake refused'),
  );
  rpc.on('error', (error: unknown) => options.log.error({ err: error }, 'OCPP WebSocket server error'));

  const notFound = (_req: IncomingMessage, res: ServerResponse) => {
    res.statusCode = 404;
    res.end();
  };
  const http: Server = options.tls
    ? createHttpsServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ca: options.tls.ca,
          minVersion: 'TLSv1.2',
          requestCert: options.tls.requireClientCert === true,
          rejectUnauthorized: options.tls.requireClientCert === true,
        },
        notFound,
      )
    : createHttpServer(notFound);
  http.on('tlsClientError', (error: Error, socket: TLSSocket) => {
    options.onFault?.('tls-handshake-failed', { remoteAddress: socket.remoteAddress, message: error.message });
    options.log.debug({ remoteAddress: socket.remoteAddress, reason: error.message }, 'OCPP TLS handshake refused');
  });
  http.on('clientError', (error: Error, socket: { destroy(): void }) => {
    options.log.debug({ reason: error.message }, 'malformed HTTP request on the OCPP port');
    socket.destroy();
  });
  http.on('upgrade', rpc.handleUpgrade);
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen({ host: options.host, port: options.port }, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw new OcppListenError(`cannot listen for OCPP on ${options.host}:${options.port}: ${(error as Error).message}`, { cause: error });
  }
  http.on('error', (error) => options.log.error({ err: error }, 'OCPP HTTP server error'));
  const port = (http.address() as AddressInfo).port;
  return {
    port,
    async close() {
      try {
        await rpc.close({ code: 1001, reason: 'central system stopping' });
      } catch (error) {
        options.log.debug({ err: error }, 'OCPP WebSocket server closed with an error');
      }
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
