// The admin API's wire format, as GET /openapi.json describes it (only what the pages use).

export type TargetKind = "extension" | "virtual_extension" | "ring_group" | "conference" | "voicemail";
export type Action = "dial_by_name" | "play_announcement" | "transfer" | "open_menu";
export type ExtensionKind = "physical" | "virtual";

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  locale: string;
  timezone: string;
  status: "active" | "suspended";
}

export interface Prompt {
  id: string;
  source: "tts" | "upload" | "recording";
  text: string | null;
  language: string | null;
  voice: string | null;
  original_filename: string | null;
  status: "pending" | "ready" | "failed";
  duration_ms: number | null;
}

export interface KeyTarget {
  kind: TargetKind;
  number: string;
  name: string;
}

export interface Key {
  digit: string;
  assigned: boolean;
  action: Action | null;
  prompt: Prompt | null;
  target: KeyTarget | null;
  menu?: MenuRef | null;
}

export interface MenuRef {
  id: string;
  name: string;
}

export interface Menu {
  id: string;
  name: string;
  first: boolean;
  language: string | null;
  greeting: Prompt | null;
  dial_extension_enabled: boolean | null;
  menu_timeout_s: number | null;
  inter_digit_timeout_s: number | null;
  effective: { language: string; dial_extension_enabled: boolean; menu_timeout_s: number; inter_digit_timeout_s: number };
  keys: Key[];
  opened_by: { menu_id: string; menu_name: string; digit: string }[];
  warnings: { code: string; message: string }[];
}

export interface OpeningRange {
  start: string;
  end: string;
}

export type ScheduleState = "open" | "closed" | "holiday" | "override_closed";

export interface Schedule {
  timezone: string;
  weekly: Record<string, OpeningRange[]>;
  menus: { closed: MenuRef | null; holiday: MenuRef | null; override_closed: MenuRef | null };
  override: { mode: "open" | "closed"; until: string | null } | null;
}

export interface ScheduleNow {
  state: ScheduleState;
  reason: string;
  /** The reason in each language of the manager (en, fr). */
  reason_by_language?: Record<string, string>;
  menu: MenuRef;
}

export interface Holiday {
  id: string;
  name: string;
  start: string;
  end: string;
  yearly: boolean;
  source: "manual" | "public" | "ical";
}

export interface Draft {
  changed: boolean;
  published: number | null;
  summary: string[];
  /** The summary in each language of the manager (en, fr). */
  summary_by_language: Record<string, string[]>;
  fingerprint: string;
}

export interface Version {
  number: number;
  published_at: string;
  published_by: string;
  comment: string | null;
  summary: string[];
  /** The summary in each language of the manager (en, fr). */
  summary_by_language: Record<string, string[]>;
  rolled_back_from: number | null;
}

export interface Receptionist {
  greeting: Prompt | null;
  language: string;
  dial_extension_enabled: boolean;
  menu_timeout_s: number;
  inter_digit_timeout_s: number;
  menu_max_retries: number;
  name_max_retries: number;
  transfer_ring_s: number;
  exhausted_extension: string | null;
}

export type NumberType =
  | "fixed_line"
  | "mobile"
  | "fixed_line_or_mobile"
  | "toll_free"
  | "premium_rate"
  | "shared_cost"
  | "voip"
  | "personal_number"
  | "pager"
  | "uan"
  | "voicemail"
  | "unknown";

/** Why the carrier's outbound policy refuses an outside number. */
export interface DestinationRefusal {
  refusal: "denied_prefix" | "invalid_number" | "non_geographic" | "international" | "number_type";
  number_type: NumberType;
  country: string | null;
  prefix: string | null;
}

export interface Extension {
  number: string;
  kind: ExtensionKind;
  first_name: string;
  last_name: string;
  device: string | null;
  legacy_dial_string: string | null;
  external_number: string | null;
  destination_allowed: boolean | null;
  destination_refusal: DestinationRefusal | null;
  voicemail_enabled: boolean;
  reachable_by_extension: boolean;
  reachable_by_name: boolean;
  voicemail_email: string | null;
  spoken_name: Prompt | null;
  voicemail_greeting: Prompt | null;
}

