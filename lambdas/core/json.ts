/** A JSON object as parsed: string keys, values not yet checked. */
export type JsonObject = Record<string, unknown>;

/**
 * The outcome of {@link parseJsonObject}: the object, or why the text is not one — `syntax` (not
 * JSON at all; `cause` is JSON.parse's SyntaxError) or `not-object` (JSON, but an array, a
 * primitive or null).
 */
export type ParsedJsonObject =
  | { ok: true; value: JsonObject }
  | { ok: false; error: 'syntax'; cause: unknown }
  | { ok: false; error: 'not-object' };

/** True for a plain JSON object: not null, not an array, not a primitive. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses `text` as JSON and accepts only an object (`{...}`): the shape of a control message, a
 * management request body, a Lambda payload. Never throws; callers turn the error into their own
 * refusal (error frame, HTTP 400, ...).
 */
export function parseJsonObject(text: string): ParsedJsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    return { ok: false, error: 'syntax', cause };
  }
  return isJsonObject(parsed) ? { ok: true, value: parsed } : { ok: false, error: 'not-object' };
}
