// When OCPP frames cross the EMS's edge, for whoever measures the EMS's own share of a round trip
// (bench/loop-delay-probe.mjs: a relayed frame's residence, charger frame in → upstream frame out
// and CSMS answer in → charger answer out). Published on node:diagnostics_channel, so nothing is
// built or timed unless a subscriber is there (`hasSubscribers`); the EMS itself never reads them.
// Times are performance.now() ms of the EMS process.
import diagnostics from 'node:diagnostics_channel';

/** A charger's CALL, as the transport reads it (before its schema check and handler). */
export interface CallIn {
  identity: string;
  messageId: string;
  action: string;
  atMs: number;
}

/** The EMS's answer (CALLRESULT or CALLERROR) to a charger's CALL, right after it was written to the socket. */
export interface AnswerOut {
  identity: string;
  messageId: string;
  atMs: number;
}

/** A CALL on the upstream socket (`identity`: the charger's id, as on the charger's side): written, or answered by the CSMS. */
export interface UpstreamWire {
  identity: string;
  action: string;
  atMs: number;
}

export const callInChannel = diagnostics.channel('ems:ocpp:call-in');
export const answerOutChannel = diagnostics.channel('ems:ocpp:answer-out');
export const upstreamCallOutChannel = diagnostics.channel('ems:upstream:call-out');
export const upstreamAnswerInChannel = diagnostics.channel('ems:upstream:answer-in');
