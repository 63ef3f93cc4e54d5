import { EmsError } from '../errors.ts';

/** The VTN could not be reached, or answered with an HTTP error. */
export class OpenAdrTransportError extends EmsError {
  override readonly code = 'OPENADR_TRANSPORT';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A message from the VTN is malformed or not what the protocol allows at this point. */
export class OpenAdrProtocolError extends EmsError {
  override readonly code = 'OPENADR_PROTOCOL';
}

/** OAuth2 or registration was refused. */
export class OpenAdrAuthError extends EmsError {
  override readonly code = 'OPENADR_AUTH';
}

/** The VTN does not know this VEN's venID / registrationID any more (452 invalid ID, 463 not registered). */
export class OpenAdrUnknownVenError extends EmsError {
  override readonly code = 'OPENADR_UNKNOWN_VEN';
}

/** 2.0b response codes that mean "the ids you sent are not (or no longer) known here". */
export const UNKNOWN_VEN_CODES: ReadonlySet<number> = new Set([452, 463]);
