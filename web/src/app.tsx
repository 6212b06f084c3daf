// The shell: sign-in, the tenant picker for carrier tokens, the header and navigation, and
// the page for the current address (#/receptionist, #/settings, ...).

import type { ComponentChildren, RefObject } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Api, ApiError } from "./api";
import { FormError, SelectField, TextField, errorText, useFormState } from "./forms";
import { I18nContext, type Lang, LANGS, type Messages, initialLang, messages, rememberLang, useI18n } from "./i18n";
import { CallsPage, VoicemailPage } from "./pages/activity";
import { DashboardPage } from "./pages/dashboard";
import { AuditPage } from "./pages/audit";
import { AccessPage, type Carrier, CarrierContext, ConsoleAuditPage, DevicesPage, NumbersPage, TenantsPage, UsagePage } from "./pages/console";
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
  { path: "/dashboard", title: (t) => t.dashboardTitle, nav: "/dashboard", render: () => <DashboardPage /> },
  { path: "/audit", title: (t) => t.carrier.navAudit, nav: "/audit", render: () => <AuditPage /> },
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
  { path: "/dashboard", label: (t) => t.navDashboard },
  { path: "/audit", label: (t) => t.carrier.navAudit },
];

// Pages only a tenant's admins (and the carrier) read.
const ADMIN_ONLY = new Set(["/audit"]);

const CONSOLE_PAGES: Page[] = [
  { path: "/console/tenants", title: (t) => t.carrier.navTenants, nav: "/console/tenants", render: () => <TenantsPage /> },
  { path: "/console/numbers", title: (t) => t.carrier.navNumbers, nav: "/console/numbers", render: () => <NumbersPage /> },
  { path: "/console/devices", title: (t) => t.carrier.navDevices, nav: "/console/devices", render: () => <DevicesPage /> },
  { path: "/console/access", title: (t) => t.carrier.navAccess, nav: "/console/access", render: () => <AccessPage /> },
  { path: "/console/usage", title: (t) => t.carrier.navUsage, nav: "/console/usage", render: () => <UsagePage /> },
  { path: "/console/audit", title: (t) => t.carrier.navAudit, nav: "/console/audit", render: () => <ConsoleAuditPage /> },
];

