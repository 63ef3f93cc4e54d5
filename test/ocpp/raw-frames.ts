// Raw WebSocket frames a hostile charger can send: crafted on the wire (client frames are masked,
// here with a zero key so the payload goes as is), so they can be invalid UTF-8 or lie about size.
import WebSocket from 'ws';

/** One client-to-server frame; `declaredLength` lies about the payload size when given. */
export function maskedFrame(opcode: number, payload: Buffer, declaredLength = payload.length): Buffer {
  let header: Buffer;
  if (declaredLength < 126) {
    header = Buffer.from([0x80 | opcode, 0x80 | declaredLength]);
  } else if (declaredLength < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(declaredLength, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(declaredLength), 2);
  }
  return Buffer.concat([header, Buffer.alloc(4), payload]);
}

export const INVALID_UTF8_FRAME = maskedFrame(0x1, Buffer.from([0xff, 0xfe, 0xfd]));
/** Announces 64 MiB: over the 4 MiB frame limit. */
export const OVERSIZE_FRAME = maskedFrame(0x1, Buffer.alloc(16), 64 * 1024 * 1024);
export const deepFrame = (id: string, levels = 5_000) => `[2,"${id}","Heartbeat",${'['.repeat(levels)}${']'.repeat(levels)}]`;

/** A raw OCPP-J socket that records every frame it receives and how it closed. */
export class RawCharger {
  readonly frames: unknown[][] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: { match: (f: unknown[]) => boolean; resolve: (f: unknown[]) => void }[] = [];
  private closeWaiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      let frame: unknown[];
      try {
        frame = JSON.parse(String(data)) as unknown[];
      } catch {
        return;
      }
      this.frames.push(frame);
      for (const w of [...this.waiters]) if (w.match(frame)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(frame);
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      for (const resolve of this.closeWaiters.splice(0)) resolve();
    });
  }

  static async open(port: number, identity: string, options: WebSocket.ClientOptions & { scheme?: 'ws' | 'wss' } = {}): Promise<RawCharger> {
    const ws = new WebSocket(`${options.scheme ?? 'ws'}://127.0.0.1:${port}/ocpp/${identity}`, ['ocpp1.6'], options);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return new RawCharger(ws);
  }

  send(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  /** Writes bytes straight to the TCP socket, bypassing the WebSocket encoder. */
  writeRaw(bytes: Buffer): void {
    const socket = (this.ws as unknown as { _socket?: { writable: boolean; write(b: Buffer): void } })._socket;
    if (socket?.writable) socket.write(bytes);
  }

  /** The first frame matching, now or later; rejects when the socket closes first. */
  next(match: (f: unknown[]) => boolean): Promise<unknown[]> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ match, resolve });
      this.whenClosed().then(() => reject(new Error(`socket closed (${this.closed?.code}) before a matching frame; got ${JSON.stringify(this.frames).slice(0, 500)}`)));
    });
  }

  answerTo(id: string): Promise<unknown[]> {
    return this.next((f) => (f[0] === 3 || f[0] === 4) && f[1] === id);
  }

  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  terminate(): void {
    this.ws.terminate();
  }
}
