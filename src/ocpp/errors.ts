import { EmsError } from '../errors.ts';

/** Raised by the OCPP central system. */
export class OcppError extends EmsError {
  override readonly code: string = 'OCPP_ERROR';
}

/** The OCPP listener could not start (port taken, TLS files unreadable). */
export class OcppListenError extends OcppError {
  override readonly code = 'OCPP_LISTEN_FAILED';
}

/** A call to a charger failed: CALLERROR, timeout, or the socket went away. */
export class OcppCallError extends OcppError {
  override readonly code = 'OCPP_CALL_FAILED';
  constructor(
    message: string,
    /** The OCPP-J error code when the charger answered with a CALLERROR (or ocpp-rpc raised one). */
    readonly rpcErrorCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A charger is not connected, so nothing can be sent to it. */
export class ChargerOfflineError extends OcppError {
  override readonly code = 'OCPP_CHARGER_OFFLINE';
}

/**
 * A handler refuses an inbound call with a specific OCPP-J error code (for example an unknown
 * connectorId: PropertyConstraintViolation). The transport answers it as that CALLERROR.
 */
export class OcppCallRefused extends OcppError {
  override readonly code = 'OCPP_CALL_REFUSED';
  constructor(
    readonly rpcErrorCode:
      | 'PropertyConstraintViolation'
      | 'OccurrenceConstraintViolation'
      | 'NotSupported'
      | 'SecurityError'
      | 'GenericError'
      // a relay (src/upstream) passes on what the other side answered
      | 'NotImplemented'
      | 'InternalError'
      | 'ProtocolError'
      | 'TypeConstraintViolation'
      | 'FormationViolation'
      | 'FormatViolation',
    message: string,
  ) {
    super(message);
  }
}
