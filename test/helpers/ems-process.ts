// A real `ems run` child process on loopback ports, for tests that must see what a user sees: the
// process alive (or its exit code), its HTTP and OCPP ports, its stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
    server.on('error', reject);
  });
}

export interface EmsProcess {
  child: ChildProcess;
  dir: string;
  ocppPort: number;
  httpPort: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
  alive(): boolean;
  kill(signal?: NodeJS.Signals): void;
}

export interface EmsPlace {
  /** The folder of the config and the database: give the one of a process that died to restart it. */
  dir?: string;
  ocppPort?: number;
  httpPort?: number;
  /** The entry to run (default bin/ems.js, the sources through tsx), e.g. a compiled build's dist/bin/ems.js. */
  entry?: string;
}

/**
 * Starts `ems run` with `config` (ports and storage filled in) and waits until it serves HTTP.
 * `place`: the folder and ports of an earlier process, to start it again on the same database.
 */
export async function startEms(config: Record<string, any>, env: Record<string, string> = {}, place: EmsPlace = {}): Promise<EmsProcess> {
  // A port picked free can be taken by another process before ems binds it (other test files run
  // alongside): then, and only for ports picked here, it starts again on fresh ones.
  const picked = place.ocppPort === undefined || place.httpPort === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEmsOnce(config, env, place);
    } catch (error) {
      if (!picked || attempt >= 3 || !/EADDRINUSE|already in use|port is in use/i.test((error as Error).message)) throw error;
    }
  }
}

async function startEmsOnce(config: Record<string, any>, env: Record<string, string>, place: EmsPlace): Promise<EmsProcess> {
  const dir = place.dir ?? mkdtempSync(join(tmpdir(), 'ems-proc-'));
  const ocppPort = place.ocppPort ?? (await freePort());
  // Two free ports in a row can be the same one (the first was closed before the second was asked for).
  let httpPort = place.httpPort ?? (await freePort());
  while (httpPort === ocppPort) httpPort = await freePort();
  const full = {
    ...config,
    ocpp: { host: '127.0.0.1', ...config.ocpp, port: ocppPort },
    http: { host: '127.0.0.1', ...config.http, port: httpPort },
    storage: { path: join(dir, 'ems.sqlite') },
  };
  const configPath = join(dir, 'site.yaml');
  writeFileSync(configPath, stringify(full));
  const child = spawn(process.execPath, [place.entry ?? join(root, 'bin/ems.js'), 'run', '--config', configPath], {
    cwd: dir,
    env: { ...process.env, EMS_LOG_LEVEL: 'info', EMS_ADMIN_PASSWORD: 'process-test-password-1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  // Keep the tail only: a long benchmark logs megabytes.
  child.stdout!.on('data', (d) => (out = (out + d).slice(-1_000_000)));
  child.stderr!.on('data', (d) => (err = (err + d).slice(-1_000_000)));
  const exited = new Promise<number | string>((resolveExit) => child.once('exit', (code, signal) => resolveExit(code ?? signal ?? -1)));
  let ended = false;
  void exited.then(() => (ended = true));
  const ready = new Promise<void>((resolveReady, reject) => {
    const onData = () => {
      if (out.includes('EMS running')) {
        child.stdout!.off('data', onData);
        resolveReady();
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`ems run exited (${code}) before it was ready: ${err}${out.slice(-2000)}`)));
  });
  await ready;
  return {
    child,
    dir,
    ocppPort,
    httpPort,
    stdout: () => out,
    stderr: () => err,
    exited,
    alive: () => !ended,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
}
