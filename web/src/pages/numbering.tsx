// The numbering plan's three kinds of owners: extensions, ring groups and conference rooms.
// Each is a table with an "add" button; a row can be edited (dialog) or deleted (confirmation).

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import {
  CheckboxField,
  ConfirmDelete,
  Dialog,
  type FieldErrors,
  FileField,
  FormError,
  LoadError,
  Loading,
  SelectField,
  TextAreaField,
  TextField,
  useFormState,
} from "../forms";
import { ApiError } from "../api";
import { useI18n } from "../i18n";
import { ListenButton, localeChoices, uploadFile } from "../media";
import { Recorder, canRecord, recordingFile } from "../recorder";
import { type Media, type Session, useMedia, useSession } from "../session";
import {
  type ConferenceRoom,
  type Device,
  type Extension,
  type ExtensionKind,
  type Items,
  type NoAnswerAction,
  type Prompt,
  type RingGroup,
  personName,
} from "../types";

/** A list from the API, reloadable. */
function useList<T>(path: string): { items: T[] | null; failure: unknown; reload: () => Promise<void> } {
  const session = useSession();
  const [items, setItems] = useState<T[] | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const reload = useCallback(async () => {
    setFailure(null);
    try {
      setItems((await session.api.get<Items<T>>(session.path(path))).items);
    } catch (error) {
      setFailure(error);
    }
  }, [session, path]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { items, failure, reload };
}

type Editing<T> = { mode: "create" } | { mode: "edit"; item: T } | { mode: "delete"; item: T } | null;

/** The shared frame of a list page: the add button, the table or its empty message. */
function ListFrame({
  addLabel,
  addId,
  onAdd,
  empty,
  isEmpty,
  children,
}: {
  addLabel: string;
  addId: string;
  onAdd: () => void;
  empty: string;
  isEmpty: boolean;
  children: ComponentChildren;
}) {
  const { readOnly } = useSession();
  return (
    <div class="panel">
      <div class="toolbar">
        <button type="button" class="primary" id={addId} onClick={onAdd} disabled={readOnly}>
          <span aria-hidden="true">+ </span>
          {addLabel}
        </button>
      </div>
      {isEmpty ? <p>{empty}</p> : <div class="table-wrap">{children}</div>}
    </div>
  );
}

function RowActions({ name, onEdit, onDelete, id }: { name: string; onEdit: () => void; onDelete: () => void; id: string }) {
  const { t } = useI18n();
  const { readOnly } = useSession();
  return (
    <td class="row-actions">
      <button type="button" id={`${id}-edit`} onClick={onEdit} aria-label={`${t.edit} ${name}`}>
        {t.edit}
      </button>
      <button type="button" id={`${id}-delete`} class="danger" onClick={onDelete} aria-label={`${t.delete} ${name}`} disabled={readOnly}>
        {t.delete}
      </button>
    </td>
  );
}

async function saveItem<T>(
  session: Session,
  collection: string,
  editing: T | null,
  key: (item: T) => string,
  body: Record<string, unknown>,
): Promise<T> {
  const path = editing === null ? session.path(collection) : session.path(`${collection}/${encodeURIComponent(key(editing))}`);
  return (await session.api.call<T>(editing === null ? "POST" : "PATCH", path, { body })).data;
}

function blankToNull(value: string): string | null {
  return value.trim() === "" ? null : value.trim();
}

function intOrText(value: string): number | string {
  return /^\s*\d+\s*$/.test(value) ? Number(value) : value;
}

// --- extensions ----------------------------------------------------------------------------

/** What an extension rings, and what stops it: its device or outside number, with a flag when
 *  it is a dial string of old or a number the carrier's policy now refuses. */
function Destination({ extension }: { extension: Extension }) {
  const { t } = useI18n();
  if (extension.kind === "physical") {
    if (extension.device !== null) return <code>{extension.device}</code>;
    return (
      <span class="flag" id={`extension-${extension.number}-flag`}>
        {t.legacyDialString(extension.legacy_dial_string ?? "")}
      </span>
    );
  }
  return (
    <>
      <code>{extension.external_number}</code>
      {extension.destination_allowed === false ? (
        <span
          class="flag"
          id={`extension-${extension.number}-flag`}
          title={extension.destination_refusal ? t.refusal(extension.destination_refusal) : undefined}
        >
          {t.notAllowed}
        </span>
      ) : null}
    </>
  );
}

export function ExtensionsPage() {
  const session = useSession();
  const { t } = useI18n();
  const list = useList<Extension>("/extensions");
  const devices = useList<Device>("/devices");
  const [editing, setEditing] = useState<Editing<Extension>>(null);
  if (list.items === null || devices.items === null) {
    const failure = list.failure ?? devices.failure;
    return failure ? <LoadError error={failure} onRetry={() => void list.reload().then(devices.reload)} /> : <Loading />;
  }
  return (
    <>
      <ListFrame
        addLabel={t.addExtension}
        addId="add-extension"
        onAdd={() => setEditing({ mode: "create" })}
        empty={t.noExtensions}
        isEmpty={list.items.length === 0}
      >
        <table>
          <thead>
            <tr>
              <th scope="col">{t.number}</th>
              <th scope="col">{t.name}</th>
              <th scope="col" class="optional">{t.kind}</th>
              <th scope="col" class="optional">{t.destination}</th>
              <th scope="col" class="optional">{t.voicemailEnabled}</th>
              <th scope="col">
                <span class="sr-only">{t.actions}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((extension) => (
              <tr key={extension.number}>
                <th scope="row">{extension.number}</th>
                <td>{personName(extension)}</td>
                <td class="optional">{extension.kind === "physical" ? t.physical : t.virtual}</td>
                <td class="optional">
                  <Destination extension={extension} />
                </td>
                <td class="optional">
                  {extension.voicemail_enabled ? t.yes : t.no}
                  {extension.voicemail_enabled && extension.voicemail_greeting ? ` · ${t.ownGreeting}` : ""}
                  {extension.voicemail_enabled && extension.voicemail_email ? (
                    <span class="email-state"> · {extension.voicemail_email}</span>
                  ) : null}
                </td>
                <RowActions
                  id={`extension-${extension.number}`}
                  name={t.extensionNoun(extension.number)}
                  onEdit={() => setEditing({ mode: "edit", item: extension })}
                  onDelete={() => setEditing({ mode: "delete", item: extension })}
                />
              </tr>
            ))}
          </tbody>
        </table>
      </ListFrame>
      {editing?.mode === "create" || editing?.mode === "edit" ? (
        <ExtensionDialog
          extension={editing.mode === "edit" ? editing.item : null}
          devices={devices.items}
          onClose={() => setEditing(null)}
          onSaved={async (saved) => {
            setEditing(null);
            session.announce(t.extensionSaved(saved.number));
            await list.reload();
          }}
        />
      ) : null}
      {editing?.mode === "delete" ? (
        <ConfirmDelete
          what={t.extensionNoun(editing.item.number)}
          onClose={() => setEditing(null)}
          onConfirm={async () => {
            await session.api.call("DELETE", session.path(`/extensions/${editing.item.number}`));
            setEditing(null);
            session.announce(t.extensionDeleted(editing.item.number));
            await list.reload();
          }}
        />
      ) : null}
    </>
  );
}

