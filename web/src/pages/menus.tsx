// The Menus page: every menu of the receptionist, its language and greeting, its ten keys (a
// key may open another menu), which keys open it, and a warning for one no caller can reach.
// Changes here are a draft until published.

import { useCallback, useEffect, useState } from "preact/hooks";
import { FormError, LoadError, Loading, SelectField, TextField, splitError, useFormState } from "../forms";
import { useI18n } from "../i18n";
import { localeChoices, localeName } from "../media";
import { draftChanged, useSession } from "../session";
import type { Items, Key, Menu } from "../types";
import { KeyDialog, Keypad, type Targets, loadTargets } from "./receptionist";
import { TesterPanel } from "./tester";

interface Loaded {
  menus: Menu[];
  targets: Targets;
  receptionistLanguage: string;
}

export function MenusPage() {
  const session = useSession();
  const { t, lang } = useI18n();
  const [data, setData] = useState<Loaded | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [editing, setEditing] = useState<{ menu: string; digit: string; etag: string | null } | null>(null);
  const [adding, setAdding] = useState(false);

  const reload = useCallback(async () => {
    setFailure(null);
    try {
      const [menus, targets] = await Promise.all([session.api.get<Items<Menu>>(session.path("/menus")), loadTargets(session)]);
      const first = menus.items.find((m) => m.first);
      setData({ menus: menus.items, targets, receptionistLanguage: first?.effective.language ?? "fr-FR" });
    } catch (error) {
      setFailure(error);
    }
  }, [session]);
  useEffect(() => {
    void reload();
  }, [reload]);
  if (failure !== null && data === null) return <LoadError error={failure} onRetry={reload} />;
  if (data === null) return <Loading />;

  async function openKey(menu: Menu, digit: string) {
    // The menu's keys' ETag, so that a key saved meanwhile elsewhere is not overwritten.
    const answer = await session.api.call<Items<Key>>("GET", session.path(`/menus/${menu.id}/keys`));
    setEditing({ menu: menu.id, digit, etag: answer.etag });
  }

  const editedMenu = editing ? data.menus.find((m) => m.id === editing.menu) ?? null : null;
  const editedKey = editedMenu && editing ? editedMenu.keys.find((k) => k.digit === editing.digit) ?? null : null;

  return (
    <div class="menus-layout">
      <div class="menus-list">
      <p class="intro">{t.menusIntro}</p>
      <div class="buttons">
        <button type="button" class="primary" id="add-menu" onClick={() => setAdding(true)} disabled={session.readOnly}>
          {t.addMenu}
        </button>
      </div>
      {adding ? (
        <AddMenu
          onDone={async (name) => {
            setAdding(false);
            if (name) {
              session.announce(t.menuSaved(name));
              draftChanged();
              await reload();
            }
          }}
        />
      ) : null}
      {data.menus.map((menu) => (
        <section class="panel menu" key={menu.id} id={`menu-${menu.id}`} aria-labelledby={`menu-title-${menu.id}`}>
          <h2 id={`menu-title-${menu.id}`}>{menu.name}</h2>
          <p class="detail">
            {menu.first ? t.firstMenu : null}
            {menu.first ? " — " : null}
            {t.menuLanguage}: {menu.language ? localeName(lang, menu.language) : t.inherited(localeName(lang, menu.effective.language))}
          </p>
          {menu.opened_by.length ? (
            <p class="detail opened-by">{t.openedBy(menu.opened_by.map((o) => t.keyOfMenu(o.digit, o.menu_name)).join(", "))}</p>
          ) : null}
          {menu.warnings.length ? (
            <p class="warning" role="note">
              {t.unreachable}
            </p>
          ) : null}
          {menu.greeting?.text ? <blockquote class="greeting">{menu.greeting.text}</blockquote> : null}
          <h3>{t.menuKeys(menu.name)}</h3>
          <Keypad keys={menu.keys} idPrefix={`menu-${menu.first ? "first" : menu.name.replace(/\W+/g, "-")}-key`} onOpen={(digit) => void openKey(menu, digit)} />
          {menu.first ? null : (
            <div class="buttons">
              <button
                type="button"
                class="danger"
                disabled={session.readOnly}
                onClick={async () => {
                  try {
                    await session.api.call("DELETE", session.path(`/menus/${menu.id}`));
                    session.announce(t.menuDeleted(menu.name));
                    draftChanged();
                    await reload();
                  } catch (error) {
                    session.announce(splitError(t, error, {}).formError ?? String(error));
                  }
                }}
              >
                {t.deleteMenu}
              </button>
            </div>
          )}
        </section>
      ))}
      {editing && editedMenu && editedKey ? (
        <KeyDialog
          key={`${editing.menu}-${editing.digit}`}
          keyItem={editedKey}
          etag={editing.etag}
          targets={data.targets}
          language={editedMenu.effective.language}
          keysPath={`/menus/${editedMenu.id}/keys`}
          ownMenu={editedMenu.id}
          onSaved={async (_keys, _etag, message) => {
            setEditing(null);
            session.announce(message);
            draftChanged();
            await reload();
          }}
          onStale={reload}
          onClose={() => setEditing(null)}
        />
      ) : null}
      </div>
      <TesterPanel extensions={data.targets.extensions} />
    </div>
  );
}

function AddMenu({ onDone }: { onDone: (name: string | null) => Promise<void> }) {
  const session = useSession();
  const { t, lang } = useI18n();
  const form = useFormState();
  const [draft, setDraft] = useState({ name: "", language: "", greeting: "" });

  async function save(event: Event) {
    event.preventDefault();
    await form.run(async () => {
      const body: Record<string, unknown> = { name: draft.name };
      if (draft.language) body.language = draft.language;
      if (draft.greeting.trim()) body.greeting = { text: draft.greeting, language: draft.language || session.tenant.locale };
      await session.api.call<Menu>("POST", session.path("/menus"), { body });
      await onDone(draft.name);
    }, { name: "menu-name", language: "menu-language", "greeting.text": "menu-greeting" });
  }

  return (
    <section class="panel" aria-labelledby="add-menu-title">
      <h2 id="add-menu-title">{t.addMenu}</h2>
      <form ref={form.formRef} onSubmit={save} noValidate aria-busy={form.busy}>
        <FormError message={form.formError} />
        <TextField id="menu-name" label={t.menuName} value={draft.name} onValue={(name) => setDraft((d) => ({ ...d, name }))} error={form.fieldErrors["menu-name"]} />
        <SelectField
          id="menu-language"
          label={t.menuLanguage}
          value={draft.language}
          onValue={(language) => setDraft((d) => ({ ...d, language }))}
          choices={[{ value: "", label: t.inherited(localeName(lang, session.tenant.locale)) }, ...localeChoices(lang, "")]}
          error={form.fieldErrors["menu-language"]}
        />
        <TextField
          id="menu-greeting"
          label={t.menuGreeting}
          hint={t.menuGreetingHint}
          value={draft.greeting}
          onValue={(greeting) => setDraft((d) => ({ ...d, greeting }))}
          error={form.fieldErrors["menu-greeting"]}
        />
        <div class="buttons">
          <button type="submit" class="primary" id="save-menu" disabled={form.busy || session.readOnly}>
            {form.busy ? t.saving : t.save}
          </button>
          <button type="button" onClick={() => void onDone(null)}>
            {t.cancel}
          </button>
        </div>
      </form>
    </section>
  );
}
