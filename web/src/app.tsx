// The shell: sign-in, the tenant picker for carrier tokens, the header and navigation, and
// the page for the current address (#/receptionist, #/settings, ...).

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Api, ApiError } from "./api";
import { FormError, SelectField, TextField, errorText, useFormState } from "./forms";
import { I18nContext, type Lang, LANGS, type Messages, initialLang, messages, rememberLang, useI18n } from "./i18n";
import { CallsPage, VoicemailPage } from "./pages/activity";
import { ExtensionsPage, RingGroupsPage, RoomsPage } from "./pages/numbering";
import { HoursPage } from "./pages/hours";
import { MenusPage } from "./pages/menus";
import { ReceptionistPage } from "./pages/receptionist";
import { DraftBanner, VersionsPage } from "./pages/versions";
import { DirectoryPage, SettingsPage } from "./pages/settings";
import {
  type Media,
  type MediaCaps,
  MediaContext,
  NO_MEDIA,
  RELOAD_EVENT,
  type Session,
  SessionContext,
  VOICEMAIL_EVENT,
  detectMedia,
  tenantScoped,
} from "./session";
import type { Items, Tenant, VoicemailCount } from "./types";

const TOKEN_KEY = "rcp.token";
const TENANT_KEY = "rcp.tenant";

interface Page {
  path: string;
  title: (t: Messages) => string;
  nav: string; // the navigation entry it belongs to
  render: () => ComponentChildren;
}

const PAGES: Page[] = [
  { path: "/receptionist", title: (t) => t.navReceptionist, nav: "/receptionist", render: () => <ReceptionistPage /> },
  { path: "/menus", title: (t) => t.menusTitle, nav: "/menus", render: () => <MenusPage /> },
  { path: "/hours", title: (t) => t.hoursTitle, nav: "/hours", render: () => <HoursPage /> },
  { path: "/versions", title: (t) => t.versionsTitle, nav: "/versions", render: () => <VersionsPage /> },
  { path: "/settings", title: (t) => t.settingsTitle, nav: "/settings", render: () => <SettingsPage /> },
  { path: "/settings/directory", title: (t) => t.directoryTitle, nav: "/settings", render: () => <DirectoryPage /> },
  { path: "/extensions", title: (t) => t.extensionsTitle, nav: "/extensions", render: () => <ExtensionsPage /> },
  { path: "/ring-groups", title: (t) => t.ringGroupsTitle, nav: "/ring-groups", render: () => <RingGroupsPage /> },
  { path: "/conference-rooms", title: (t) => t.roomsTitle, nav: "/conference-rooms", render: () => <RoomsPage /> },
  { path: "/voicemail", title: (t) => t.voicemailTitle, nav: "/voicemail", render: () => <VoicemailPage /> },
  { path: "/calls", title: (t) => t.callsTitle, nav: "/calls", render: () => <CallsPage /> },
];

const NAV: { path: string; label: (t: Messages) => string }[] = [
  { path: "/receptionist", label: (t) => t.navReceptionist },
  { path: "/menus", label: (t) => t.navMenus },
  { path: "/hours", label: (t) => t.navHours },
  { path: "/versions", label: (t) => t.navVersions },
  { path: "/settings", label: (t) => t.navSettings },
  { path: "/extensions", label: (t) => t.navExtensions },
  { path: "/ring-groups", label: (t) => t.navRingGroups },
  { path: "/conference-rooms", label: (t) => t.navRooms },
  { path: "/voicemail", label: (t) => t.navVoicemail },
  { path: "/calls", label: (t) => t.navCalls },
];

function currentPath(): string {
  const path = window.location.hash.replace(/^#/, "") || "/receptionist";
  return PAGES.some((page) => page.path === path) ? path : "/receptionist";
}

function useHashPath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const changed = () => setPath(currentPath());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return path;
}

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

interface SignedIn {
  token: string;
  carrier: boolean;
  tenants: Tenant[];
}

/** Who the token is: its tenants, and whether it is a carrier token (which may list tokens). */
async function identify(token: string): Promise<SignedIn> {
  const api = new Api(token, () => undefined);
  const tenants = (await api.get<Items<Tenant>>("/v1/tenants")).items;
  let carrier = true;
  try {
    await api.get("/v1/tokens");
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 403)) throw error;
    carrier = false;
  }
  return { token, carrier, tenants };
}

