// The Settings tab: dial-extension, language, timeouts and retries, how long personal data is
// kept; and the directory settings (« Personnaliser paramètres de l'annuaire »), every
// extension's two checkboxes.

import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import {
  CheckboxField,
  FormError,
  LoadError,
  Loading,
  SelectField,
  TextField,
  errorText,
  splitError,
  useFormState,
} from "../forms";
import { useI18n } from "../i18n";
import { localeChoices } from "../media";
import { useSession } from "../session";
import {
  type DirectoryEntry,
  type Extension,
  type Items,
  type Receptionist,
  type Retention,
  personName,
} from "../types";

const NUMBERS = ["menu_timeout_s", "inter_digit_timeout_s", "menu_max_retries", "name_max_retries", "transfer_ring_s"] as const;
type NumberSetting = (typeof NUMBERS)[number];

interface SettingsDraft {
  dial_extension_enabled: boolean;
  language: string;
  exhausted_extension: string;
  numbers: Record<NumberSetting, string>;
}

function draftOf(receptionist: Receptionist): SettingsDraft {
  return {
    dial_extension_enabled: receptionist.dial_extension_enabled,
    language: receptionist.language,
    exhausted_extension: receptionist.exhausted_extension ?? "",
    numbers: Object.fromEntries(NUMBERS.map((name) => [name, String(receptionist[name])])) as Record<NumberSetting, string>,
  };
}

/** A whole number as a number; anything else as typed, for the API to refuse on its field. */
function numberOrText(value: string): number | string {
  return /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
}

export function SettingsPage() {
  const session = useSession();
  const { t, lang } = useI18n();
  const form = useFormState();
  const [receptionist, setReceptionist] = useState<{ data: Receptionist; etag: string | null } | null>(null);
  const [extensions, setExtensions] = useState<Extension[]>([]);
  const [draft, setDraft] = useState<SettingsDraft | null>(null);
  const [failure, setFailure] = useState<unknown>(null);

  const reload = useCallback(async () => {
    setFailure(null);
    try {
      const [answer, list] = await Promise.all([
        session.api.call<Receptionist>("GET", session.path("/receptionist")),
        session.api.get<Items<Extension>>(session.path("/extensions")),
      ]);
      setReceptionist(answer);
      setExtensions(list.items);
      setDraft(draftOf(answer.data));
    } catch (error) {
      setFailure(error);
    }
  }, [session]);
  useEffect(() => {
    void reload();
  }, [reload]);

  if (failure !== null && draft === null) return <LoadError error={failure} onRetry={reload} />;
  if (draft === null || receptionist === null) return <Loading />;

  async function save(event: Event) {
    event.preventDefault();
    if (draft === null || receptionist === null) return;
    const body: Record<string, unknown> = {
      dial_extension_enabled: draft.dial_extension_enabled,
      language: draft.language,
      exhausted_extension: draft.exhausted_extension || null,
    };
    for (const name of NUMBERS) body[name] = numberOrText(draft.numbers[name]);
    const fields = Object.fromEntries(
      ["dial_extension_enabled", "language", "exhausted_extension", ...NUMBERS].map((name) => [name, name]),
    );
    await form.run(
      async () => {
        const answer = await session.api.call<Receptionist>("PATCH", session.path("/receptionist"), {
          body,
          ifMatch: receptionist.etag,
        });
        setReceptionist(answer);
        setDraft(draftOf(answer.data));
        session.announce(t.settingsSaved);
      },
      async (error) => {
        if (!(error instanceof ApiError && error.status === 412)) return splitError(t, error, fields);
        await reload();
        return { fieldErrors: {}, formError: t.staleSettings };
      },
    );
  }

  const setNumber = (name: NumberSetting) => (value: string) =>
    setDraft((d) => (d === null ? d : { ...d, numbers: { ...d.numbers, [name]: value } }));
  const labels: Record<NumberSetting, string> = {
    menu_timeout_s: t.menuTimeout,
    inter_digit_timeout_s: t.interDigitTimeout,
    menu_max_retries: t.menuRetries,
    name_max_retries: t.nameRetries,
    transfer_ring_s: t.transferRing,
  };

  return (
    <>
    <form ref={form.formRef} onSubmit={save} noValidate class="panel settings" aria-busy={form.busy}>
      <FormError message={form.formError} />
      <CheckboxField
        id="dial_extension_enabled"
        label={t.dialExtension}
        hint={t.dialExtensionHint}
        checked={draft.dial_extension_enabled}
        onChecked={(checked) => setDraft((d) => (d === null ? d : { ...d, dial_extension_enabled: checked }))}
        error={form.fieldErrors.dial_extension_enabled}
      />
      <p>
        <a class="button-link" href="#/settings/directory" id="customize-directory">
          {t.customizeDirectory}
        </a>
      </p>
      <SelectField
        id="language"
        label={t.receptionistLanguage}
        value={draft.language}
        onValue={(language) => setDraft((d) => (d === null ? d : { ...d, language }))}
        choices={localeChoices(lang, draft.language)}
        error={form.fieldErrors.language}
      />
      <fieldset>
        <legend>{t.timeoutsAndRetries}</legend>
        <div>
          {NUMBERS.map((name) => (
            <TextField
              key={name}
              id={name}
              label={labels[name]}
              inputMode="numeric"
              value={draft.numbers[name]}
              onValue={setNumber(name)}
              error={form.fieldErrors[name]}
            />
          ))}
        </div>
        <SelectField
          id="exhausted_extension"
          label={t.exhausted}
          value={draft.exhausted_extension}
          onValue={(value) => setDraft((d) => (d === null ? d : { ...d, exhausted_extension: value }))}
          choices={[
            { value: "", label: t.exhaustedHangup },
            ...extensions.map((e) => ({ value: e.number, label: t.exhaustedTo(`${e.number} ${personName(e)}`.trim()) })),
          ]}
          error={form.fieldErrors.exhausted_extension}
        />
      </fieldset>
      <div class="buttons">
        <button type="submit" class="primary" disabled={form.busy || session.readOnly}>
          {form.busy ? t.saving : t.save}
        </button>
      </div>
    </form>
    <RetentionForm />
    </>
  );
}

