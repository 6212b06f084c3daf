// What callers did: voicemail messages (with playback when the media service offers it) and
// the call log.

import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import { ConfirmDelete, Dialog, LoadError, Loading, SelectField, TextField, errorText } from "../forms";
import { type Lang, useI18n } from "../i18n";
import { ListenButton } from "../media";
import { useSession, voicemailChanged } from "../session";
import { timeline } from "../timeline";
import type { CallDetail, CallList, CallRecord, Items, VoicemailMessage } from "../types";

export function formatTime(lang: Lang, timezone: string, iso: string): string {
  const options: Intl.DateTimeFormatOptions = { dateStyle: "medium", timeStyle: "short" };
  try {
    return new Intl.DateTimeFormat(lang, { ...options, timeZone: timezone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat(lang, options).format(new Date(iso));
  }
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function EmailState({ message }: { message: VoicemailMessage }) {
  const { t } = useI18n();
  switch (message.email_status) {
    case "sent":
      return <span class="email-state">{t.emailSent(message.email_to ?? "")}</span>;
    case "pending":
      return (
        <span class="email-state" title={message.email_error ?? undefined}>
          {t.emailPending}
        </span>
      );
    case "failed":
      return (
        <span class="email-state failed" title={message.email_error ?? undefined}>
          {t.emailFailed}
        </span>
      );
    default:
      return <span class="email-state">{t.emailNone}</span>;
  }
}

export function VoicemailPage() {
  const session = useSession();
  const { t, lang } = useI18n();
  const [items, setItems] = useState<VoicemailMessage[] | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<VoicemailMessage | null>(null);
  const reload = useCallback(async () => {
    setFailure(null);
    try {
      setItems((await session.api.get<Items<VoicemailMessage>>(session.path("/voicemail"))).items);
    } catch (error) {
      setFailure(error);
    }
  }, [session]);
  useEffect(() => {
    void reload();
  }, [reload]);

  /** Mark a message read or new; the list keeps its order until it is read again. */
  async function mark(message: VoicemailMessage, status: "new" | "read", quiet = false) {
    try {
      const marked = (
        await session.api.call<VoicemailMessage>("PATCH", session.path(`/voicemail/${message.id}`), {
          body: { status },
        })
      ).data;
      setItems((current) => current?.map((m) => (m.id === marked.id ? marked : m)) ?? null);
      voicemailChanged();
      if (!quiet) session.announce(status === "read" ? t.markedRead : t.markedUnread);
    } catch (error) {
      session.announce(errorText(t, error));
    }
  }

  if (items === null) return failure ? <LoadError error={failure} onRetry={reload} /> : <Loading />;
  return (
    <div class="panel">
      {items.length === 0 ? (
        <p>{t.noVoicemail}</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.receivedAt}</th>
                <th scope="col">{t.forExtension}</th>
                <th scope="col">{t.caller}</th>
                <th scope="col" class="optional">{t.duration}</th>
                <th scope="col" class="optional">{t.status}</th>
                <th scope="col" class="optional">{t.emailColumn}</th>
                <th scope="col">
                  <span class="sr-only">{t.actions}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((message) => (
                <tr key={message.id} id={`voicemail-${message.id}`} class={message.status === "new" ? "unread" : undefined}>
                  <td>{formatTime(lang, session.tenant.timezone, message.created_at)}</td>
                  <td>{message.extension_number}</td>
                  <td>{[message.caller_name, message.caller_number].filter(Boolean).join(" ") || t.unknownCaller}</td>
                  <td class="optional">{formatDuration(message.duration_ms)}</td>
                  <td class="optional">{message.status === "new" ? t.statusNew : t.statusRead}</td>
                  <td class="optional">
                    <EmailState message={message} />
                  </td>
                  <td class="row-actions">
                    <ListenButton
                      id={`voicemail-${message.id}-listen`}
                      capability="voicemailAudio"
                      audio={async () => {
                        const blob = await session.api.blob(session.path(`/voicemail/${message.id}/audio`));
                        // Listening is reading it: a new message is marked read once its audio came.
                        if (blob !== null && message.status === "new") await mark(message, "read", true);
                        return blob;
                      }}
                    />
                    <button
                      type="button"
                      id={`voicemail-${message.id}-mark`}
                      disabled={session.readOnly}
                      onClick={() => void mark(message, message.status === "new" ? "read" : "new")}
                    >
                      {message.status === "new" ? t.markRead : t.markUnread}
                    </button>
                    <button type="button" class="danger" onClick={() => setDeleting(message)} disabled={session.readOnly}>
                      {t.delete}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deleting !== null ? (
        <ConfirmDelete
          what={t.messageNoun}
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await session.api.call("DELETE", session.path(`/voicemail/${deleting.id}`));
            setDeleting(null);
            session.announce(t.messageDeleted);
            voicemailChanged();
            await reload();
          }}
        />
      ) : null}
    </div>
  );
}

const OUTCOMES = ["transferred", "voicemail", "conference", "announcement", "caller_hangup", "no_input", "invalid_input", "failed"];

/** How far a time zone is ahead of UTC at an instant, in milliseconds. */
function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(utcMs));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(part("year"), part("month") - 1, part("day"), part("hour"), part("minute"), part("second")) - utcMs;
}

/** The instant a day (YYYY-MM-DD, plus `days`) begins in the tenant's time zone, ISO 8601. */
export function dayStart(date: string, timeZone: string, days = 0): string {
  const [year, month, day] = date.split("-").map(Number);
  const wall = Date.UTC(year, month - 1, day + days);
  let instant = wall;
  try {
    instant = wall - zoneOffsetMs(wall, timeZone);
    instant = wall - zoneOffsetMs(instant, timeZone); // across a change of offset that day
  } catch {
    // an unknown zone: the day in UTC
  }
  return new Date(instant).toISOString();
}

interface Filters {
  caller: string;
  from: string;
  to: string;
  outcome: string;
}

function filterParams(filters: Filters, timeZone: string): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.outcome) params.set("outcome", filters.outcome);
  if (filters.caller.trim()) params.set("caller", filters.caller.trim());
  if (filters.from) params.set("since", dayStart(filters.from, timeZone));
  if (filters.to) params.set("before", dayStart(filters.to, timeZone, 1));
  return params;
}

