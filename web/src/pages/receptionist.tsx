// The Receptionist page: the greeting, and the ten keys as boxes; a box opens its form.

import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import {
  Dialog,
  FormError,
  LoadError,
  Loading,
  SelectField,
  splitError,
  useFormState,
  type Choice,
} from "../forms";
import { type Messages, useI18n } from "../i18n";
import { AnnouncementFields, type AnnouncementDraft, announcementBody, draftOf } from "../media";
import { type Session, draftChanged, useMedia, useSession } from "../session";
import { OverridePanel } from "./hours";
import {
  type Action,
  type ConferenceRoom,
  type Extension,
  type Items,
  type Key,
  type Menu,
  type MenuRef,
  type Prompt,
  type Receptionist,
  type RingGroup,
  type TargetKind,
  personName,
} from "../types";

// Keys in the order of a telephone keypad.
const KEYPAD = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];
const TARGET_KINDS: TargetKind[] = ["extension", "virtual_extension", "ring_group", "conference", "voicemail"];

export function firstWords(text: string, words = 6, chars = 48): string {
  const all = text.trim().split(/\s+/);
  let shown = all.slice(0, words).join(" ");
  if (shown.length > chars) shown = shown.slice(0, chars).trimEnd();
  return shown.length < text.trim().length ? `${shown}…` : shown;
}

/** What a key's box says, and a second line with more detail. */
export function assignmentText(t: Messages, key: Key): { main: string; detail: string | null } {
  if (!key.assigned || key.action === null) return { main: t.unassigned, detail: null };
  if (key.action === "dial_by_name") return { main: t.dialByName, detail: null };
  if (key.action === "play_announcement") {
    const prompt = key.prompt;
    if (prompt?.source === "tts" && prompt.text) return { main: t.announcementBox(firstWords(prompt.text)), detail: promptState(t, prompt) };
    return { main: t.announcementFile(prompt?.original_filename ?? "audio"), detail: prompt ? promptState(t, prompt) : null };
  }
  if (key.action === "open_menu") return { main: t.openMenuBox(key.menu?.name ?? "?"), detail: null };
  const target = key.target;
  if (target === null) return { main: t.transferCall, detail: null };
  return { main: t.transferBox(`${target.number} ${target.name}`.trim()), detail: t.targetKinds[target.kind] };
}

function promptState(t: Messages, prompt: Prompt): string | null {
  if (prompt.status === "pending") return t.promptPending;
  if (prompt.status === "failed") return t.promptFailed;
  return null;
}

export interface Targets {
  extensions: Extension[];
  ringGroups: RingGroup[];
  rooms: ConferenceRoom[];
  menus: MenuRef[];
}

export function targetChoices(targets: Targets, kind: TargetKind): Choice[] {
  switch (kind) {
    case "extension":
      return targets.extensions.filter((e) => e.kind === "physical").map(extensionChoice);
    case "virtual_extension":
      return targets.extensions.filter((e) => e.kind === "virtual").map(extensionChoice);
    case "voicemail":
      return targets.extensions.filter((e) => e.voicemail_enabled).map(extensionChoice);
    case "ring_group":
      return targets.ringGroups.map((g) => ({ value: g.number, label: `${g.number} ${g.name}` }));
    case "conference":
      return targets.rooms.map((r) => ({ value: r.number, label: `${r.number} ${r.name}` }));
  }
}

function extensionChoice(extension: Extension): Choice {
  return { value: extension.number, label: `${extension.number} ${personName(extension)}`.trim() };
}

interface Loaded {
  keys: Key[];
  keysEtag: string | null;
  receptionist: Receptionist;
  receptionistEtag: string | null;
  targets: Targets;
}

/** What a key may transfer to or open: the tenant's extensions, groups, rooms and menus. */
export async function loadTargets(session: Session): Promise<Targets> {
  const [extensions, ringGroups, rooms, menus] = await Promise.all([
    session.api.get<Items<Extension>>(session.path("/extensions")),
    session.api.get<Items<RingGroup>>(session.path("/ring-groups")),
    session.api.get<Items<ConferenceRoom>>(session.path("/conference-rooms")),
    session.api.get<Items<Menu>>(session.path("/menus")),
  ]);
  return {
    extensions: extensions.items,
    ringGroups: ringGroups.items,
    rooms: rooms.items,
    menus: menus.items.map((m) => ({ id: m.id, name: m.name })),
  };
}

async function load(session: Session): Promise<Loaded> {
  const [keys, receptionist, targets] = await Promise.all([
    session.api.call<Items<Key>>("GET", session.path("/receptionist/keys")),
    session.api.call<Receptionist>("GET", session.path("/receptionist")),
    loadTargets(session),
  ]);
  return {
    keys: keys.data.items,
    keysEtag: keys.etag,
    receptionist: receptionist.data,
    receptionistEtag: receptionist.etag,
    targets,
  };
}

