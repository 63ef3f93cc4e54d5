// A real `ems run` on a row of chargers, for the tests that kill or restart it: the site config,
// the admin API (one login per process), a restart on the same folder, database and ports, and
// the clean-up of everything the test started.
import { rmSync } from 'node:fs';
import { startEms, type EmsPlace, type EmsProcess } from './ems-process.ts';

export interface RowSite {
  name: string;
  /** The circuit every charger hangs off, A per phase (the grid is 100 A, no safety margin). */
  rowA: number;
  chargers: string[];
  /** Tags TAG1..TAGn are known, one per charger. */
  control?: Record<string, unknown>;
}

/** One circuit ("row") of chargers under a 100 A grid, no safety margin, 60 s TxProfiles, no deadband. */
export function rowConfig(site: RowSite): Record<string, any> {
  return {
    site: { name: site.name, timezone: 'UTC' },
    grid: { maxCurrent: 100, safetyMargin: 0 },
    control: { profileDurationS: 60, deadbandA: 0, ...site.control },
    circuits: [{ id: 'row', maxCurrent: site.rowA, chargers: site.chargers }],
    chargers: site.chargers.map((id) => ({ id })),
    idTags: site.chargers.map((_, i) => ({ idTag: `TAG${i + 1}` })),
  };
}

export interface ApiAnswer {
  status: number;
  body: any;
}

/** The EMS process under test, started again on its own database after it died or stopped. */
export class EmsUnderTest {
  ems: EmsProcess | undefined;
  private place: EmsPlace | undefined;
  private token: { pid: number | undefined; value: string } | undefined;
  private readonly dirs: string[] = [];

  constructor(private readonly password: string) {}

  get process(): EmsProcess {
    if (!this.ems) throw new Error('the EMS was not started');
    return this.ems;
  }

  /** Starts it, on a new folder the first time, on the same folder, database and ports after that. */
  async start(config: Record<string, any>): Promise<EmsProcess> {
    this.ems = await startEms(config, { EMS_ADMIN_PASSWORD: this.password }, this.place);
    if (!this.place) {
      this.place = { dir: this.ems.dir, ocppPort: this.ems.ocppPort, httpPort: this.ems.httpPort };
      this.dirs.push(this.ems.dir);
    }
    return this.ems;
  }

  get ocppEndpoint(): string {
    return `ws://127.0.0.1:${this.process.ocppPort}/ocpp`;
  }

  /** Stops it with a signal and waits until it is gone. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const ems = this.process;
    ems.kill(signal);
    await ems.exited;
  }

  /** An admin API call (logged in once per process). */
  async api(path: string, init: RequestInit = {}): Promise<ApiAnswer> {
    const ems = this.process;
    let token = this.token;
    if (!token || token.pid !== ems.child.pid) {
      const login = await request(ems.httpPort, '/api/v1/auth/login', undefined, { method: 'POST', body: JSON.stringify({ username: 'admin', password: this.password }) });
      token = this.token = { pid: ems.child.pid, value: login.body.token as string };
    }
    return request(ems.httpPort, path, token.value, init);
  }

  /** Pauses or resumes the session on a connector through the API; returns the HTTP status. */
  async pause(chargerId: string, connectorId: number, paused: boolean): Promise<number> {
    return (await this.api(`/api/v1/connectors/${chargerId}/${connectorId}/session`, { method: 'PATCH', body: JSON.stringify({ paused }) })).status;
  }

  /** Ends the process if it still runs and removes its folder. */
  async cleanup(): Promise<void> {
    if (this.ems?.alive()) await this.kill('SIGTERM');
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

async function request(port: number, path: string, token: string | undefined, init: RequestInit): Promise<ApiAnswer> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
  });
  return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
}
