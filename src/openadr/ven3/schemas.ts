// zod validation of everything a 3.1 VTN sends, following the official OpenAPI schemas
// (openapi.d.ts), lenient where real VTNs are known to differ (date formats, nulls).
import { z } from 'zod';
import { parseDateMs, parseIsoDurationMs } from '../iso-duration.ts';

const objectId = z.string().min(1).max(128);
const dateTime = z.string().refine((s) => {
  try {
    parseDateMs(s);
    return true;
  } catch {
    return false;
  }
}, 'not a date-time');
const duration = z.string().refine((s) => {
  try {
    parseIsoDurationMs(s);
    return true;
  } catch {
    return false;
  }
}, 'not an ISO 8601 duration');

export const intervalPeriodSchema = z.looseObject({
  start: dateTime.nullish(),
  duration: duration.nullish(),
  randomizeStart: duration.nullish(),
});

const point = z.object({ x: z.number(), y: z.number() });
export const valuesMapSchema = z.looseObject({
  type: z.string().min(1).max(128),
  values: z.array(z.union([z.number(), z.string(), z.boolean(), point])),
});

export const intervalSchema = z.looseObject({
  id: z.number().int(),
  intervalPeriod: intervalPeriodSchema.nullish(),
  payloads: z.array(valuesMapSchema),
});

const payloadDescriptor = z.looseObject({
  payloadType: z.string().min(1).max(128),
  units: z.string().nullish(),
  currency: z.string().nullish(),
});

const objectMetadata = {
  id: objectId,
  createdDateTime: dateTime.nullish(),
  modificationDateTime: dateTime.nullish(),
};

export const eventSchema = z.looseObject({
  ...objectMetadata,
  programID: objectId,
  eventName: z.string().nullish(),
  priority: z.number().int().min(0).nullish(),
  intervalPeriod: intervalPeriodSchema.nullish(),
  payloadDescriptors: z.array(payloadDescriptor).nullish(),
  reportDescriptors: z.array(z.looseObject({ payloadType: z.string().min(1) })).nullish(),
  intervals: z.array(intervalSchema).nullish(),
});
export type Vtn3Event = z.infer<typeof eventSchema>;

export const programSchema = z.looseObject({
  ...objectMetadata,
  programName: z.string().min(1).max(128),
  payloadDescriptors: z.array(z.looseObject({ payloadType: z.string().min(1), units: z.string().nullish(), currency: z.string().nullish() })).nullish(),
});
export type Vtn3Program = z.infer<typeof programSchema>;

export const venSchema = z.looseObject({ ...objectMetadata, venName: z.string().min(1) });
export const resourceSchema = z.looseObject({ ...objectMetadata, resourceName: z.string().min(1), venID: objectId.nullish() });
export const reportSchema = z.looseObject({ ...objectMetadata });
export const subscriptionSchema = z.looseObject({ ...objectMetadata });

export const authServerInfoSchema = z.looseObject({ tokenURL: z.string().url() });
export const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'token_type must be Bearer'),
  expires_in: z.number().positive().optional(),
});

export const notificationSchema = z.looseObject({
  objectType: z.enum(['PROGRAM', 'EVENT', 'REPORT', 'SUBSCRIPTION', 'VEN', 'RESOURCE']),
  operation: z.enum(['CREATE', 'READ', 'UPDATE', 'DELETE']),
  object: z.record(z.string(), z.unknown()),
});

export const notifiersSchema = z.looseObject({
  WEBHOOK: z.boolean().optional(),
  MQTT: z
    .looseObject({
      URIS: z.array(z.string().min(1)).min(1),
      serialization: z.string().optional(),
      authentication: z.union([
        z.looseObject({ method: z.literal('ANONYMOUS') }),
        z.looseObject({ method: z.literal('OAUTH2_BEARER_TOKEN'), username: z.string() }),
        z.looseObject({ method: z.literal('CERTIFICATE'), caCert: z.string(), clientCert: z.string(), clientKey: z.string() }),
      ]),
    })
    .optional(),
});

export const notifierTopicsSchema = z.looseObject({
  topics: z.looseObject({ CREATE: z.string().optional(), UPDATE: z.string(), DELETE: z.string(), ALL: z.string().optional() }),
});
