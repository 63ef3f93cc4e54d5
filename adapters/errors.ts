// Errors raised by device adapters. adapters/ may not import src/, so this mirrors EmsError's shape
// (a stable `code` and the underlying `cause`); the shell treats both alike.

export class DeviceError extends Error {
  readonly code: string = 'DEVICE_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No answer within the request timeout (also what a wrong unit id looks like). */
export class ModbusTimeoutError extends DeviceError {
  override readonly code = 'MODBUS_TIMEOUT';
}

/** The device answered with a Modbus exception (1 illegal function, 2 illegal address, 3 illegal value, 4 device failure...). */
export class ModbusExceptionError extends DeviceError {
  override readonly code = 'MODBUS_EXCEPTION';
  constructor(
    message: string,
    readonly exceptionCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The line is down: connect refused, socket closed, serial port missing. */
export class ModbusConnectionError extends DeviceError {
  override readonly code = 'MODBUS_CONNECTION';
}

/** The device answered, but not with something we can use (no SunSpec map, missing model, malformed frame). */
export class DeviceProtocolError extends DeviceError {
  override readonly code = 'DEVICE_PROTOCOL';
}

/** A value outside the physically possible range (SoC 140 %, 10^9 W). */
export class ReadingRangeError extends DeviceError {
  override readonly code = 'READING_OUT_OF_RANGE';
}

/** An MQTT source has not published within its staleness timeout, or its payload was unusable. */
export class MqttSourceError extends DeviceError {
  override readonly code = 'MQTT_SOURCE';
}

/** The adapter cannot do what was asked (no control model, read-only device). */
export class DeviceCapabilityError extends DeviceError {
  override readonly code = 'DEVICE_CAPABILITY';
}

/** A source has not delivered within its staleness timeout: its last value must not be used. */
export class StaleSourceError extends DeviceError {
  override readonly code = 'DEVICE_STALE';
}
