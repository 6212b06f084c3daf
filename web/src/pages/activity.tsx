// What callers did: voicemail messages (with playback when the media service offers it) and
// the call log.

import { useCallback, useEffect, useState } from "preact/hooks";
import { ConfirmDelete, LoadError, Loading, SelectField, errorText } from "../forms";
import { type Lang, useI18n } from "../i18n";
import { ListenButton } from "../media";
import { useSession } from "../session";
import type { CallList, CallRecord, Items, VoicemailMessage } from "../types";

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
                <th scope="col">
                  <span class="sr-only">{t.actions}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((message) => (
                <tr key={message.id} class={message.status === "new" ? "unread" : undefined}>
                  <td>{formatTime(lang, session.tenant.timezone, message.created_at)}</td>
                  <td>{message.extension_number}</td>
                  <td>{[message.caller_name, message.caller_number].filter(Boolean).join(" ") || t.unknownCaller}</td>
                  <td class="optional">{formatDuration(message.duration_ms)}</td>
                  <td class="optional">{message.status === "new" ? t.statusNew : t.statusRead}</td>
                  <td class="row-actions">
                    <ListenButton
                      id={`voicemail-${message.id}-listen`}
                      capability="voicemailAudio"
                      audio={() => session.api.blob(session.path(`/voicemail/${message.id}/audio`))}
                    />
                    <button type="button" class="danger" onClick={() => setDeleting(message)}>
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
            await reload();
          }}
        />
      ) : null}
    </div>
  );
}

const OUTCOMES = ["transferred", "voicemail", "conference", "announcement", "caller_hangup", "no_input", "invalid_input", "failed"];

export function CallsPage() {
  const session = useSession();
  const { t, lang } = useI18n();
  const [outcome, setOutcome] = useState("");
  const [calls, setCalls] = useState<CallRecord[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [more, setMore] = useState<string | null>(null);

  const query = useCallback(
    (before: string | null) => {
      const params = new URLSearchParams({ limit: "50" });
      if (outcome) params.set("outcome", outcome);
      if (before) params.set("before", before);
      return session.api.get<CallList>(session.path(`/calls?${params.toString()}`));
    },
    [session, outcome],
  );
  const reload = useCallback(async () => {
    setFailure(null);
    try {
      const page = await query(null);
      setCalls(page.items);
      setNext(page.next_before);
    } catch (error) {
      setFailure(error);
    }
  }, [query]);
  useEffect(() => {
    void reload();
  }, [reload]);

  async function older() {
    if (next === null) return;
    setMore(null);
    try {
      const page = await query(next);
      setCalls((c) => [...(c ?? []), ...page.items]);
      setNext(page.next_before);
    } catch (error) {
      setMore(errorText(t, error));
    }
  }

  return (
    <div class="panel">
      <div class="toolbar">
        <SelectField
          id="outcome"
          label={t.outcome}
          value={outcome}
          onValue={setOutcome}
          choices={[{ value: "", label: t.allOutcomes }, ...OUTCOMES.map((value) => ({ value, label: t.outcomes[value] ?? value }))]}
        />
      </div>
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
              </tr>
            </thead>
            <tbody>
              {calls.map((call) => (
                <tr key={call.id}>
                  <td>{formatTime(lang, session.tenant.timezone, call.started_at)}</td>
                  <td>{call.caller_number ?? t.unknownCaller}</td>
                  <td class="optional">{call.called_number}</td>
                  <td class="optional">{call.ended_at ? formatDuration(Date.parse(call.ended_at) - Date.parse(call.started_at)) : ""}</td>
                  <td>{call.outcome ? (t.outcomes[call.outcome] ?? call.outcome) : t.inProgress}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next !== null && calls !== null && calls.length > 0 ? (
        <div class="buttons">
          <button type="button" onClick={older}>
            {t.older}
          </button>
          {more ? (
            <span class="field-error" role="alert">
              {more}
            </span>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