export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const i18n = useMemo(
    () => ({
      lang,
      t: messages(lang),
      setLang: (next: Lang) => {
        rememberLang(next);
        setLangState(next);
      },
    }),
    [lang],
  );
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  const [signedIn, setSignedIn] = useState<SignedIn | null>(null);
  const [tenantId, setTenantId] = useState<string | null>(() => storage()?.getItem(TENANT_KEY) ?? null);
  const [restoring, setRestoring] = useState(() => Boolean(storage()?.getItem(TOKEN_KEY)));
  const [signInError, setSignInError] = useState<string | null>(null);

  const signOut = useCallback(() => {
    storage()?.removeItem(TOKEN_KEY);
    storage()?.removeItem(TENANT_KEY);
    setSignedIn(null);
    setTenantId(null);
  }, []);

  // A reload keeps the session of this tab (sessionStorage), never beyond it.
  useEffect(() => {
    const token = storage()?.getItem(TOKEN_KEY);
    if (!token) return;
    identify(token)
      .then(setSignedIn)
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) signOut();
        else setSignInError(errorText(messages(lang), error));
      })
      .finally(() => setRestoring(false));
  }, []);

  async function signIn(token: string): Promise<void> {
    const who = await identify(token);
    storage()?.setItem(TOKEN_KEY, token);
    setSignedIn(who);
    if (!who.carrier && who.tenants.length > 0) choose(who.tenants[0].id);
  }

  function choose(id: string | null) {
    if (id === null) storage()?.removeItem(TENANT_KEY);
    else storage()?.setItem(TENANT_KEY, id);
    setTenantId(id);
  }

  const tenant = signedIn?.tenants.find((t) => t.id === tenantId) ?? (signedIn && !signedIn.carrier ? signedIn.tenants[0] : undefined);

  let body: ComponentChildren;
  if (restoring) body = <Centered>{i18n.t.loading}</Centered>;
  else if (signedIn === null) body = <SignIn onSignIn={signIn} restoreError={signInError} />;
  else if (tenant === undefined) body = <TenantPicker tenants={signedIn.tenants} onChoose={choose} onSignOut={signOut} />;
  else body = <Manager signedIn={signedIn} tenant={tenant} onSwitch={() => choose(null)} onSignOut={signOut} />;

  return <I18nContext.Provider value={i18n}>{body}</I18nContext.Provider>;
}

function Centered({ children }: { children: ComponentChildren }) {
  return (
    <main class="centered" id="main">
      <div class="card">{children}</div>
    </main>
  );
}

function LanguageSwitch({ id = "lang" }: { id?: string }) {
  const { t, lang, setLang } = useI18n();
  return (
    <div class="lang-switch">
      <label for={id}>{t.language}</label>
      <select id={id} value={lang} onChange={(event) => setLang(event.currentTarget.value as Lang)}>
        {LANGS.map((code) => (
          <option key={code} value={code} lang={code}>
            {messages(code).langName}
          </option>
        ))}
      </select>
    </div>
  );
}

function SignIn({ onSignIn, restoreError }: { onSignIn: (token: string) => Promise<void>; restoreError: string | null }) {
  const { t } = useI18n();
  const form = useFormState();
  const [token, setToken] = useState("");
  useEffect(() => {
    document.title = `${t.signIn} — ${t.appName}`;
  }, [t]);
  async function submit(event: Event) {
    event.preventDefault();
    form.clear();
    if (token.trim() === "") {
      form.fail({ token: t.emptyToken }, null);
      return;
    }
    form.setBusy(true);
    try {
      await onSignIn(token.trim());
    } catch (error) {
      const message = error instanceof ApiError && error.status === 401 ? t.badToken : errorText(t, error);
      form.fail({ token: message }, null);
    } finally {
      form.setBusy(false);
    }
  }
  return (
    <Centered>
      <div class="card-head">
        <p class="brand">
          <span aria-hidden="true" class="logo">
            ☎
          </span>{" "}
          {t.appName}
        </p>
        <LanguageSwitch />
      </div>
      <h1>{t.signIn}</h1>
      <p>{t.signInIntro}</p>
      <form ref={form.formRef} onSubmit={submit} noValidate>
        <FormError message={form.formError ?? restoreError} />
        <TextField
          id="token"
          type="password"
          label={t.token}
          hint={t.tokenHint}
          autoComplete="off"
          spellcheck={false}
          value={token}
          onValue={setToken}
          error={form.fieldErrors.token}
        />
        <div class="buttons">
          <button type="submit" class="primary" disabled={form.busy}>
            {t.signInButton}
          </button>
        </div>
      </form>
    </Centered>
  );
}

function TenantPicker({ tenants, onChoose, onSignOut }: { tenants: Tenant[]; onChoose: (id: string) => void; onSignOut: () => void }) {
  const { t } = useI18n();
  const sorted = [...tenants].sort((a, b) => a.name.localeCompare(b.name));
  const [chosen, setChosen] = useState(sorted[0]?.id ?? "");
  useEffect(() => {
    document.title = `${t.chooseTenant} — ${t.appName}`;
  }, [t]);
  return (
    <Centered>
      <div class="card-head">
        <p class="brand">{t.appName}</p>
        <LanguageSwitch />
      </div>
      <h1>{t.chooseTenant}</h1>
      <p>{t.chooseTenantIntro}</p>
      {sorted.length === 0 ? (
        <p>{t.noTenants}</p>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (chosen) onChoose(chosen);
          }}
        >
          <SelectField
            id="tenant"
            label={t.tenant}
            value={chosen}
            onValue={setChosen}
            choices={sorted.map((tenant) => ({
              value: tenant.id,
              label: `${tenant.name} (${tenant.slug})${tenant.status === "suspended" ? ` — ${t.suspended}` : ""}`,
            }))}
          />
          <div class="buttons">
            <button type="submit" class="primary">
              {t.open}
            </button>
            <button type="button" onClick={onSignOut}>
              {t.signOut}
            </button>
          </div>
        </form>
      )}
    </Centered>
  );
}