export type NoAnswerAction = "menu" | "hangup" | "voicemail" | "extension";

export interface RingGroup {
  number: string;
  name: string;
  strategy: "simultaneous" | "sequential";
  ring_seconds: number;
  members: string[];
  no_answer: { action: NoAnswerAction; extension: string | null };
}

export interface ConferenceRoom {
  number: string;
  name: string;
  has_pin: boolean;
  pin_too_short: boolean;
}

/** A phone the carrier provisioned for the tenant. */
export interface Device {
  name: string;
  endpoint: string;
  extensions: string[];
}

export interface DirectoryEntry {
  number: string;
  kind: ExtensionKind;
  first_name: string;
  last_name: string;
  reachable_by_extension: boolean;
  reachable_by_name: boolean;
}

export interface VoicemailMessage {
  id: string;
  extension_number: string;
  caller_number: string | null;
  caller_name: string | null;
  duration_ms: number;
  status: "new" | "read";
  created_at: string;
  email_status: "pending" | "sent" | "none" | "failed";
  email_to: string | null;
  emailed_at: string | null;
  email_attempts: number;
  email_error: string | null;
}

export interface VoicemailCount {
  new: number;
  total: number;
}

export interface CallRecord {
  id: string;
  call_id: string;
  called_number: string;
  caller_number: string | null;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  outcome: string | null;
}

export interface Items<T> {
  items: T[];
}

export interface CallList extends Items<CallRecord> {
  next_cursor: string | null;
  next_before: string | null;
}

export interface CallStep {
  kind: string;
  at: string;
  offset_ms: number;
  data: Record<string, unknown>;
}

export interface CallDetail extends CallRecord {
  steps: CallStep[];
  names: Record<string, string>;
}

export function personName(item: { first_name: string; last_name: string }): string {
  return [item.first_name, item.last_name].filter(Boolean).join(" ");
}

export interface Retention {
  call_records_days: number;
  voicemail_days: number;
  updated_at: string | null;
}

// --- the carrier console ------------------------------------------------------------------

export interface RoutedNumber {
  e164: string;
  created_at: string;
  tenant_id: string;
  tenant_slug: string;
  tenant_name: string;
}

export interface Usage {
  tenant_id: string;
  slug: string;
  name: string;
  since: string;
  until: string;
  calls: number;
  answered_calls: number;
  minutes: number;
  outside_minutes: number;
  voicemail_left: number;
  voicemail_stored: number;
  voicemail_bytes: number;
}

export interface AuditEntry {
  id: number;
  at: string;
  tenant_id: string | null;
  actor: string;
  actor_user_id: string | null;
  action: string;
  entity: string;
  entity_key: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
}

export interface AuditList {
  items: AuditEntry[];
  next_before_id: number | null;
}

export interface OutboundPolicy {
  home_region: string | null;
  country: string;
  allowed_regions: string[];
  allowed_number_types: NumberType[];
  allowed_prefixes: string[];
  denied_prefixes: string[];
  refused_extensions: { number: string; external_number: string }[];
  updated_at: string | null;
}

export interface ApiToken {
  id: string;
  scope: "carrier" | "tenant";
  tenant_id: string | null;
  name: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface Person {
  id: string;
  tenant_id: string | null;
  email: string;
  name: string;
  role: string;
  language: string;
  status: "invited" | "active" | "disabled";
  last_sign_in_at: string | null;
}

export interface Dashboard {
  since: string;
  until: string;
  timezone: string;
  calls: number;
  answered_calls: number;
  days: { day: string; calls: number }[];
  outcomes: { outcome: string; calls: number }[];
  hours: { hour: number; calls: number }[];
  keys: { digit: string; action: string; presses: number }[];
  dial_by_name: { searches: number; found: number; no_match: number; failed: number };
}
