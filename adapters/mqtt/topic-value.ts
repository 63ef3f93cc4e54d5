// Pure: one MQTT payload -> a number in units. Plain numbers ("1234.5") and JSON ({"W": 1234.5},
// Victron's {"value": 936}) are accepted; {"value": null} means "unknown" (null), anything else
// unusable throws with a reason. Numbers are read strictly (adapters/strict-number.ts): no hex,
// no "Infinity"; a JSON string is accepted only when it holds plain decimal text ("12.5").
import { MqttSourceError } from '../errors.ts';
import { parseDecimal, strictNumber } from '../strict-number.ts';
import { parseJsonPath, selectJsonPath, type PathStep } from './json-path.ts';

export interface TopicValueSpec {
  jsonPath?: string;
  scale?: number;
}

export class TopicValueParser {
  private readonly steps: PathStep[] | undefined;
  constructor(private readonly spec: TopicValueSpec) {
    this.steps = spec.jsonPath ? parseJsonPath(spec.jsonPath) : undefined;
  }

  parse(payload: Buffer | string): number | null {
    const text = payload.toString().trim();
    if (text === '') throw new MqttSourceError('empty payload');
    let value: unknown;
    if (this.steps) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new MqttSourceError(`payload is not JSON: ${clip(text)}`, { cause: error });
      }
      value = selectJsonPath(json, this.steps);
      if (value === undefined) throw new MqttSourceError(`${this.spec.jsonPath} not found in ${clip(text)}`);
    } else {
      value = parseDecimal(text) ?? tryJson(text);
    }
    if (value === null) return null;
    const number = strictNumber(value);
    if (number === undefined) throw new MqttSourceError(`not a plain decimal number: ${clip(text)}`);
    // toPrecision: 5100 × 0.001 is 5.1, not 5.1000000000000005.
    return Number((number * (this.spec.scale ?? 1)).toPrecision(12));
  }
}

function tryJson(text: string): unknown {
  try {
    const json = JSON.parse(text) as unknown;
    // Victron-style {"value": x} without a configured path.
    if (json && typeof json === 'object' && 'value' in json) return (json as { value: unknown }).value;
    return json;
  } catch (error) {
    throw new MqttSourceError(`not a number: ${clip(text)}`, { cause: error });
  }
}

const clip = (text: string) => (text.length > 80 ? `${text.slice(0, 77)}...` : text);
