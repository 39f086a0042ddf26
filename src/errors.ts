/**
 * A synth-time error for a bad prop: it names the prop, shows the value and says what to do.
 *
 * Not exported from the package (jsii cannot model subclasses of Error); callers match on the
 * message, which always starts with `Invalid <prop>`.
 */
export class MigratedServiceError extends Error {
  constructor(prop: string, value: unknown, problemAndFix: string) {
    super(`Invalid ${prop} ${show(value)}: ${problemAndFix}`);
    this.name = 'MigratedServiceError';
  }
}

/** Show a value the way the user wrote it: strings quoted, arrays and objects as JSON. */
function show(value: unknown): string {
  if (value === undefined) return '(undefined)';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
