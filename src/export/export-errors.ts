import { EmsError } from '../errors.ts';

export class InfluxWriteError extends EmsError {
  override readonly code = 'INFLUX_WRITE_FAILED';
}

export class InfluxTimeoutError extends EmsError {
  override readonly code = 'INFLUX_TIMEOUT';
}