const FILTER_FIELDS: Record<string, keyof Filters> = { caller: "caller", since: "from", before: "to", outcome: "outcome" };

export function CallsPage() {
  const session = useSession();
  const { t, lang } = useI18n();
  const timeZone = session.tenant.timezone;
  const [draft, setDraft] = useState<Filters>({ caller: "", from: "", to: "", outcome: "" });
  const [filters, setFilters] = useState<Filters>(draft);
  const [calls, setCalls] = useState<CallRecord[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<keyof Filters, string>>>({});
  const [more, setMore] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const [opened, setOpened] = useState<CallRecord | null>(null);

  const query = useCallback(
    (cursor: string | null) => {
      const params = filterParams(filters, timeZone);
      params.set("limit", "50");
      if (cursor) params.set("cursor", cursor);
      return session.api.get<CallList>(session.path(`/calls?${params.toString()}`));
    },
    [session, filters, timeZone],
  );
  const reload = useCallback(async () => {
    setFailure(null);
    setFieldErrors({});
    try {
      const page = await query(null);
      setCalls(page.items);
      setNext(page.next_cursor);
    } catch (error) {
      const field = error instanceof ApiError && error.field ? FILTER_FIELDS[error.field] : undefined;
      if (field !== undefined) {
        setFieldErrors({ [field]: errorText(t, error) });
        setCalls([]);
        setNext(null);
      } else {
        setCalls(null);
        setFailure(error);
      }
    }
  }, [query, t]);
  useEffect(() => {
    void reload();
  }, [reload]);

  async function older() {
    if (next === null) return;
    setMore(null);
    try {
      const page = await query(next);
      setCalls((c) => [...(c ?? []), ...page.items]);
      setNext(page.next_cursor);
    } catch (error) {
      setMore(errorText(t, error));
    }
  }

  async function exportCsv() {
    setMore(null);
    setExporting(true);
    try {
      const params = filterParams(filters, timeZone);
      // French spreadsheets read semicolons (their decimal separator is the comma).
      if (lang === "fr") params.set("separator", "semicolon");
      const blob = await session.api.blob(session.path(`/calls.csv?${params.toString()}`));
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `calls-${session.tenant.slug}.csv`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      setMore(errorText(t, error));
    } finally {
      setExporting(false);
    }
  }

  return (
    <div class="panel">
      <form
        class="toolbar filters"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters({ ...draft });
        }}
      >
        <TextField
          id="caller"
          label={t.callerFilter}
          hint={t.callerFilterHint}
          inputMode="tel"
          value={draft.caller}
          onValue={(caller) => setDraft((d) => ({ ...d, caller }))}
          error={fieldErrors.caller}
        />
        <TextField id="from" label={t.fromDate} type="date" value={draft.from} onValue={(from) => setDraft((d) => ({ ...d, from }))} error={fieldErrors.from} />
        <TextField id="to" label={t.toDate} type="date" value={draft.to} onValue={(to) => setDraft((d) => ({ ...d, to }))} error={fieldErrors.to} />
        <SelectField
          id="outcome"
          label={t.outcome}
          value={draft.outcome}
          onValue={(outcome) => {
            setDraft((d) => ({ ...d, outcome }));
            setFilters((f) => ({ ...f, ...draft, outcome }));
          }}
          choices={[{ value: "", label: t.allOutcomes }, ...OUTCOMES.map((value) => ({ value, label: t.outcomes[value] ?? value }))]}
          error={fieldErrors.outcome}
        />
        <div class="buttons">
          <button type="submit" class="primary" id="apply-filters">
            {t.applyFilters}
          </button>
          <button type="button" id="export-csv" onClick={exportCsv} disabled={exporting}>
            {exporting ? t.exporting : t.exportCsv}
          </button>
        </div>
      </form>
      {calls === null ? (
        failure ? (
          <LoadError error={failure} onRetry={reload} />
        ) : (
          <Loading />
        )
      ) : calls.length === 0 ? (
        <p>{t.noCalls}</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.started}</th>
                <th scope="col">{t.caller}</th>
                <th scope="col" class="optional">{t.called}</th>
                <th scope="col" class="optional">{t.duration}</th>
                <th scope="col">{t.outcome}</th>
                <th scope="col">
                  <span class="sr-only">{t.actions}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {calls.map((call) => {
                const time = formatTime(lang, timeZone, call.started_at);
                return (
                  <tr key={call.id}>
                    <td>{time}</td>
                    <td>{call.caller_number ?? t.unknownCaller}</td>
                    <td class="optional">{call.called_number}</td>
                    <td class="optional">{call.ended_at ? formatDuration(Date.parse(call.ended_at) - Date.parse(call.started_at)) : ""}</td>
                    <td>{call.outcome ? (t.outcomes[call.outcome] ?? call.outcome) : t.inProgress}</td>
                    <td class="row-actions">
                      <button type="button" id={`call-${call.id}-timeline`} aria-label={t.openTimelineOf(time)} onClick={() => setOpened(call)}>
                        {t.openTimeline}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {(next !== null && calls !== null && calls.length > 0) || more ? (
        <div class="buttons">
          {next !== null && calls !== null && calls.length > 0 ? (
            <button type="button" onClick={older}>
              {t.older}
            </button>
          ) : null}
          {more ? (
            <span class="field-error" role="alert">
              {more}
            </span>
          ) : null}
        </div>
      ) : null}
      {opened !== null ? <CallTimeline call={opened} onClose={() => setOpened(null)} /> : null}
    </div>
  );
}

/** One call told step by step, with the summary line above. */
function CallTimeline({ call, onClose }: { call: CallRecord; onClose: () => void }) {
  const session = useSession();
  const { t, lang } = useI18n();
  const [detail, setDetail] = useState<CallDetail | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const load = useCallback(async () => {
    setFailure(null);
    try {
      setDetail(await session.api.get<CallDetail>(session.path(`/calls/${call.id}`)));
    } catch (error) {
      setFailure(error);
    }
  }, [session, call.id]);
  useEffect(() => {
    void load();
  }, [load]);
  const moments = detail ? timeline(t, lang, detail.steps, detail.names) : [];
  return (
    <Dialog title={`${t.callTimeline} · ${formatTime(lang, session.tenant.timezone, call.started_at)}`} onClose={onClose}>
      <p>{t.callFrom(call.caller_number ?? t.unknownCaller, call.called_number)}</p>
      {detail === null ? (
        failure ? (
          <LoadError error={failure} onRetry={load} />
        ) : (
          <Loading />
        )
      ) : moments.length === 0 ? (
        <p>{t.timelineEmpty}</p>
      ) : (
        <>
          <p class="timeline-summary" id="timeline-summary">
            {moments.map((m) => m.text).join(" · ")}
          </p>
          <ol class="timeline" id="timeline">
            {moments.map((moment, index) => (
              <li key={index} class={`step-${moment.kind}`}>
                <span class="at">{formatDuration(moment.offsetMs)}</span> {moment.text}
              </li>
            ))}
          </ol>
        </>
      )}
      <div class="buttons">
        <button type="button" class="primary" onClick={onClose} data-autofocus>
          {t.close}
        </button>
      </div>
    </Dialog>
  );
}
