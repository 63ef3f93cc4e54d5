// #10: the EMS stopped with SIGKILL and started again on the same config and database; the cars keep
// charging, nobody is paused, no connector stays reserved at its max (see ems-restart-case.ts).
import { restartCase } from './ems-restart-case.ts';

restartCase('SIGKILL');