const RETENTION = ["call_records_days", "voicemail_days"] as const;
type RetentionField = (typeof RETENTION)[number];

/** How many days call records and voicemail are kept (the retention job deletes the rest). */
function RetentionForm() {
  const session = useSession();
  const { t } = useI18n();
  const form = useFormState();
  const [draft, setDraft] = useState<Record<RetentionField, string> | null>(null);
  const [failure, setFailure] = useState<unknown>(null);

  const reload = useCallback(async () => {
    setFailure(null);
    try {
      const retention = await session.api.get<Retention>(session.path("/retention"));
      setDraft({
        call_records_days: String(retention.call_records_days),
        voicemail_days: String(retention.voicemail_days),
      });
    } catch (error) {
      setFailure(error);
    }
  }, [session]);
  useEffect(() => {
    void reload();
  }, [reload]);

  if (failure !== null && draft === null) return <LoadError error={failure} onRetry={reload} />;
  if (draft === null) return <Loading />;

  async function save(event: Event) {
    event.preventDefault();
    if (draft === null) return;
    await form.run(async () => {
      const body = Object.fromEntries(RETENTION.map((name) => [name, numberOrText(draft[name])]));
      const answer = await session.api.call<Retention>("PATCH", session.path("/retention"), { body });
      setDraft({
        call_records_days: String(answer.data.call_records_days),
        voicemail_days: String(answer.data.voicemail_days),
      });
      session.announce(t.retentionSaved);
    }, Object.fromEntries(RETENTION.map((name) => [name, name])));
  }

  const labels: Record<RetentionField, string> = {
    call_records_days: t.callRecordsDays,
    voicemail_days: t.voicemailDays,
  };
  return (
    <form ref={form.formRef} onSubmit={save} noValidate class="panel settings" aria-busy={form.busy}>
      <fieldset>
        <legend>{t.retentionTitle}</legend>
        <p class="intro">{t.retentionIntro}</p>
        <FormError message={form.formError} />
        <div>
          {RETENTION.map((name) => (
            <TextField
              key={name}
              id={name}
              label={labels[name]}
              inputMode="numeric"
              value={draft[name]}
              onValue={(value) => setDraft((d) => (d === null ? d : { ...d, [name]: value }))}
              error={form.fieldErrors[name]}
            />
          ))}
        </div>
      </fieldset>
      <div class="buttons">
        <button type="submit" class="primary" disabled={form.busy || session.readOnly}>
          {form.busy ? t.saving : t.saveRetention}
        </button>
      </div>
    </form>
  );
}