function ExtensionDialog({
  extension,
  devices,
  onClose,
  onSaved,
}: {
  extension: Extension | null;
  devices: Device[];
  onClose: () => void;
  onSaved: (extension: Extension) => Promise<void>;
}) {
  const session = useSession();
  const { t } = useI18n();
  const form = useFormState();
  const [draft, setDraft] = useState({
    number: extension?.number ?? "",
    kind: extension?.kind ?? ("physical" as ExtensionKind),
    first_name: extension?.first_name ?? "",
    last_name: extension?.last_name ?? "",
    device: extension?.device ?? "",
    external_number: extension?.external_number ?? "",
    voicemail_enabled: extension?.voicemail_enabled ?? true,
    reachable_by_extension: extension?.reachable_by_extension ?? true,
    reachable_by_name: extension?.reachable_by_name ?? true,
    voicemail_email: extension?.voicemail_email ?? "",
    voicemail_greeting: "",
    spoken_name: "",
  });
  const set = (field: keyof typeof draft) => (value: string | boolean) => setDraft((d) => ({ ...d, [field]: value }));
  const media = useMedia();
  const existing = extension?.voicemail_greeting ?? null;
  const [greeting, setGreeting] = useState<GreetingDraft>(() => greetingDraftOf(existing, session.tenant.locale));
  const spokenExisting = extension?.spoken_name ?? null;
  const [spoken, setSpoken] = useState<GreetingDraft>(() => greetingDraftOf(spokenExisting, session.tenant.locale));

  async function save(event: Event) {
    event.preventDefault();
    const body: Record<string, unknown> = {
      number: draft.number.trim(),
      kind: draft.kind,
      first_name: draft.first_name,
      last_name: draft.last_name,
      voicemail_enabled: draft.voicemail_enabled,
      reachable_by_extension: draft.reachable_by_extension,
      reachable_by_name: draft.reachable_by_name,
      voicemail_email: blankToNull(draft.voicemail_email),
    };
    if (draft.kind === "physical") body.device = blankToNull(draft.device);
    else body.external_number = blankToNull(draft.external_number);
    const fields = Object.fromEntries(Object.keys(draft).map((name) => [name, name]));
    await form.run(async () => {
      const chosen = await greetingBody(session, media, greeting, existing, draft.number.trim(), t.greetingNeedsAudio);
      if (chosen !== undefined) body.voicemail_greeting = chosen;
      const number = draft.number.trim();
      const name = await greetingBody(session, media, spoken, spokenExisting, number, t.spokenNameNeedsAudio, "spoken_name", `name-${number || "new"}`);
      if (name !== undefined) body.spoken_name = name;
      await onSaved(await saveItem(session, "/extensions", extension, (e) => e.number, body));
    }, fields);
  }

  return (
    <Dialog title={extension === null ? t.addExtension : t.editExtension(extension.number)} onClose={onClose}>
      <form ref={form.formRef} onSubmit={save} noValidate aria-busy={form.busy}>
        <FormError message={form.formError} />
        <div class="grid">
          <TextField id="number" label={t.number} inputMode="numeric" value={draft.number} onValue={set("number")} error={form.fieldErrors.number} />
          <SelectField
            id="kind"
            label={t.kind}
            value={draft.kind}
            onValue={set("kind")}
            choices={[
              { value: "physical", label: t.physical },
              { value: "virtual", label: t.virtual },
            ]}
            error={form.fieldErrors.kind}
          />
          <TextField id="first_name" label={t.firstName} autoComplete="off" value={draft.first_name} onValue={set("first_name")} error={form.fieldErrors.first_name} />
          <TextField id="last_name" label={t.lastName} autoComplete="off" value={draft.last_name} onValue={set("last_name")} error={form.fieldErrors.last_name} />
        </div>
        {draft.kind === "physical" ? (
          <SelectField
            id="device"
            label={t.device}
            hint={
              devices.length === 0
                ? t.noDevices
                : extension?.legacy_dial_string && draft.device === ""
                  ? t.legacyDialString(extension.legacy_dial_string)
                  : t.deviceHint
            }
            value={draft.device}
            onValue={set("device")}
            choices={[
              { value: "", label: t.chooseDevice, disabled: true },
              ...devices.map((device) => ({ value: device.name, label: t.deviceChoice(device.name, device.endpoint) })),
            ]}
            error={form.fieldErrors.device}
          />
        ) : (
          <TextField
            id="external_number"
            label={t.externalNumber}
            hint={
              extension?.destination_allowed === false && draft.external_number === extension.external_number && extension.destination_refusal
                ? `${t.refusal(extension.destination_refusal)} ${t.notAllowedHint}`
                : t.externalNumberHint
            }
            inputMode="tel"
            value={draft.external_number}
            onValue={set("external_number")}
            error={form.fieldErrors.external_number}
          />
        )}
        <CheckboxField id="voicemail_enabled" label={t.voicemailEnabled} checked={draft.voicemail_enabled} onChecked={set("voicemail_enabled")} error={form.fieldErrors.voicemail_enabled} />
        {draft.voicemail_enabled ? (
          <>
            <TextField
              id="voicemail_email"
              label={t.voicemailEmail}
              hint={t.voicemailEmailHint}
              type="email"
              autoComplete="off"
              spellcheck={false}
              value={draft.voicemail_email}
              onValue={set("voicemail_email")}
              error={form.fieldErrors.voicemail_email}
            />
            <GreetingFields draft={greeting} setDraft={setGreeting} existing={existing} errors={form.fieldErrors} />
          </>
        ) : null}
        <CheckboxField
          id="reachable_by_extension"
          label={t.reachableByExtension}
          checked={draft.reachable_by_extension}
          onChecked={set("reachable_by_extension")}
          error={form.fieldErrors.reachable_by_extension}
        />
        <CheckboxField
          id="reachable_by_name"
          label={t.reachableByName}
          checked={draft.reachable_by_name}
          onChecked={set("reachable_by_name")}
          error={form.fieldErrors.reachable_by_name}
        />
        <GreetingFields
          draft={spoken}
          setDraft={setSpoken}
          existing={spokenExisting}
          errors={form.fieldErrors}
          field="spoken_name"
          legend={t.spokenName}
          standardLabel={t.spokenNameStandard}
          textLabel={t.spokenNameText}
          sourceLabels={{ text: t.spokenNameSpelt, file: t.spokenNameFile, record: t.spokenNameRecord }}
        />
        <DialogButtons busy={form.busy} onClose={onClose} />
      </form>
    </Dialog>
  );
}

