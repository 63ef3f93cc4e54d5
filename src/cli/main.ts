// `ems <command>`: the command-line entry. Each command returns an exit code; nothing here
// calls process.exit, so commands can be tested in-process.
import { parseArgs } from 'node:util';

const USAGE = `Usage:
  ems run --config site.yaml          run the EMS for a real site
  ems demo [--config demo.yaml] [--chargers N] [--speed X] [--http-port P] [--ocpp-port P] [--mqtt URL] [--start HH:MM]
                                      a simulated site with chargers over real OCPP, and the dashboard
  ems check-config site.yaml          validate a config: exit 0, or exit 1 with one line per problem
  ems simulate --config site.yaml --sessions sessions.json --out report.json
                                      replay sessions and compare with baselines`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
      if (!values.config) return usage('ems run needs --config FILE');
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
          quiet: { type: 'boolean' },
        },
      });
      const { runDemo } = await import('../demo/run-demo.ts');
      return runDemo({
        configPath: values.config,
        chargers: optionalNumber(values.chargers),
        speed: optionalNumber(values.speed),
        httpPort: optionalNumber(values['http-port']),
        ocppPort: optionalNumber(values['ocpp-port']),
        mqtt: values.mqtt,
        start: values.start,
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
      return runSimulateCommand(rest, { stdout: (l: string) => console.log(l), stderr: (l: string) => console.error(l) });
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
  if (!Number.isFinite(n)) throw new Error(`not a number: ${value}`);
  return n;
}
