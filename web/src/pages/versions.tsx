// The Versions page, and the draft banner every page shows while changes are unpublished.

import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import { FormError, LoadError, Loading, TextField, splitError, useFormState } from "../forms";
import { useI18n } from "../i18n";
import { DRAFT_EVENT, draftChanged, draftReplaced, useSession } from "../session";
import type { Draft, Items, Version } from "../types";

/** A summary's lines in the page's language (English if the answer has none in it). */
function linesOf(summarised: { summary: string[]; summary_by_language?: Record<string, string[]> }, lang: string): string[] {
  return summarised.summary_by_language?.[lang] ?? summarised.summary;
}

function when(iso: string, lang: string): string {
  return new Date(iso).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export function VersionsPage() {
  const session = useSession();
  const { t, lang } = useI18n();
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const reload = useCallback(async () => {
    setFailure(null);
    try {
      setVersions((await session.api.get<Items<Version>>(session.path("/receptionist/versions"))).items);
    } catch (error) {
      setFailure(error);
    }
  }, [session]);
  useEffect(() => {
    void reload();
    window.addEventListener(DRAFT_EVENT, reload);
    return () => window.removeEventListener(DRAFT_EVENT, reload);
  }, [reload]);
  if (failure !== null && versions === null) return <LoadError error={failure} onRetry={reload} />;
  if (versions === null) return <Loading />;
  if (versions.length === 0) return <p class="intro">{t.noVersions}</p>;
  return (
    <>
      <p class="intro">{t.versionsIntro}</p>
      <ol class="versions" id="versions">
        {versions.map((version, index) => (
          <li key={version.number} class="panel version" id={`version-${version.number}`}>
            <h2>
              {t.versionNumber(version.number)}
              {index === 0 ? <span class="badge"> {t.current}</span> : null}
            </h2>
            <p class="detail">
              {t.versionBy(version.published_by, when(version.published_at, lang))}
              {version.comment ? ` — « ${version.comment} »` : null}
            </p>
            <ul class="summary">
              {linesOf(version, lang).map((line, n) => (
                <li key={n}>{line}</li>
              ))}
            </ul>
            {index === 0 ? null : (
              <button
                type="button"
                id={`rollback-${version.number}`}
                disabled={session.readOnly}
                onClick={async () => {
                  const answer = await session.api.call<Version>("POST", session.path(`/receptionist/versions/${version.number}/rollback`), {
                    body: {},
                  });
                  session.announce(t.rolledBack(answer.data.number, version.number));
                  draftReplaced();
                }}
              >
                {t.rollback}
              </button>
            )}
          </li>
        ))}
      </ol>
    </>
  );
}

/** "Unpublished changes": what they are, Publish (with a comment) and Discard. */
export function DraftBanner() {
  const session = useSession();
  const { t, lang } = useI18n();
  const form = useFormState();
  const [draft, setDraft] = useState<{ data: Draft; etag: string | null } | null>(null);
  const [comment, setComment] = useState("");
  const reload = useCallback(async () => {
    try {
      const answer = await session.api.call<Draft>("GET", session.path("/receptionist/draft"));
      setDraft({ data: answer.data, etag: answer.etag });
    } catch {
      setDraft(null); // the banner is a convenience: a page still works without it
    }
  }, [session]);
  useEffect(() => {
    void reload();
    window.addEventListener(DRAFT_EVENT, reload);
    window.addEventListener("hashchange", reload);
    return () => {
      window.removeEventListener(DRAFT_EVENT, reload);
      window.removeEventListener("hashchange", reload);
    };
  }, [reload]);
  if (draft === null || !draft.data.changed) return null;

  async function act(write: () => Promise<string>) {
    await form.run(
      async () => {
        session.announce(await write());
        setComment("");
        draftChanged();
      },
      async (error) => {
        if (!(error instanceof ApiError && error.status === 412)) return { fieldErrors: {}, formError: splitError(t, error, {}).formError };
        await reload();
        return { fieldErrors: {}, formError: t.staleDraft };
      },
    );
  }

  return (
    <section class="draft-banner" id="draft-banner" aria-labelledby="draft-title">
      <h2 id="draft-title">{t.draftBanner}</h2>
      <FormError message={form.formError} />
      <ul class="summary">
        {linesOf(draft.data, lang).map((line, n) => (
          <li key={n}>{line}</li>
        ))}
      </ul>
      <TextField id="publish-comment" label={t.publishComment} value={comment} onValue={setComment} />
      <div class="buttons">
        <button
          type="button"
          class="primary"
          id="publish"
          disabled={form.busy || session.readOnly}
          onClick={() =>
            void act(async () => {
              const answer = await session.api.call<Version>("POST", session.path("/receptionist/publish"), {
                body: comment.trim() ? { comment } : {},
                ifMatch: draft.etag,
              });
              return t.published(answer.data.number);
            })
          }
        >
          {t.publish}
        </button>
        <button
          type="button"
          id="discard"
          disabled={form.busy || session.readOnly}
          onClick={() =>
            void act(async () => {
              await session.api.call("DELETE", session.path("/receptionist/draft"));
              window.setTimeout(draftReplaced);
              return t.discarded;
            })
          }
        >
          {t.discard}
        </button>
      </div>
    </section>
  );
}
