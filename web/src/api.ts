// The admin API's public /v1 endpoints, called with the signed-in token.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, field: string | null = null, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.details = details;
  }
}

export interface Answer<T> {
  data: T;
  etag: string | null;
}

export interface RequestOptions {
  body?: unknown;
  form?: FormData;
  ifMatch?: string | null;
}

/**
 * A token's calls send it in Authorization; a person's calls go with the session cookie the
 * browser keeps (HttpOnly: no script reads it) and send the session's CSRF token with every
 * change.
 */
export class Api {
  readonly token: string | null;
  readonly csrf: string | null;
  private readonly onUnauthorized: () => void;

  constructor(token: string | null, onUnauthorized: () => void, csrf: string | null = null) {
    this.token = token;
    this.csrf = csrf;
    this.onUnauthorized = onUnauthorized;
  }

  /** Call one endpoint; a non-2xx answer throws an ApiError carrying the server's code and field. */
  async call<T>(method: string, path: string, options: RequestOptions = {}): Promise<Answer<T>> {
    const response = await this.fetch(method, path, options);
    const text = await response.text();
    return { data: (text ? JSON.parse(text) : null) as T, etag: response.headers.get("ETag") };
  }

  async get<T>(path: string): Promise<T> {
    return (await this.call<T>("GET", path)).data;
  }

  /** The raw bytes of an endpoint (audio), as a Blob. */
  async blob(path: string): Promise<Blob> {
    return (await this.fetch("GET", path, {})).blob();
  }

  private async fetch(method: string, path: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token !== null) headers.Authorization = `Bearer ${this.token}`;
    else if (this.csrf !== null && method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = this.csrf;
    let body: BodyInit | undefined;
    if (options.form !== undefined) {
      body = options.form; // the browser writes the multipart boundary itself
    } else if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    if (options.ifMatch) headers["If-Match"] = options.ifMatch;
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body, cache: "no-store", credentials: "same-origin" });
    } catch (error) {
      throw new ApiError(0, "network", String(error));
    }
    if (response.ok) return response;
    let parsed: { code?: string; message?: string; field?: string | null; details?: Record<string, unknown> } = {};
    try {
      parsed = await response.json();
    } catch {
      // not JSON (a proxy's page): keep the status
    }
    const error = new ApiError(
      response.status,
      parsed.code ?? `http_${response.status}`,
      parsed.message ?? response.statusText,
      parsed.field ?? null,
      parsed.details ?? {},
    );
    if (response.status === 401) this.onUnauthorized();
    throw error;
  }
}

/** Paths under one tenant. */
export function tenantPath(tenantId: string, rest = ""): string {
  return `/v1/tenants/${encodeURIComponent(tenantId)}${rest}`;
}