export function ReceptionistPage() {
  const session = useSession();
  const { t } = useI18n();
  const [data, setData] = useState<Loaded | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [editingGreeting, setEditingGreeting] = useState(false);

  const reload = useCallback(async () => {
    setFailure(null);
    try {
      setData(await load(session));
    } catch (error) {
      setFailure(error);
    }
  }, [session]);
  useEffect(() => {
    void reload();
  }, [reload]);

  if (failure !== null && data === null) return <LoadError error={failure} onRetry={reload} />;
  if (data === null) return <Loading />;

  const editedKey = editing === null ? null : data.keys.find((k) => k.digit === editing) ?? null;

  return (
    <>
      <OverridePanel />
      <section class="panel" aria-labelledby="greeting-title">
        <h2 id="greeting-title">{t.greetingTitle}</h2>
        <p class="intro">{t.greetingIntro}</p>
        <GreetingSummary greeting={data.receptionist.greeting} />
        <button type="button" id="edit-greeting" onClick={() => setEditingGreeting(true)}>
          {t.editGreeting}
        </button>
      </section>
      <section class="panel" aria-labelledby="keys-title">
        <h2 id="keys-title">{t.keysTitle}</h2>
        <p class="intro">{t.keysIntro}</p>
        <Keypad keys={data.keys} idPrefix="key" onOpen={setEditing} />
      </section>
      {editedKey !== null ? (
        <KeyDialog
          key={editedKey.digit}
          keyItem={editedKey}
          etag={data.keysEtag}
          targets={data.targets}
          language={data.receptionist.language}
          keysPath="/receptionist/keys"
          onSaved={(keys, etag, message) => {
            setData((d) => (d === null ? d : { ...d, keys, keysEtag: etag }));
            setEditing(null);
            session.announce(message);
            draftChanged();
          }}
          onStale={async () => {
            const fresh = await load(session);
            setData(fresh);
          }}
          onClose={() => setEditing(null)}
        />
      ) : null}
      {editingGreeting ? (
        <GreetingDialog
          receptionist={data.receptionist}
          etag={data.receptionistEtag}
          onSaved={(receptionist, etag, message) => {
            setData((d) => (d === null ? d : { ...d, receptionist, receptionistEtag: etag }));
            setEditingGreeting(false);
            session.announce(message);
            draftChanged();
          }}
          onStale={async () => setData(await load(session))}
          onClose={() => setEditingGreeting(false)}
        />
      ) : null}
    </>
  );
}

