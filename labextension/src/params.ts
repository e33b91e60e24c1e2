/**
 * The "Run flow" dialog's inputs, generated from a flow's parameter defaults,
 * and the parsing of what the user typed back into parameter values.
 *
 * A boolean default gets a checkbox, a number a number field, a string a
 * text field, anything else (lists, dicts, null, no default) a JSON field.
 * Only values the user changed are sent, so a default the backend keeps as a
 * repr (not JSON-able) is never sent back as a string.
 */

export interface FlowParameter {
  name: string;
  default: unknown;
  required: boolean;
}

export type InputKind = 'checkbox' | 'number' | 'text' | 'json';

/** What one input holds: the text of a field, or the checked state of a checkbox. */
export type RawValue = string | boolean;

export class ParameterValueError extends Error {
  constructor(
    readonly parameter: string,
    message: string
  ) {
    super(message);
    this.name = 'ParameterValueError';
  }
}

export function inputKind(parameter: FlowParameter): InputKind {
  if (parameter.required) {
    return 'json';
  }
  switch (typeof parameter.default) {
    case 'boolean':
      return 'checkbox';
    case 'number':
      return 'number';
    case 'string':
      return 'text';
    default:
      return 'json';
  }
}

/** What the input shows before the user touches it. */
export function initialValue(parameter: FlowParameter): RawValue {
  const kind = inputKind(parameter);
  if (parameter.required) {
    return '';
  }
  if (kind === 'checkbox') {
    return parameter.default as boolean;
  }
  if (kind === 'number' || kind === 'text') {
    return String(parameter.default);
  }
  return JSON.stringify(parameter.default);
}

/** The value of one input, or a ParameterValueError naming the parameter and what it accepts. */
export function parseValue(parameter: FlowParameter, raw: RawValue): unknown {
  const kind = inputKind(parameter);
  if (kind === 'checkbox') {
    if (typeof raw !== 'boolean') {
      throw new ParameterValueError(parameter.name, `parameter ${parameter.name} takes true or false, got ${JSON.stringify(raw)}`);
    }
    return raw;
  }
  const text = String(raw);
  if (kind === 'text') {
    return text;
  }
  if (kind === 'number') {
    const value = text.trim() === '' ? NaN : Number(text);
    if (!Number.isFinite(value)) {
      throw new ParameterValueError(parameter.name, `parameter ${parameter.name} takes a number, got ${JSON.stringify(text)}`);
    }
    return value;
  }
  if (text.trim() === '') {
    throw new ParameterValueError(
      parameter.name,
      `parameter ${parameter.name} needs a value as JSON, e.g. "text", 3, true or ["a", "b"]`
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ParameterValueError(
      parameter.name,
      `parameter ${parameter.name} takes JSON (e.g. "text", 3, true or ["a", "b"]); ${text} is not valid JSON: ` +
        (error as Error).message
    );
  }
}

export interface CollectedParameters {
  /** Values to send: the required ones and those changed from their defaults. */
  values: Record<string, unknown>;
  /** One message per parameter whose input could not be read. */
  errors: Record<string, string>;
}

/** Read every input; a parameter left at its default is not sent, so the flow's default applies. */
export function collectParameters(parameters: FlowParameter[], raws: Record<string, RawValue>): CollectedParameters {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const parameter of parameters) {
    const raw = raws[parameter.name] ?? initialValue(parameter);
    if (!parameter.required && raw === initialValue(parameter)) {
      continue;
    }
    try {
      values[parameter.name] = parseValue(parameter, raw);
    } catch (error) {
      errors[parameter.name] = (error as Error).message;
    }
  }
  return { values, errors };
}
