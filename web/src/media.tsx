// Announcements and greetings: typed text for text-to-speech, or an uploaded file, and a
// button to listen. Upload and listening appear only where the API offers them (session.ts).

import { useEffect, useState } from "preact/hooks";
import { type FieldErrors, FileField, SelectField, TextAreaField, errorText } from "./forms";
import { type Lang, useI18n } from "./i18n";
import { isMissingOperation, type Media, type Session, useMedia, useSession } from "./session";
import type { Prompt } from "./types";

export const VOICE_LOCALES = ["fr-FR", "en-US", "en-GB", "de-DE", "es-ES", "nl-NL"];

/** "français (France)" / "French (France)" for a locale tag, in the page's language. */
export function localeName(lang: Lang, tag: string): string {
  try {
    const name = new Intl.DisplayNames([lang], { type: "language" }).of(tag);
    return name ? name.charAt(0).toLocaleUpperCase(lang) + name.slice(1) : tag;
  } catch {
    return tag;
  }
}

export function localeChoices(lang: Lang, current: string) {
  const tags = VOICE_LOCALES.includes(current) || !current ? VOICE_LOCALES : [current, ...VOICE_LOCALES];
  return tags.map((tag) => ({ value: tag, label: localeName(lang, tag) }));
}

export interface AnnouncementDraft {
  source: "text" | "file";
  text: string;
  language: string;
  file: File | null;
  /** A prompt made from exactly this text and language to listen to it; saving reuses it. */
  heard: Prompt | null;
}

export function draftOf(prompt: Prompt | null, language: string): AnnouncementDraft {
  return {
    source: prompt?.source === "upload" ? "file" : "text",
    text: prompt?.source === "tts" ? (prompt.text ?? "") : "",
    language: prompt?.language ?? language,
    file: null,
    heard: null,
  };
}

/**
 * What to send for this announcement: the prompt to reuse (saved before, heard, or just
 * uploaded) or the text to speak. An upload is made here, before the assignment is saved.
 */
export async function announcementBody(
  session: Session,
  media: Media,
  draft: AnnouncementDraft,
  existing: Prompt | null,
): Promise<{ prompt_id: string } | { prompt: { text: string; language: string } }> {
  if (draft.source === "file") {
    if (draft.file !== null) return { prompt_id: (await uploadFile(session, media, draft.file, draft.language)).id };
    return { prompt_id: existing?.id ?? "" };
  }
  const same = (p: Prompt | null) => p?.source === "tts" && p.text === draft.text.trim() && p.language === draft.language;
  if (same(existing)) return { prompt_id: existing!.id };
  if (same(draft.heard)) return { prompt_id: draft.heard!.id };
  return { prompt: { text: draft.text, language: draft.language } };
}

export async function uploadFile(session: Session, media: Media, file: File, language: string): Promise<Prompt> {
  const form = new FormData();
  form.append(media.caps.uploadField, file, file.name);
  if (media.caps.uploadLanguage) form.append("language", language);
  try {
    return (await session.api.call<Prompt>("POST", session.path("/prompts"), { form })).data;
  } catch (error) {
    if (isMissingOperation(error, [404, 405, 415])) media.disable("upload");
    throw error;
  }
}

/** Fetch a prompt's or a message's audio with the token, and play it in an <audio> element. */
export function ListenButton({
  id,
  audio,
  capability = "listen",
}: {
  id: string;
  audio: () => Promise<Blob | null>;
  capability?: "listen" | "voicemailAudio";
}) {
  const session = useSession();
  const media = useMedia();
  const { t } = useI18n();
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(
    () => () => {
      if (url) URL.revokeObjectURL(url);
    },
    [url],
  );
  if (!media.caps[capability]) return null;
  async function play() {
    setError(null);
    setBusy(true);
    try {
      const blob = await audio();
      if (blob !== null) setUrl(URL.createObjectURL(blob));
    } catch (caught) {
      if (isMissingOperation(caught, [404, 405])) {
        media.disable(capability);
        session.announce(t.listenUnavailable);
      } else {
        setError(errorText(t, caught));
      }
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="listen">
      <button type="button" id={id} onClick={play} disabled={busy}>
        <span aria-hidden="true">▶ </span>
        {t.listen}
      </button>
      {url ? (
        <audio controls autoPlay src={url} />
      ) : null}
      {error ? (
        <span class="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

export function AnnouncementFields({
  idPrefix,
  draft,
  setDraft,
  errors,
  existing,
  textLabel,
}: {
  idPrefix: string;
  draft: AnnouncementDraft;
  setDraft: (update: (draft: AnnouncementDraft) => AnnouncementDraft) => void;
  errors: FieldErrors;
  existing: Prompt | null;
  textLabel: string;
}) {
  const session = useSession();
  const { t, lang } = useI18n();
  const upload = useMedia().caps.upload;
  const source = upload ? draft.source : "text";

  async function audio(): Promise<Blob | null> {
    if (source === "file") {
      if (draft.file !== null) return draft.file;
      if (existing?.source === "upload") return session.api.blob(session.path(`/prompts/${existing.id}/audio`));
      return null;
    }
    const text = draft.text.trim();
    let prompt: Prompt | null = null;
    for (const candidate of [existing, draft.heard]) {
      if (candidate?.source === "tts" && candidate.text === text && candidate.language === draft.language) prompt = candidate;
    }
    if (prompt === null) {
      // Speaking new text needs a prompt: create it, and let saving reuse it.
      prompt = (
        await session.api.call<Prompt>("POST", session.path("/prompts"), {
          body: { text: draft.text, language: draft.language },
        })
      ).data;
      const made = prompt;
      setDraft((d) => ({ ...d, heard: made }));
    }
    return session.api.blob(session.path(`/prompts/${prompt.id}/audio`));
  }

  return (
    <div class="announcement">
      {upload ? (
        <fieldset class="choice">
          <legend>{t.source}</legend>
          {(["text", "file"] as const).map((value) => (
            <label key={value}>
              <input
                type="radio"
                name={`${idPrefix}-source`}
                value={value}
                checked={source === value}
                onChange={() => setDraft((d) => ({ ...d, source: value }))}
              />
              {value === "text" ? t.sourceText : t.sourceFile}
            </label>
          ))}
        </fieldset>
      ) : null}
      {source === "text" ? (
        <TextAreaField
          id={`${idPrefix}-text`}
          label={textLabel}
          hint={t.announcementTextHint}
          value={draft.text}
          onValue={(text) => setDraft((d) => ({ ...d, text }))}
          error={errors.text}
        />
      ) : (
        <FileField
          id={`${idPrefix}-file`}
          label={t.audioFile}
          hint={
            existing?.source === "upload" && existing.original_filename
              ? `${t.audioFileHint} ${t.currentFile(existing.original_filename)}`
              : t.audioFileHint
          }
          onFile={(file) => setDraft((d) => ({ ...d, file }))}
          error={errors.file}
        />
      )}
      {source === "text" ? (
        <SelectField
          id={`${idPrefix}-language`}
          label={t.voiceLanguage}
          value={draft.language}
          onValue={(language) => setDraft((d) => ({ ...d, language }))}
          choices={localeChoices(lang, draft.language)}
          error={errors.language}
        />
      ) : null}
      <ListenButton id={`${idPrefix}-listen`} audio={audio} />
    </div>
  );
}