type GreetingSource = "standard" | "text" | "file" | "record";

interface GreetingDraft {
  source: GreetingSource;
  text: string;
  language: string;
  file: File | null;
  recorded: Blob | null;
}

function greetingDraftOf(prompt: Prompt | null, locale: string): GreetingDraft {
  const source: GreetingSource = prompt === null ? "standard" : prompt.source === "tts" ? "text" : "file";
  return {
    source,
    text: prompt?.source === "tts" ? (prompt.text ?? "") : "",
    language: prompt?.language ?? locale,
    file: null,
    recorded: null,
  };
}

/**
 * What to send as the extension's voicemail greeting: null (the standard one), text to speak,
 * or a prompt (a file or a recording, uploaded here first); undefined keeps the one it has.
 */
async function greetingBody(
  session: Session,
  media: Media,
  draft: GreetingDraft,
  existing: Prompt | null,
  number: string,
  needsAudio: string,
  field = "voicemail_greeting",
  fileName = `voicemail-greeting-${number || "new"}`,
): Promise<unknown> {
  const keeps = existing !== null && existing.source !== "tts";
  switch (draft.source) {
    case "standard":
      return null;
    case "text":
      if (existing?.source === "tts" && existing.text === draft.text.trim() && existing.language === draft.language)
        return undefined;
      return { text: draft.text, language: draft.language };
    case "file":
    case "record": {
      const file =
        draft.source === "file"
          ? draft.file
          : draft.recorded && recordingFile(draft.recorded, fileName);
      if (file === null) {
        if (keeps && draft.source === "file") return undefined;
        throw new ApiError(422, "needs_audio", needsAudio, field, {});
      }
      try {
        return { prompt_id: (await uploadFile(session, media, file, draft.language)).id };
      } catch (error) {
        if (error instanceof ApiError) {
          throw new ApiError(error.status, error.code, error.message, field, error.details);
        }
        throw error;
      }
    }
  }
}