type Reach = Pick<DirectoryEntry, "reachable_by_extension" | "reachable_by_name">;

export function DirectoryPage() {
  const session = useSession();
  const { t } = useI18n();
  const form = useFormState();
  const [entries, setEntries] = useState<DirectoryEntry[] | null>(null);
  const [draft, setDraft] = useState<Record<string, Reach>>({});
  const [failure, setFailure] = useState<unknown>(null);

  const reload = useCallback(async () => {
    setFailure(null);
    try {
      const list = await session.api.get<Items<DirectoryEntry>>(session.path("/directory"));
      setEntries(list.items);
      setDraft({});
    } catch (error) {
      setFailure(error);
    }
  }, [session]);
  useEffect(() => {
    void reload();
  }, [reload]);

  if (failure !== null && entries === null) return <LoadError error={failure} onRetry={reload} />;
  if (entries === null) return <Loading />;

  const current = (entry: DirectoryEntry): Reach =>
    draft[entry.number] ?? { reachable_by_extension: entry.reachable_by_extension, reachable_by_name: entry.reachable_by_name };
  const changed = entries.filter((entry) => {
    const now = current(entry);
    return (
      now.reachable_by_extension !== entry.reachable_by_extension || now.reachable_by_name !== entry.reachable_by_name
    );
  });

  function toggle(entry: DirectoryEntry, field: keyof Reach, value: boolean) {
    setDraft((d) => ({ ...d, [entry.number]: { ...current(entry), [field]: value } }));
  }

  async function save(event: Event) {
    event.preventDefault();
    form.clear();
    if (changed.length === 0) {
      session.announce(t.nothingToSave);
      return;
    }
    await form.run(
      async () => {
        const list = await session.api.call<Items<DirectoryEntry>>("PATCH", session.path("/directory"), {
          body: { entries: changed.map((entry) => ({ number: entry.number, ...current(entry) })) },
        });
        setEntries(list.data.items);
        setDraft({});
        session.announce(t.directorySaved);
      },
      (error) => ({ fieldErrors: {}, formError: splitError(t, error, {}).formError ?? errorText(t, error) }),
    );
  }

  return (
    <form ref={form.formRef} onSubmit={save} noValidate class="panel" aria-busy={form.busy}>
      <p class="intro">{t.directoryIntro}</p>
      <FormError message={form.formError} />
      {entries.length === 0 ? (
        <p>{t.noExtensions}</p>
      ) : (
        <div class="table-wrap">
          <table class="directory">
            <thead>
              <tr>
                <th scope="col">{t.number}</th>
                <th scope="col">{t.name}</th>
                <th scope="col" id="col-by-extension" class="center">
                  {t.reachableByExtension}
                </th>
                <th scope="col" id="col-by-name" class="center">
                  {t.reachableByName}
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => {
                const now = current(entry);
                const row = `dir-${entry.number}`;
                return (
                  <tr key={entry.number}>
                    <th scope="row" id={row}>
                      {entry.number}
                    </th>
                    <td id={`${row}-name`}>{personName(entry)}</td>
                    <td class="center">
                      <input
                        type="checkbox"
                        id={`${row}-by-extension`}
                        checked={now.reachable_by_extension}
                        aria-labelledby={`col-by-extension ${row} ${row}-name`}
                        onChange={(event) => toggle(entry, "reachable_by_extension", event.currentTarget.checked)}
                      />
                    </td>
                    <td class="center">
                      <input
                        type="checkbox"
                        id={`${row}-by-name`}
                        checked={now.reachable_by_name}
                        aria-labelledby={`col-by-name ${row} ${row}-name`}
                        onChange={(event) => toggle(entry, "reachable_by_name", event.currentTarget.checked)}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <p class="hint" aria-live="polite">
        {changed.length > 0 ? t.unsavedChanges(changed.length) : ""}
      </p>
      <div class="buttons">
        <button type="submit" class="primary" disabled={form.busy || session.readOnly}>
          {form.busy ? t.saving : t.save}
        </button>
        <a class="button-link" href="#/settings">
          {t.backToSettings}
        </a>
      </div>
    </form>
  );
}