function currentPath(pages: Page[]): string {
  const path = window.location.hash.replace(/^#/, "") || pages[0].path;
  return pages.some((page) => page.path === path) ? path : pages[0].path;
}

function useHashPath(pages: Page[] = PAGES): string {
  const [path, setPath] = useState(() => currentPath(pages));
  useEffect(() => {
    const changed = () => setPath(currentPath(pages));
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
  token: string | null; // null: a person, through the session cookie
  csrf: string | null;
  carrier: boolean;
  tenants: Tenant[];
  email: string | null;
  role: string | null;
  readOnly: boolean;
  /** Carrier support (or an operator) viewing one tenant read-only through their session. */
  viewing: boolean;
}

interface SessionAnswer {
  kind: "user" | "token";
  name: string;
  tenant_id: string | null;
  role: string | null;
  csrf_token: string | null;
  read_only: boolean;
  view_as: string | null;
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
  return { token, csrf: null, carrier, tenants, email: null, role: null, readOnly: false, viewing: false };
}

/** The person the session cookie signs in, if any (a 401 otherwise). */
async function identifySession(): Promise<SignedIn> {
  const api = new Api(null, () => undefined);
  const who = await api.get<SessionAnswer>("/v1/session");
  const tenants = (await api.get<Items<Tenant>>("/v1/tenants")).items;
  const readOnly = who.read_only || who.role === "viewer" || who.role === "support";
  return {
    token: null,
    csrf: who.csrf_token,
    carrier: who.tenant_id === null,
    tenants,
    email: who.name,
    role: who.role,
    readOnly,
    viewing: who.view_as !== null,
  };
}

/** A page reached from an email's link: `#/invitation?token=...` or `#/reset?token=...`. */
function linkToken(): string | null {
  const match = /^#\/(invitation|reset)\?token=([A-Za-z0-9_%-]+)$/.exec(window.location.hash);
  return match ? decodeURIComponent(match[2]) : null;
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
  const [restoring, setRestoring] = useState(true);
  const [signInError, setSignInError] = useState<string | null>(null);

  const [link, setLink] = useState<string | null>(linkToken);
  const [forgot, setForgot] = useState(false);
  const current = useRef<SignedIn | null>(null);
  current.current = signedIn;

  // A person's session ends on the server too (its cookie is cleared by the answer): the
  // sign-in page shows once it has ended, or once the server could not be reached. Signing
  // out everywhere ends every session of the person's, on every device.
  const endSession = useCallback((path: "/v1/session" | "/v1/me/sessions") => {
    const was = current.current;
    const ended =
      was !== null && was.token === null
        ? new Api(null, () => undefined, was.csrf).call("DELETE", path).catch(() => undefined)
        : Promise.resolve();
    void ended.then(() => {
      storage()?.removeItem(TOKEN_KEY);
      storage()?.removeItem(TENANT_KEY);
      setSignedIn(null);
      setTenantId(null);
    });
  }, []);
  const signOut = useCallback(() => endSession("/v1/session"), [endSession]);
  const signOutEverywhere = useCallback(() => endSession("/v1/me/sessions"), [endSession]);

  // A reload keeps the token of this tab (sessionStorage), never beyond it; a person's
  // session lives in its cookie until it ends.
  useEffect(() => {
    if (link !== null) {
      setRestoring(false);
      return;
    }
    const token = storage()?.getItem(TOKEN_KEY);
    const who = token ? identify(token) : identifySession();
    who
      .then(welcome)
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) {
          if (token) signOut();
        } else setSignInError(errorText(messages(lang), error));
      })
      .finally(() => setRestoring(false));
  }, []);

  function welcome(who: SignedIn) {
    setSignedIn(who);
    if (!who.carrier && who.tenants.length > 0) choose(who.tenants[0].id);
  }

  async function signIn(token: string): Promise<void> {
    const who = await identify(token);
    storage()?.setItem(TOKEN_KEY, token);
    welcome(who);
  }

  async function signInPerson(email: string, password: string): Promise<void> {
    await new Api(null, () => undefined).call("POST", "/v1/session", { body: { email, password } });
    welcome(await identifySession());
  }

  async function usedLink(): Promise<void> {
    window.history.replaceState(null, "", window.location.pathname);
    setLink(null);
    welcome(await identifySession());
  }

  function choose(id: string | null) {
    if (id === null) storage()?.removeItem(TENANT_KEY);
    else storage()?.setItem(TENANT_KEY, id);
    setTenantId(id);
  }

  async function reloadTenants(): Promise<void> {
    const was = current.current;
    if (was === null) return;
    const tenants = (await new Api(was.token, signOut, was.csrf).get<Items<Tenant>>("/v1/tenants")).items;
    setSignedIn((now) => (now === null ? now : { ...now, tenants }));
  }

  function manage(chosen: Tenant) {
    window.location.hash = "#/receptionist";
    choose(chosen.id);
  }

  /** Open a tenant's pages read-only through the person's session (audited by the API). */
  async function viewAs(chosen: Tenant): Promise<void> {
    const was = current.current;
    await new Api(null, signOut, was?.csrf ?? null).call("POST", "/v1/session/view-as", { body: { tenant_id: chosen.id } });
    const who = await identifySession();
    window.location.hash = "#/receptionist";
    setSignedIn(who);
    choose(chosen.id);
  }

  async function backToConsole(): Promise<void> {
    const was = current.current;
    if (was !== null && was.viewing) {
      await new Api(null, signOut, was.csrf).call("DELETE", "/v1/session/view-as");
      setSignedIn(await identifySession());
    }
    window.location.hash = "#/console/tenants";
    choose(null);
  }

  const tenant = signedIn?.tenants.find((t) => t.id === tenantId) ?? (signedIn && !signedIn.carrier ? signedIn.tenants[0] : undefined);

  let body: ComponentChildren;
  if (restoring) body = <Centered>{i18n.t.loading}</Centered>;
  else if (link !== null) body = <ChoosePassword token={link} onDone={usedLink} />;
  else if (signedIn === null && forgot) body = <ForgotPassword onBack={() => setForgot(false)} />;
  else if (signedIn === null)
    body = <SignIn onSignIn={signIn} onSignInPerson={signInPerson} onForgot={() => setForgot(true)} restoreError={signInError} />;
  else if (tenant === undefined && signedIn.carrier)
    body = (
      <Console
        signedIn={signedIn}
        onReload={reloadTenants}
        onManage={manage}
        onViewAs={viewAs}
        onSignOut={signOut}
        onSignOutEverywhere={signOutEverywhere}
      />
    );
  else if (tenant === undefined) body = <TenantPicker tenants={signedIn.tenants} onChoose={choose} onSignOut={signOut} />;
  else
    body = (
      <Manager
        signedIn={signedIn}
        tenant={tenant}
        onSwitch={() => void backToConsole()}
        onSignOut={signOut}
        onSignOutEverywhere={signOutEverywhere}
      />
    );

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

function SignIn({
  onSignIn,
  onSignInPerson,
  onForgot,
  restoreError,
}: {
  onSignIn: (token: string) => Promise<void>;
  onSignInPerson: (email: string, password: string) => Promise<void>;
  onForgot: () => void;
  restoreError: string | null;
}) {
  const { t } = useI18n();
  const form = useFormState();
  const people = useFormState();
  const [token, setToken] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  useEffect(() => {
    document.title = `${t.signIn} — ${t.appName}`;
  }, [t]);
  async function submitPerson(event: Event) {
    event.preventDefault();
    people.clear();
    if (email.trim() === "" || password === "") {
      people.fail({}, t.emptyCredentials);
      return;
    }
    await people.run(
      () => onSignInPerson(email.trim(), password),
      (error) => ({
        fieldErrors: {},
        formError: error instanceof ApiError && error.status === 401 ? t.badPassword : errorText(t, error),
      }),
    );
  }
  async function submit(event: Event) {
    event.preventDefault();
    form.clear();
    if (token.trim() === "") {
      form.fail({ token: t.emptyToken }, null);
      return;
    }
    await form.run(
      () => onSignIn(token.trim()),
      (error) => ({
        fieldErrors: { token: error instanceof ApiError && error.status === 401 ? t.badToken : errorText(t, error) },
        formError: null,
      }),
    );
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
      <p>{t.signInPeopleIntro}</p>
      <form id="person-sign-in" ref={people.formRef} onSubmit={submitPerson} noValidate>
        <FormError message={people.formError ?? restoreError} />
        <TextField id="email" type="email" label={t.email} autoComplete="username" value={email} onValue={setEmail} />
        <TextField
          id="password"
          type="password"
          label={t.password}
          autoComplete="current-password"
          value={password}
          onValue={setPassword}
        />
        <div class="buttons">
          <button type="submit" class="primary" disabled={people.busy}>
            {t.signInPerson}
          </button>
          <button type="button" id="forgot" onClick={onForgot}>
            {t.forgotPassword}
          </button>
        </div>
      </form>
      <h2>{t.orToken}</h2>
      <p>{t.signInIntro}</p>
      <form id="token-sign-in" ref={form.formRef} onSubmit={submit} noValidate>
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

function ForgotPassword({ onBack }: { onBack: () => void }) {
  const { t } = useI18n();
  const form = useFormState();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    await form.run(
      async () => {
        await new Api(null, () => undefined).call("POST", "/v1/password-reset", { body: { email: email.trim() } });
        setSent(true);
      },
      (error) => ({ fieldErrors: { email: errorText(t, error) }, formError: null }),
    );
  }
  return (
    <Centered>
      <h1>{t.resetTitle}</h1>
      {sent ? (
        <p role="status">{t.resetSent}</p>
      ) : (
        <form ref={form.formRef} onSubmit={submit} noValidate>
          <p>{t.resetIntro}</p>
          <FormError message={form.formError} />
          <TextField id="reset-email" type="email" label={t.email} value={email} onValue={setEmail} error={form.fieldErrors.email} />
          <div class="buttons">
            <button type="submit" class="primary" disabled={form.busy}>
              {t.resetSend}
            </button>
          </div>
        </form>
      )}
      <p>
        <button type="button" onClick={onBack}>
          {t.backToSignIn}
        </button>
      </p>
    </Centered>
  );
}

function ChoosePassword({ token, onDone }: { token: string; onDone: () => Promise<void> }) {
  const { t } = useI18n();
  const form = useFormState();
  const [email, setEmail] = useState<string | null>(null);
  const [invalid, setInvalid] = useState(false);
  const [password, setPassword] = useState("");
  useEffect(() => {
    document.title = `${t.choosePasswordTitle} — ${t.appName}`;
    new Api(null, () => undefined)
      .call<{ email: string }>("POST", "/v1/links/check", { body: { token } })
      .then((answer) => setEmail(answer.data.email))
      .catch(() => setInvalid(true));
  }, []);
  async function submit(event: Event) {
    event.preventDefault();
    await form.run(
      async () => {
        await new Api(null, () => undefined).call("POST", "/v1/links/use", { body: { token, password } });
        await onDone();
      },
      (error) => ({ fieldErrors: { password: errorText(t, error) }, formError: null }),
    );
  }
  return (
    <Centered>
      <div class="card-head">
        <p class="brand">{t.appName}</p>
        <LanguageSwitch />
      </div>
      <h1>{t.choosePasswordTitle}</h1>
      {invalid ? (
        <p role="alert">{t.linkInvalid}</p>
      ) : email === null ? (
        <p>{t.loading}</p>
      ) : (
        <form ref={form.formRef} onSubmit={submit} noValidate>
          <p>{t.choosePasswordIntro(email)}</p>
          <FormError message={form.formError} />
          <TextField
            id="new-password"
            type="password"
            label={t.newPassword}
            autoComplete="new-password"
            value={password}
            onValue={setPassword}
            error={form.fieldErrors.password}
          />
          <div class="buttons">
            <button type="submit" class="primary" disabled={form.busy}>
              {t.choosePasswordButton}
            </button>
          </div>
        </form>
      )}
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
/** The skip link to the page's heading and the top bar, on a tenant's pages and in the console. */
function TopBar({
  heading,
  place,
  signedIn,
  onSignOut,
  onSignOutEverywhere,
  inConsole = false,
  actions = null,
  children,
}: {
  heading: RefObject<HTMLHeadingElement | null>;
  place: string;
  signedIn: SignedIn;
  onSignOut: () => void;
  onSignOutEverywhere: () => void;
  inConsole?: boolean;
  actions?: ComponentChildren;
  children: ComponentChildren;
}) {
  const { t } = useI18n();
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(event) => {
          event.preventDefault();
          heading.current?.focus();
        }}
      >
        {t.skipToContent}
      </a>
      <header class={inConsole ? "top console" : "top"}>
        <div class="top-row">
          <p class="brand">
            <span aria-hidden="true" class="logo">
              ☎
            </span>{" "}
            {t.appName}
            <span class="tenant-name"> · {place}</span>
          </p>
          <div class="top-actions">
            <LanguageSwitch />
            {actions}
            {signedIn.email !== null ? (
              <span class="signed-in-as" id="signed-in-as">
                {t.signedInAs(signedIn.email, signedIn.role ?? "")}
              </span>
            ) : null}
            <button type="button" id="sign-out" onClick={onSignOut}>
              {t.signOut}
            </button>
            {signedIn.token === null ? (
              <button type="button" id="sign-out-everywhere" title={t.signOutEverywhereHint} onClick={onSignOutEverywhere}>
                {t.signOutEverywhere}
              </button>
            ) : null}
          </div>
        </div>
        {children}
      </header>
    </>
  );
}

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
  onSignOutEverywhere,
}: {
  signedIn: SignedIn;
  tenant: Tenant;
  onSwitch: () => void;
  onSignOut: () => void;
  onSignOutEverywhere: () => void;
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
      api: new Api(signedIn.token, onSignOut, signedIn.csrf),
      tenant,
      readOnly: signedIn.readOnly,
      announce: (text) => setStatus((s) => ({ text, serial: (s?.serial ?? 0) + 1 })),
      path: tenantScoped(tenant.id),
    }),
    [signedIn.token, signedIn.csrf, signedIn.readOnly, onSignOut, tenant],
  );
  const newMessages = useNewMessages(session, path);
  const mediaContext = useMemo<Media>(
    () => ({ caps: media, disable: (what) => setMedia((m) => ({ ...m, [what]: false })) }),
    [media],
  );

  return (
    <SessionContext.Provider value={session}>
      <MediaContext.Provider value={mediaContext}>
      <TopBar
        heading={heading}
        place={tenant.name}
        signedIn={signedIn}
        onSignOut={onSignOut}
        onSignOutEverywhere={onSignOutEverywhere}
        actions={
          signedIn.carrier || signedIn.viewing ? (
            <button type="button" id="switch-tenant" onClick={onSwitch}>
              {t.carrier.backToConsole}
            </button>
          ) : null
        }
      >
        <nav aria-label={t.mainNav}>
          <ul>
            {NAV.filter((item) => !ADMIN_ONLY.has(item.path) || (signedIn.role !== "editor" && signedIn.role !== "viewer")).map((item) => (
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
      </TopBar>
      <main id="main">
        <h1 ref={heading} tabIndex={-1}>
          {page.title(t)}
        </h1>
        <div class={status ? "status" : "status empty"} role="status" aria-live="polite">
          {status ? <span key={status.serial}>{status.text}</span> : null}
        </div>
        {signedIn.viewing ? (
          <p class="banner read-only" id="view-as-banner" role="note">
            {t.carrier.viewingBanner(tenant.name)}
          </p>
        ) : signedIn.readOnly ? (
          <p class="banner read-only" id="read-only-banner" role="note">
            {t.readOnlyBanner(signedIn.role ?? "")}
          </p>
        ) : null}
        <DraftBanner />
        <div key={`${path}-${generation}`}>{page.render()}</div>
      </main>
      </MediaContext.Provider>
    </SessionContext.Provider>
  );
}

/** The carrier console: tenants, numbers, usage and the audit log across tenants. */
function Console({
  signedIn,
  onReload,
  onManage,
  onViewAs,
  onSignOut,
  onSignOutEverywhere,
}: {
  signedIn: SignedIn;
  onReload: () => Promise<void>;
  onManage: (tenant: Tenant) => void;
  onViewAs: (tenant: Tenant) => Promise<void>;
  onSignOut: () => void;
  onSignOutEverywhere: () => void;
}) {
  const { t } = useI18n();
  const c = t.carrier;
  const path = useHashPath(CONSOLE_PAGES);
  const page = CONSOLE_PAGES.find((p) => p.path === path) ?? CONSOLE_PAGES[0];
  const [status, setStatus] = useState<{ text: string; serial: number } | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const firstPage = useRef(true);
  useEffect(() => {
    document.title = `${page.title(t)} — ${c.consoleName} — ${t.appName}`;
  }, [page, t]);
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    setStatus(null);
    heading.current?.focus();
  }, [path]);
  const readOnly = signedIn.role === "support";
  const carrier = useMemo<Carrier>(
    () => ({
      api: new Api(signedIn.token, onSignOut, signedIn.csrf),
      readOnly,
      person: signedIn.token === null,
      tenants: signedIn.tenants,
      reloadTenants: onReload,
      announce: (text) => setStatus((s) => ({ text, serial: (s?.serial ?? 0) + 1 })),
      manage: onManage,
      viewAs: onViewAs,
    }),
    [signedIn, onReload, onManage, onViewAs, onSignOut, readOnly],
  );
  return (
    <CarrierContext.Provider value={carrier}>
      <TopBar
        heading={heading}
        place={c.consoleName}
        signedIn={signedIn}
        onSignOut={onSignOut}
        onSignOutEverywhere={onSignOutEverywhere}
        inConsole
      >
        <nav aria-label={c.consoleNav}>
          <ul>
            {CONSOLE_PAGES.map((item) => (
              <li key={item.path}>
                <a href={`#${item.path}`} aria-current={page.nav === item.path ? "page" : undefined}>
                  {item.title(t)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </TopBar>
      <main id="main">
        <h1 ref={heading} tabIndex={-1}>
          {page.title(t)}
        </h1>
        <div class={status ? "status" : "status empty"} role="status" aria-live="polite">
          {status ? <span key={status.serial}>{status.text}</span> : null}
        </div>
        {readOnly ? (
          <p class="banner read-only" id="read-only-banner" role="note">
            {c.readOnly}
          </p>
        ) : null}
        <div key={path}>{page.render()}</div>
      </main>
    </CarrierContext.Provider>
  );
}