/** A menu's ten keys as boxes, 1-9 then 0 as on a keypad; a box opens its form. */
export function Keypad({ keys, idPrefix, onOpen }: { keys: Key[]; idPrefix: string; onOpen: (digit: string) => void }) {
  const { t } = useI18n();
  return (
    <ul class="keypad">
      {KEYPAD.map((digit) => {
        const key = keys.find((k) => k.digit === digit);
        if (key === undefined) return null;
        const text = assignmentText(t, key);
        return (
          <li key={digit}>
            <button
              type="button"
              id={`${idPrefix}-${digit}`}
              class={key.assigned ? `key assigned ${key.action}` : "key unassigned"}
              data-digit={digit}
              aria-haspopup="dialog"
              onClick={() => onOpen(digit)}
            >
              <span class="sr-only">{t.key(digit)} </span>
              <span class="digit" aria-hidden="true">
                {digit}
              </span>
              <span class="assignment">{text.main}</span>
              {text.detail ? <span class="detail">{text.detail}</span> : null}
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function GreetingSummary({ greeting }: { greeting: Prompt | null }) {
  const { t } = useI18n();
  if (greeting === null) return <p class="greeting empty">{t.noGreeting}</p>;
  const state = promptState(t, greeting);
  return (
    <blockquote class="greeting" id="greeting-current">
      {greeting.source === "tts" ? greeting.text : t.announcementFile(greeting.original_filename ?? "audio")}
      {state ? <span class="detail"> ({state})</span> : null}
    </blockquote>
  );
}

interface KeyDraft {
  action: Action | "";
  targetKind: TargetKind;
  target: string;
  menu: string;
  announcement: AnnouncementDraft;
}

const KEY_FIELDS: Record<string, string> = {
  action: "action",
  prompt: "text",
  "prompt.text": "text",
  "prompt.language": "language",
  prompt_id: "file",
  "target.kind": "targetKind",
  "target.number": "target",
  target: "target",
  menu_id: "menu",
};

export function KeyDialog({
  keyItem,
  etag,
  targets,
  language,
  keysPath,
  ownMenu,
  onSaved,
  onStale,
  onClose,
}: {
  keyItem: Key;
  etag: string | null;
  targets: Targets;
  language: string;
  keysPath: string; // "/receptionist/keys" (edit and publish) or "/menus/<id>/keys" (draft)
  ownMenu?: string; // the menu's id: a key does not open its own menu

  onSaved: (keys: Key[], etag: string | null, message: string) => void;
  onStale: () => Promise<void>;
  onClose: () => void;
}) {
  const session = useSession();
  const readOnly = session.readOnly;
  const media = useMedia();
  const { t } = useI18n();
  const form = useFormState();
  const digit = keyItem.digit;
  const [draft, setDraft] = useState<KeyDraft>({
    action: keyItem.action ?? "",
    targetKind: keyItem.target?.kind ?? "extension",
    target: keyItem.target?.number ?? "",
    menu: keyItem.menu?.id ?? "",
    announcement: draftOf(keyItem.prompt, language),
  });
  const existingPrompt = keyItem.action === "play_announcement" ? keyItem.prompt : null;

  async function send(write: () => Promise<{ data: Items<Key>; etag: string | null }>, message: (keys: Key[]) => string) {
    await form.run(
      async () => {
        const answer = await write();
        onSaved(answer.data.items, answer.etag, message(answer.data.items));
      },
      async (error) => {
        if (!(error instanceof ApiError && error.status === 412)) {
          return splitError(t, error, { ...KEY_FIELDS, prompt_id: draft.announcement.source === "file" ? "file" : "text" });
        }
        await onStale().catch(() => undefined);
        return { fieldErrors: {}, formError: t.staleKeys };
      },
    );
  }

  function checked(): boolean {
    const errors: Record<string, string> = {};
    if (draft.action === "") errors.action = t.chooseAction;
    if (draft.action === "transfer" && draft.target === "") errors.target = t.chooseTarget;
    if (draft.action === "open_menu" && draft.menu === "") errors.menu = t.chooseMenu;
    if (
      draft.action === "play_announcement" &&
      media.caps.upload &&
      draft.announcement.source === "file" &&
      draft.announcement.file === null &&
      existingPrompt?.source !== "upload"
    )
      errors.file = t.chooseFile;
    if (Object.keys(errors).length > 0) {
      form.fail(errors, null);
      return false;
    }
    return true;
  }

  async function save(event: Event) {
    event.preventDefault();
    form.clear();
    if (!checked()) return;
    const action = draft.action as Action;
    await send(
      async () => {
        let body: Record<string, unknown> = { action };
        if (action === "play_announcement") {
          body = { ...body, ...(await announcementBody(session, media, draft.announcement, existingPrompt)) };
        } else if (action === "transfer") {
          body = { ...body, target: { kind: draft.targetKind, number: draft.target } };
        } else if (action === "open_menu") {
          body = { ...body, menu_id: draft.menu };
        }
        return session.api.call<Items<Key>>("PUT", session.path(`${keysPath}/${digit}`), { body, ifMatch: etag });
      },
      (keys) => t.keySaved(digit, assignmentText(t, keys[Number(digit)]).main),
    );
  }

  async function clearKey() {
    form.clear();
    await send(
      () => session.api.call<Items<Key>>("DELETE", session.path(`${keysPath}/${digit}`), { ifMatch: etag }),
      () => t.keyCleared(digit),
    );
  }

  const actionChoices: Choice[] = [
    { value: "", label: t.chooseAction, disabled: true },
    { value: "dial_by_name", label: t.dialByName },
    { value: "play_announcement", label: t.playAnnouncement },
    { value: "transfer", label: t.transferCall },
    { value: "open_menu", label: t.openMenu },
  ];
  const choices = targetChoices(targets, draft.targetKind);
  const menuChoices: Choice[] = targets.menus
    .filter((m) => m.id !== ownMenu)
    .map((m) => ({ value: m.id, label: m.name }));

  return (
    <Dialog title={t.key(digit)} onClose={onClose}>
      <form ref={form.formRef} onSubmit={save} noValidate aria-busy={form.busy}>
        <FormError message={form.formError} />
        <SelectField
          id="key-action"
          label={t.actionLabel}
          value={draft.action}
          onValue={(value) => setDraft((d) => ({ ...d, action: value as Action }))}
          choices={actionChoices}
          error={form.fieldErrors.action}
        />
        {draft.action === "play_announcement" ? (
          <AnnouncementFields
            idPrefix="key"
            draft={draft.announcement}
            setDraft={(update) => setDraft((d) => ({ ...d, announcement: update(d.announcement) }))}
            errors={form.fieldErrors}
            existing={existingPrompt}
            textLabel={t.announcementText}
          />
        ) : null}
        {draft.action === "transfer" ? (
          <>
            <SelectField
              id="key-target-kind"
              label={t.targetKind}
              value={draft.targetKind}
              onValue={(value) => setDraft((d) => ({ ...d, targetKind: value as TargetKind, target: "" }))}
              choices={TARGET_KINDS.map((kind) => ({ value: kind, label: t.targetKinds[kind] }))}
              error={form.fieldErrors.targetKind}
            />
            <SelectField
              id="key-target"
              label={t.target}
              value={draft.target}
              onValue={(target) => setDraft((d) => ({ ...d, target }))}
              choices={[{ value: "", label: choices.length ? t.chooseTarget : t.noTargets, disabled: true }, ...choices]}
              error={form.fieldErrors.target}
            />
          </>
        ) : null}
        {draft.action === "open_menu" ? (
          <SelectField
            id="key-menu"
            label={t.menuTarget}
            value={draft.menu}
            onValue={(menu) => setDraft((d) => ({ ...d, menu }))}
            choices={[{ value: "", label: menuChoices.length ? t.chooseMenu : t.noOtherMenu, disabled: true }, ...menuChoices]}
            error={form.fieldErrors.menu}
          />
        ) : null}
        <div class="buttons">
          <button type="submit" class="primary" disabled={form.busy || readOnly}>
            {form.busy ? t.saving : t.save}
          </button>
          <button type="button" onClick={onClose}>
            {t.cancel}
          </button>
          {keyItem.assigned ? (
            <button type="button" class="danger" onClick={clearKey} disabled={form.busy || readOnly}>
              {t.clearKey}
            </button>
          ) : null}
        </div>
      </form>
    </Dialog>
  );
}

const GREETING_FIELDS: Record<string, string> = {
  greeting: "text",
  "greeting.text": "text",
  "greeting.TtsPrompt.text": "text",
  "greeting.TtsPrompt.language": "language",
  "greeting.GreetingRef.prompt_id": "file",
  "greeting.prompt_id": "file",
};

function GreetingDialog({
  receptionist,
  etag,
  onSaved,
  onStale,
  onClose,
}: {
  receptionist: Receptionist;
  etag: string | null;
  onSaved: (receptionist: Receptionist, etag: string | null, message: string) => void;
  onStale: () => Promise<void>;
  onClose: () => void;
}) {
  const session = useSession();
  const readOnly = session.readOnly;
  const media = useMedia();
  const { t } = useI18n();
  const form = useFormState();
  const existing = receptionist.greeting;
  const [draft, setDraft] = useState<AnnouncementDraft>(draftOf(existing, receptionist.language));

  async function write(greeting: unknown, message: string) {
    await form.run(
      async () => {
        const answer = await session.api.call<Receptionist>("PATCH", session.path("/receptionist"), {
          body: { greeting: await greeting },
          ifMatch: etag,
        });
        onSaved(answer.data, answer.etag, message);
      },
      async (error) => {
        if (!(error instanceof ApiError && error.status === 412)) return splitError(t, error, GREETING_FIELDS);
        await onStale().catch(() => undefined);
        return { fieldErrors: {}, formError: t.staleSettings };
      },
    );
  }

  async function save(event: Event) {
    event.preventDefault();
    form.clear();
    if (media.caps.upload && draft.source === "file" && draft.file === null && existing?.source !== "upload") {
      form.fail({ file: t.chooseFile }, null);
      return;
    }
    const body = announcementBody(session, media, draft, existing).then((made) =>
      "prompt" in made ? made.prompt : { prompt_id: made.prompt_id },
    );
    await write(body, t.greetingSaved); // an upload that fails is reported like a refused save
  }

  return (
    <Dialog title={t.editGreeting} onClose={onClose}>
      <form ref={form.formRef} onSubmit={save} noValidate aria-busy={form.busy}>
        <FormError message={form.formError} />
        <AnnouncementFields
          idPrefix="greeting"
          draft={draft}
          setDraft={(update) => setDraft(update)}
          errors={form.fieldErrors}
          existing={existing}
          textLabel={t.greetingText}
        />
        <div class="buttons">
          <button type="submit" class="primary" disabled={form.busy || readOnly}>
            {form.busy ? t.saving : t.save}
          </button>
          <button type="button" onClick={onClose}>
            {t.cancel}
          </button>
          {existing !== null ? (
            <button
              type="button"
              class="danger"
              disabled={form.busy || readOnly}
              onClick={() => {
                form.clear();
                void write(null, t.greetingRemoved);
              }}
            >
              {t.removeGreeting}
            </button>
          ) : null}
        </div>
      </form>
    </Dialog>
  );
}
