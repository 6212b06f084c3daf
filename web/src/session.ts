// What every page shares once signed in: the API client, the tenant, what the media service
// offers, and a way to announce a result to the user.

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { type Api, ApiError, tenantPath } from "./api";
import type { Tenant } from "./types";

/**
 * Upload and listening need the media service's endpoints (issue 4). A control is shown only
 * when GET /openapi.json documents its operation, and hidden for the rest of the session when
 * the API answers 404, 405 or 415 to it.
 */
export interface MediaCaps {
  upload: boolean;
  uploadField: string;
  /** Whether the upload takes a `language` part (only sent when documented). */
  uploadLanguage: boolean;
  listen: boolean;
  voicemailAudio: boolean;
}

export const NO_MEDIA: MediaCaps = {
  upload: false,
  uploadField: "file",
  uploadLanguage: false,
  listen: false,
  voicemailAudio: false,
};

// Path parameters may be named differently by the service that brings them: match any name.
const PROMPTS = /^\/v1\/tenants\/\{[^}/]+\}\/prompts$/;
const PROMPT_AUDIO = /^\/v1\/tenants\/\{[^}/]+\}\/prompts\/\{[^}/]+\}\/audio$/;
const VOICEMAIL_AUDIO = /^\/v1\/tenants\/\{[^}/]+\}\/voicemail\/\{[^}/]+\}\/audio$/;

interface OpenApi {
  paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Schema }> } }>>;
}
interface Schema {
  properties?: Record<string, { format?: string; contentMediaType?: string; type?: string }>;
}

export async function detectMedia(): Promise<MediaCaps> {
  let document: OpenApi;
  try {
    const response = await fetch("/openapi.json", { cache: "no-store" });
    if (!response.ok) return NO_MEDIA;
    document = (await response.json()) as OpenApi;
  } catch {
    return NO_MEDIA;
  }
  const paths = document.paths ?? {};
  const operation = (pattern: RegExp, method: string) =>
    Object.entries(paths).find(([path]) => pattern.test(path))?.[1]?.[method];
  const multipart = operation(PROMPTS, "post")?.requestBody?.content?.["multipart/form-data"];
  const properties = multipart?.schema?.properties ?? {};
  const fileField =
    Object.entries(properties).find(
      ([, property]) => property.format === "binary" || property.contentMediaType !== undefined,
    )?.[0] ?? "file";
  return {
    upload: multipart !== undefined,
    uploadField: fileField,
    uploadLanguage: "language" in properties,
    listen: operation(PROMPT_AUDIO, "get") !== undefined,
    voicemailAudio: operation(VOICEMAIL_AUDIO, "get") !== undefined,
  };
}

/** Whether an answer says the operation itself is missing, rather than refusing this request. */
export function isMissingOperation(error: unknown, statuses: number[]): boolean {
  return error instanceof ApiError && statuses.includes(error.status) && (error.status !== 404 || error.field === null);
}

export interface Media {
  caps: MediaCaps;
  disable: (what: "upload" | "listen" | "voicemailAudio") => void;
}

export const MediaContext = createContext<Media>({ caps: NO_MEDIA, disable: () => undefined });

export function useMedia(): Media {
  return useContext(MediaContext);
}

/** Stable for as long as the tenant is open: pages load their data again only when it changes. */
export interface Session {
  api: Api;
  tenant: Tenant;
  /** A viewer, carrier support: the page shows, its controls that change things are disabled. */
  readOnly: boolean;
  announce: (message: string) => void;
  path: (rest?: string) => string;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error("useSession outside a signed-in page");
  return session;
}

export function tenantScoped(tenantId: string): (rest?: string) => string {
  return (rest = "") => tenantPath(tenantId, rest);
}

/** Sent when the draft may have changed (a save, a publish): the draft banner reads it again. */
export const DRAFT_EVENT = "rcp:draft";
/** Sent when the draft was replaced (discarded, rolled back): the page reads everything again. */
export const RELOAD_EVENT = "rcp:reload";

export function draftChanged(): void {
  window.dispatchEvent(new Event(DRAFT_EVENT));
}

export function draftReplaced(): void {
  window.dispatchEvent(new Event(RELOAD_EVENT));
  draftChanged();
}

/** Sent when voicemail messages changed (one listened to, marked, deleted): the count in the
 * navigation is read again. */
export const VOICEMAIL_EVENT = "rcp:voicemail";

export function voicemailChanged(): void {
  window.dispatchEvent(new Event(VOICEMAIL_EVENT));
}
