// `ems <command>`: the command-line entry. Each command returns an exit code; nothing here
// calls process.exit, so commands can be tested in-process.
import { parseArgs } from 'node:util';

const USAGE = `Usage:
  ems run --config site.yaml [--log-format json|pretty|auto]
                                      run the EMS for a real site (logs: readable on a terminal, JSON otherwise)
  ems demo [--config demo.yaml] [--chargers N] [--speed X] [--http-port P] [--ocpp-port P] [--mqtt URL] [--start HH:MM]
           [--data-dir DIR] [--quiet] [--log-format json|pretty|auto]
                                      a simulated site with chargers over real OCPP, and the dashboard
                                      (--speed 60: a simulated hour per minute; --start 11:00: the
                                      simulated day starts at 11:00; npm start -- --speed 60 --start 11:00;
                                      --data-dir DIR: its database and config copy in DIR, default data/,
                                      one demo per folder)
  ems check-config site.yaml          validate a config: exit 0, or exit 1 with one line per problem
  ems simulate --config site.yaml --sessions sessions.json --out report.json
                                      replay sessions and compare with baselines`;

/** `--log-format` for the process's root logger (read by createLogger through EMS_LOG_FORMAT). */
function applyLogFormat(value: string | undefined): boolean {
  if (value === undefined) return true;
  if (!['json', 'pretty', 'auto'].includes(value)) return false;
  process.env.EMS_LOG_FORMAT = value;
  return true;
}

/** A mistyped command line: one line saying what is wrong, then the usage; never a stack trace. */
class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `ems simulate --help` prints simulate's own options (its command answers --help itself).
  if (command !== undefined && command !== 'simulate' && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(USAGE);
    return 0;
  }
  try {
    return await runCommand(command, rest);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) return usage((error as Error).message);
    throw error;
  }
}

async function runCommand(command: string | undefined, rest: string[]): Promise<number> {
  switch (command) {
    case 'run': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' }, 'log-format': { type: 'string' } } });
      if (!values.config) return usage('ems run needs --config FILE');
      if (!applyLogFormat(values['log-format'])) return usage(`--log-format must be one of json, pretty, auto (got ${values['log-format']})`);
      const { runSite } = await import('./run-site.ts');
      return runSite(values.config);
    }
    case 'demo': {
      const { values } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string', short: 'c' },
          chargers: { type: 'string' },
          speed: { type: 'string' },
          'http-port': { type: 'string' },
          'ocpp-port': { type: 'string' },
          mqtt: { type: 'string' },
          start: { type: 'string' },
          'data-dir': { type: 'string' },
          quiet: { type: 'boolean' },
          'log-format': { type: 'string' },
        },
      });
      if (!applyLogFormat(values['log-format'])) return usage(`--log-format must be one of json, pretty, auto (got ${values['log-format']})`);
      const { runDemo } = await import('../demo/run-demo.ts');
      return runDemo({
        configPath: values.config,
        chargers: optionalNumber(values.chargers),
        speed: optionalNumber(values.speed),
        httpPort: optionalNumber(values['http-port']),
        ocppPort: optionalNumber(values['ocpp-port']),
        mqtt: values.mqtt,
        start: values.start,
        dataDir: values['data-dir'],
        quiet: values.quiet ?? false,
      });
    }
    case 'check-config': {
      const file = rest[0];
      if (!file) return usage('ems check-config needs a FILE');
      const { checkConfig } = await import('./check-config.ts');
      return checkConfig(file, { stdout: (l) => console.log(l), stderr: (l) => console.error(l) });
    }
    case 'simulate': {
      const { runSimulateCommand } = await import('../simulate/index.ts');
      return runSimulateCommand(rest, {
        stdout: (l: string) => console.log(l),
        stderr: (l: string) => console.error(l),
        stderrIsTty: process.stderr.isTTY === true,
        stderrRaw: (text: string) => void process.stderr.write(text),
      });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      return usage(`unknown command "${command}"`);
  }
}

function usage(problem: string): number {
  console.error(`ems: ${problem}\n\n${USAGE}`);
  return 1;
}

function optionalNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`not a number: ${value}`);
  return n;
}