// How often the count of new voicemail messages is read again while nothing else asks.
const COUNT_EVERY_MS = 60_000;

/** How many voicemail messages are new: read at start, on every page change, when a page
 * says messages changed, and every minute. */
function useNewMessages(session: Session, path: string): number {
  const [count, setCount] = useState(0);
  useEffect(() => {
    let live = true;
    const read = async () => {
      try {
        const counted = await session.api.get<VoicemailCount>(session.path("/voicemail/count"));
        if (live) setCount(counted.new);
      } catch {
        // The badge waits for the next reading; the pages show their own errors.
      }
    };
    void read();
    const onChange = () => void read();
    window.addEventListener(VOICEMAIL_EVENT, onChange);
    const every = window.setInterval(onChange, COUNT_EVERY_MS);
    return () => {
      live = false;
      window.removeEventListener(VOICEMAIL_EVENT, onChange);
      window.clearInterval(every);
    };
  }, [session, path]);
  return count;
}

function Manager({
  signedIn,
  tenant,
  onSwitch,
  onSignOut,
}: {
  signedIn: SignedIn;
  tenant: Tenant;
  onSwitch: () => void;
  onSignOut: () => void;
}) {
  const { t } = useI18n();
  const path = useHashPath();
  const page = PAGES.find((p) => p.path === path) ?? PAGES[0];
  const [media, setMedia] = useState<MediaCaps>(NO_MEDIA);
  const [status, setStatus] = useState<{ text: string; serial: number } | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const firstPage = useRef(true);
  // Bumped when the draft is replaced (discarded, rolled back): the page reads it again.
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const bump = () => setGeneration((g) => g + 1);
    window.addEventListener(RELOAD_EVENT, bump);
    return () => window.removeEventListener(RELOAD_EVENT, bump);
  }, []);

  useEffect(() => {
    let live = true;
    void detectMedia().then((caps) => live && setMedia(caps));
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    document.title = `${page.title(t)} — ${tenant.name} — ${t.appName}`;
  }, [page, t, tenant]);

  // After moving to another page, focus its heading so that keyboard and screen reader users
  // start from the top of the new content.
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    setStatus(null);
    heading.current?.focus();
  }, [path]);

  const session = useMemo<Session>(
    () => ({
      api: new Api(signedIn.token, onSignOut),
      tenant,
      announce: (text) => setStatus((s) => ({ text, serial: (s?.serial ?? 0) + 1 })),
      path: tenantScoped(tenant.id),
    }),
    [signedIn.token, onSignOut, tenant],
  );
  const newMessages = useNewMessages(session, path);
  const mediaContext = useMemo<Media>(
    () => ({ caps: media, disable: (what) => setMedia((m) => ({ ...m, [what]: false })) }),
    [media],
  );

  return (
    <SessionContext.Provider value={session}>
      <MediaContext.Provider value={mediaContext}>
      <a class="skip" href="#main" onClick={(event) => {
        event.preventDefault();
        heading.current?.focus();
      }}>
        {t.skipToContent}
      </a>
      <header class="top">
        <div class="top-row">
          <p class="brand">
            <span aria-hidden="true" class="logo">
              ☎
            </span>{" "}
            {t.appName}
            <span class="tenant-name"> · {tenant.name}</span>
          </p>
          <div class="top-actions">
            <LanguageSwitch />
            {signedIn.carrier ? (
              <button type="button" id="switch-tenant" onClick={onSwitch}>
                {t.switchTenant}
              </button>
            ) : null}
            <button type="button" id="sign-out" onClick={onSignOut}>
              {t.signOut}
            </button>
          </div>
        </div>
        <nav aria-label={t.mainNav}>
          <ul>
            {NAV.map((item) => (
              <li key={item.path}>
                <a href={`#${item.path}`} aria-current={page.nav === item.path ? "page" : undefined}>
                  {item.label(t)}
                  {item.path === "/voicemail" && newMessages > 0 ? (
                    <span class="count" id="new-messages" title={t.newMessages(newMessages)}>
                      <span aria-hidden="true">{newMessages}</span>
                      <span class="sr-only">{t.newMessages(newMessages)}</span>
                    </span>
                  ) : null}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main">
        <h1 ref={heading} tabIndex={-1}>
          {page.title(t)}
        </h1>
        <div class={status ? "status" : "status empty"} role="status" aria-live="polite">
          {status ? <span key={status.serial}>{status.text}</span> : null}
        </div>
        <DraftBanner />
        <div key={`${path}-${generation}`}>{page.render()}</div>
      </main>
      </MediaContext.Provider>
    </SessionContext.Provider>
  );
}
