// Calls to the Taskline API with the key kept in this tab's session storage. Every failure
// becomes an ApiError carrying the server's SPEC error ({"error": {"code", "message", "details"}})
// as a sentence a person can read; a 401 also tells the app to ask for a key.

const KEY_ITEM = "taskline.api_key";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const unauthorizedListeners = new Set();

/** Run `fn` whenever a call answers 401 (the key is missing, wrong or was revoked). */
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
}

export function getKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
}

/** The message a person sees: the server's message, with the fields a 422 names. */
function describe(status, body) {
  const error = body && typeof body === "object" ? body.error : null;
  if (!error || typeof error.message !== "string") {
    return new ApiError(status, "http_error", `the server answered ${status}`, null);
  }
  let message = error.message;
  if (Array.isArray(error.details) && error.details.length) {
    const fields = error.details
      .filter((d) => d && typeof d === "object")
      .map((d) => [d.field, d.message].filter((part) => part !== undefined && part !== "").join(": "));
    if (fields.length) message += ` (${fields.join("; ")})`;
  }
  return new ApiError(status, error.code, message, error.details);
}

/**
 * `api("GET", "/api/v1/stats")` → the parsed JSON (null for an empty answer).
 * Throws ApiError: `status` 0 when the server could not be reached at all.
 */
export async function api(method, path, body) {
  return (await apiResponse(method, path, body)).data;
}

/** As `api`, with the response's headers too: `{data, headers}`. */
export async function apiResponse(method, path, body) {
  const headers = { Accept: "application/json" };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "unreachable", "the server cannot be reached", null);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = describe(response.status, data);
    if (response.status === 401) for (const fn of unauthorizedListeners) fn(error);
    throw error;
  }
  return { data, headers: response.headers };
}

/** A query string from an object, leaving out empty values: `query({state: "failed"})` → "?state=failed". */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** A path segment from data (a task id, queue or worker name). */
export function seg(value) {
  return encodeURIComponent(value);
}