/** A prompt chosen for an extension (its voicemail greeting, its spoken name): the standard
 *  one, text read aloud, a file, or a recording made here. */
function GreetingFields({
  draft,
  setDraft,
  existing,
  errors,
  field = "voicemail_greeting",
  legend,
  standardLabel,
  textLabel,
  sourceLabels = {},
}: {
  draft: GreetingDraft;
  setDraft: (update: (draft: GreetingDraft) => GreetingDraft) => void;
  existing: Prompt | null;
  errors: FieldErrors;
  field?: string;
  legend?: string;
  standardLabel?: string;
  textLabel?: string;
  sourceLabels?: Partial<Record<GreetingSource, string>>;
}) {
  const session = useSession();
  const { t, lang } = useI18n();
  const upload = useMedia().caps.upload;
  const sources: GreetingSource[] = ["standard", "text", ...(upload ? (["file"] as const) : []), ...(upload && canRecord() ? (["record"] as const) : [])];
  const labels: Record<GreetingSource, string> = {
    standard: standardLabel ?? t.greetingStandard,
    text: t.greetingSpoken,
    file: t.sourceFile,
    record: t.greetingRecord,
    ...sourceLabels,
  };
  const error = errors[field];
  return (
    <fieldset class={error ? "choice invalid" : "choice"} aria-describedby={error ? `${field}-error` : undefined}>
      <legend>{legend ?? t.voicemailGreeting}</legend>
      {sources.map((value) => (
        <label key={value}>
          <input
            type="radio"
            name={`${field}_source`}
            id={`${field}-${value}`}
            value={value}
            checked={draft.source === value}
            onChange={() => setDraft((d) => ({ ...d, source: value }))}
          />
          {labels[value]}
        </label>
      ))}
      {draft.source === "text" ? (
        <>
          <TextAreaField
            id={`${field}_text`}
            label={textLabel ?? t.greetingTextLabel}
            hint={t.announcementTextHint}
            value={draft.text}
            onValue={(text) => setDraft((d) => ({ ...d, text }))}
          />
          <SelectField
            id={`${field}_language`}
            label={t.voiceLanguage}
            value={draft.language}
            onValue={(language) => setDraft((d) => ({ ...d, language }))}
            choices={localeChoices(lang, draft.language)}
          />
        </>
      ) : null}
      {draft.source === "file" ? (
        <FileField
          id={`${field}_file`}
          label={t.audioFile}
          hint={
            existing?.source === "upload" && existing.original_filename
              ? `${t.audioFileHint} ${t.currentFile(existing.original_filename)}`
              : t.audioFileHint
          }
          onFile={(file) => setDraft((d) => ({ ...d, file }))}
        />
      ) : null}
      {draft.source === "record" ? (
        <Recorder id={`${field}_recorder`} onRecorded={(recorded) => setDraft((d) => ({ ...d, recorded }))} />
      ) : null}
      {existing !== null && draft.source !== "standard" ? (
        <ListenButton id={`${field}-listen`} audio={() => session.api.blob(session.path(`/prompts/${existing.id}/audio`))} />
      ) : null}
      {error ? (
        <p class="field-error" id={`${field}-error`} role="alert">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

function DialogButtons({ busy, onClose }: { busy: boolean; onClose: () => void }) {
  const { t } = useI18n();
  const { readOnly } = useSession();
  return (
    <div class="buttons">
      <button type="submit" class="primary" disabled={busy || readOnly}>
        {busy ? t.saving : t.save}
      </button>
      <button type="button" onClick={onClose}>
        {t.cancel}
      </button>
    </div>
  );
}

// --- ring groups ---------------------------------------------------------------------------

export function RingGroupsPage() {
  const session = useSession();
  const { t } = useI18n();
  const list = useList<RingGroup>("/ring-groups");
  const extensions = useList<Extension>("/extensions");
  const [editing, setEditing] = useState<Editing<RingGroup>>(null);
  if (list.items === null || extensions.items === null) {
    const failure = list.failure ?? extensions.failure;
    return failure ? <LoadError error={failure} onRetry={() => void list.reload().then(extensions.reload)} /> : <Loading />;
  }
  const names = new Map(extensions.items.map((e) => [e.number, `${e.number} ${personName(e)}`.trim()]));
  function noAnswerSummary(group: RingGroup, names: Map<string, string>): string {
    const { action, extension } = group.no_answer;
    const target = extension === null ? "" : (names.get(extension) ?? extension);
    if (action === "voicemail") return t.noAnswerVoicemail(target);
    if (action === "extension") return t.noAnswerTransfer(target);
    return t.noAnswerActions[action];
  }
  return (
    <>
      <ListFrame
        addLabel={t.addRingGroup}
        addId="add-ring-group"
        onAdd={() => setEditing({ mode: "create" })}
        empty={t.noRingGroups}
        isEmpty={list.items.length === 0}
      >
        <table>
          <thead>
            <tr>
              <th scope="col">{t.number}</th>
              <th scope="col">{t.name}</th>
              <th scope="col" class="optional">{t.strategy}</th>
              <th scope="col">{t.members}</th>
              <th scope="col" class="optional">{t.noAnswer}</th>
              <th scope="col">
                <span class="sr-only">{t.actions}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((group) => (
              <tr key={group.number}>
                <th scope="row">{group.number}</th>
                <td>{group.name}</td>
                <td class="optional">
                  {group.strategy === "simultaneous" ? t.simultaneous : t.sequential} ({group.ring_seconds}
                  {"\u00a0"}s)
                </td>
                <td>{group.members.length ? group.members.map((m) => names.get(m) ?? m).join(", ") : t.noMembers}</td>
                <td class="optional">{noAnswerSummary(group, names)}</td>
                <RowActions
                  id={`ring-group-${group.number}`}
                  name={t.ringGroupNoun(group.number)}
                  onEdit={() => setEditing({ mode: "edit", item: group })}
                  onDelete={() => setEditing({ mode: "delete", item: group })}
                />
              </tr>
            ))}
          </tbody>
        </table>
      </ListFrame>
      {editing?.mode === "create" || editing?.mode === "edit" ? (
        <RingGroupDialog
          group={editing.mode === "edit" ? editing.item : null}
          extensions={extensions.items}
          onClose={() => setEditing(null)}
          onSaved={async (saved) => {
            setEditing(null);
            session.announce(t.ringGroupSaved(saved.number));
            await list.reload();
          }}
        />
      ) : null}
      {editing?.mode === "delete" ? (
        <ConfirmDelete
          what={t.ringGroupNoun(editing.item.number)}
          onClose={() => setEditing(null)}
          onConfirm={async () => {
            await session.api.call("DELETE", session.path(`/ring-groups/${editing.item.number}`));
            setEditing(null);
            session.announce(t.ringGroupDeleted(editing.item.number));
            await list.reload();
          }}
        />
      ) : null}
    </>
  );
}

function RingGroupDialog({
  group,
  extensions,
  onClose,
  onSaved,
}: {
  group: RingGroup | null;
  extensions: Extension[];
  onClose: () => void;
  onSaved: (group: RingGroup) => Promise<void>;
}) {
  const session = useSession();
  const { t } = useI18n();
  const form = useFormState();
  const [draft, setDraft] = useState({
    number: group?.number ?? "",
    name: group?.name ?? "",
    strategy: group?.strategy ?? "simultaneous",
    ring_seconds: String(group?.ring_seconds ?? 20),
    members: group?.members ?? ([] as string[]),
    no_answer_action: group?.no_answer.action ?? ("menu" as NoAnswerAction),
    no_answer_extension: group?.no_answer.extension ?? "",
  });
  const needsExtension = draft.no_answer_action === "voicemail" || draft.no_answer_action === "extension";

  async function save(event: Event) {
    event.preventDefault();
    const body = {
      number: draft.number.trim(),
      name: draft.name,
      strategy: draft.strategy,
      ring_seconds: intOrText(draft.ring_seconds),
      members: draft.members,
      no_answer: { action: draft.no_answer_action, extension: needsExtension ? blankToNull(draft.no_answer_extension) : null },
    };
    await form.run(async () => {
      await onSaved(await saveItem(session, "/ring-groups", group, (g) => g.number, body));
    }, {
      number: "number",
      name: "name",
      strategy: "strategy",
      ring_seconds: "ring_seconds",
      members: "members",
      "no_answer.extension": "no_answer_extension",
      "no_answer.action": "no_answer_action",
      no_answer: "no_answer_action",
    });
  }

  function toggleMember(number: string, on: boolean) {
    setDraft((d) => ({
      ...d,
      members: on ? [...d.members.filter((m) => m !== number), number] : d.members.filter((m) => m !== number),
    }));
  }

  return (
    <Dialog title={group === null ? t.addRingGroup : t.editRingGroup(group.number)} onClose={onClose}>
      <form ref={form.formRef} onSubmit={save} noValidate aria-busy={form.busy}>
        <FormError message={form.formError} />
        <div class="grid">
          <TextField id="number" label={t.number} inputMode="numeric" value={draft.number} onValue={(number) => setDraft((d) => ({ ...d, number }))} error={form.fieldErrors.number} />
          <TextField id="name" label={t.name} autoComplete="off" value={draft.name} onValue={(name) => setDraft((d) => ({ ...d, name }))} error={form.fieldErrors.name} />
          <SelectField
            id="strategy"
            label={t.strategy}
            value={draft.strategy}
            onValue={(strategy) => setDraft((d) => ({ ...d, strategy: strategy as RingGroup["strategy"] }))}
            choices={[
              { value: "simultaneous", label: t.simultaneous },
              { value: "sequential", label: t.sequential },
            ]}
            error={form.fieldErrors.strategy}
          />
          <TextField
            id="ring_seconds"
            label={t.ringSeconds}
            inputMode="numeric"
            value={draft.ring_seconds}
            onValue={(ring_seconds) => setDraft((d) => ({ ...d, ring_seconds }))}
            error={form.fieldErrors.ring_seconds}
          />
        </div>
        <fieldset class={form.fieldErrors.members ? "members invalid" : "members"} aria-describedby={form.fieldErrors.members ? "members-error" : undefined}>
          <legend>{t.members}</legend>
          {extensions.length === 0 ? <p class="hint">{t.noExtensions}</p> : null}
          {extensions.map((extension) => (
            <label key={extension.number}>
              <input
                type="checkbox"
                checked={draft.members.includes(extension.number)}
                onChange={(event) => toggleMember(extension.number, event.currentTarget.checked)}
                aria-invalid={form.fieldErrors.members ? "true" : undefined}
              />
              {`${extension.number} ${personName(extension)}`.trim()}
            </label>
          ))}
          {form.fieldErrors.members ? (
            <p class="field-error" id="members-error">
              {form.fieldErrors.members}
            </p>
          ) : null}
        </fieldset>
        <div class="grid">
          <SelectField
            id="no_answer_action"
            label={t.noAnswer}
            value={draft.no_answer_action}
            onValue={(value) => setDraft((d) => ({ ...d, no_answer_action: value as NoAnswerAction }))}
            choices={(["menu", "hangup", "voicemail", "extension"] as const).map((value) => ({ value, label: t.noAnswerActions[value] }))}
            error={form.fieldErrors.no_answer_action}
          />
          {needsExtension ? (
            <SelectField
              id="no_answer_extension"
              label={t.noAnswerExtension}
              value={draft.no_answer_extension}
              onValue={(value) => setDraft((d) => ({ ...d, no_answer_extension: value }))}
              choices={[
                { value: "", label: t.chooseTarget, disabled: true },
                ...extensions.map((e) => ({ value: e.number, label: `${e.number} ${personName(e)}`.trim() })),
              ]}
              error={form.fieldErrors.no_answer_extension}
            />
          ) : null}
        </div>
        <DialogButtons busy={form.busy} onClose={onClose} />
      </form>
    </Dialog>
  );
}

// --- conference rooms ----------------------------------------------------------------------

export function RoomsPage() {
  const session = useSession();
  const { t } = useI18n();
  const list = useList<ConferenceRoom>("/conference-rooms");
  const [editing, setEditing] = useState<Editing<ConferenceRoom>>(null);
  if (list.items === null) return list.failure ? <LoadError error={list.failure} onRetry={list.reload} /> : <Loading />;
  return (
    <>
      <ListFrame addLabel={t.addRoom} addId="add-room" onAdd={() => setEditing({ mode: "create" })} empty={t.noRooms} isEmpty={list.items.length === 0}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t.number}</th>
              <th scope="col">{t.name}</th>
              <th scope="col" class="optional">{t.pin}</th>
              <th scope="col">
                <span class="sr-only">{t.actions}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((room) => (
              <tr key={room.number}>
                <th scope="row">{room.number}</th>
                <td>{room.name}</td>
                <td class="optional">
                  {room.has_pin ? t.yes : t.no}
                  {room.pin_too_short ? (
                    <span class="flag" id={`room-${room.number}-flag`}>
                      {t.pinTooShort}
                    </span>
                  ) : null}
                </td>
                <RowActions
                  id={`room-${room.number}`}
                  name={t.roomNoun(room.number)}
                  onEdit={() => setEditing({ mode: "edit", item: room })}
                  onDelete={() => setEditing({ mode: "delete", item: room })}
                />
              </tr>
            ))}
          </tbody>
        </table>
      </ListFrame>
      {editing?.mode === "create" || editing?.mode === "edit" ? (
        <RoomDialog
          room={editing.mode === "edit" ? editing.item : null}
          onClose={() => setEditing(null)}
          onSaved={async (saved) => {
            setEditing(null);
            session.announce(t.roomSaved(saved.number));
            await list.reload();
          }}
        />
      ) : null}
      {editing?.mode === "delete" ? (
        <ConfirmDelete
          what={t.roomNoun(editing.item.number)}
          onClose={() => setEditing(null)}
          onConfirm={async () => {
            await session.api.call("DELETE", session.path(`/conference-rooms/${editing.item.number}`));
            setEditing(null);
            session.announce(t.roomDeleted(editing.item.number));
            await list.reload();
          }}
        />
      ) : null}
    </>
  );
}

function RoomDialog({
  room,
  onClose,
  onSaved,
}: {
  room: ConferenceRoom | null;
  onClose: () => void;
  onSaved: (room: ConferenceRoom) => Promise<void>;
}) {
  const session = useSession();
  const { t } = useI18n();
  const form = useFormState();
  // A PIN is never shown again once saved: a room that has one starts with the field empty
  // ("keep it"); asking for one where there was none suggests six random digits.
  const [draft, setDraft] = useState({ number: room?.number ?? "", name: room?.name ?? "", askPin: room?.has_pin ?? false, pin: "" });
  const keepsPin = room?.has_pin === true && draft.askPin;

  function askPin(on: boolean) {
    setDraft((d) => ({ ...d, askPin: on, pin: on && !room?.has_pin && d.pin === "" ? randomPin() : d.pin }));
  }

  async function save(event: Event) {
    event.preventDefault();
    await form.run(async () => {
      const body: Record<string, unknown> = { number: draft.number.trim(), name: draft.name };
      if (!draft.askPin) body.pin = null;
      else if (!(keepsPin && draft.pin.trim() === "")) body.pin = draft.pin.trim();
      await onSaved(await saveItem(session, "/conference-rooms", room, (r) => r.number, body));
    }, { number: "number", name: "name", pin: "pin" });
  }

  return (
    <Dialog title={room === null ? t.addRoom : t.editRoom(room.number)} onClose={onClose}>
      <form ref={form.formRef} onSubmit={save} noValidate aria-busy={form.busy}>
        <FormError message={form.formError} />
        <div class="grid">
          <TextField id="number" label={t.number} inputMode="numeric" value={draft.number} onValue={(number) => setDraft((d) => ({ ...d, number }))} error={form.fieldErrors.number} />
          <TextField id="name" label={t.name} autoComplete="off" value={draft.name} onValue={(name) => setDraft((d) => ({ ...d, name }))} error={form.fieldErrors.name} />
        </div>
        <CheckboxField id="ask_pin" label={t.askPin} checked={draft.askPin} onChecked={askPin} />
        {draft.askPin ? (
          <TextField
            id="pin"
            label={t.pin}
            hint={keepsPin ? (room?.pin_too_short ? `${t.pinTooShort}. ${t.pinKeepHint}` : t.pinKeepHint) : t.pinHint}
            inputMode="numeric"
            autoComplete="off"
            value={draft.pin}
            onValue={(pin) => setDraft((d) => ({ ...d, pin }))}
            error={form.fieldErrors.pin}
          />
        ) : null}
        <DialogButtons busy={form.busy} onClose={onClose} />
      </form>
    </Dialog>
  );
}

/** Six random digits: the PIN the form suggests (4 to 12 are accepted). */
function randomPin(): string {
  const digits = new Uint32Array(6);
  crypto.getRandomValues(digits);
  return Array.from(digits, (n) => String(n % 10)).join("");
}
