// The carrier console's pages, for the carrier's staff (operators change, support reads):
// tenants, phone numbers, usage over a period, and the audit log across tenants.

import { createContext } from "preact";
import { useCallback, useContext, useEffect, useState } from "preact/hooks";
import { type Api, ApiError } from "../api";
import { CheckboxField, ConfirmDelete, Dialog, FormError, LoadError, Loading, SelectField, TextField, errorText, useFormState } from "../forms";
import { useI18n } from "../i18n";
import type { ApiToken, Device, Items, NumberType, OutboundPolicy, Person, RoutedNumber, Tenant, Usage } from "../types";
import { AuditLog } from "./audit";

export interface Carrier {
  api: Api;
  /** Carrier support: every page shows, nothing changes. */
  readOnly: boolean;
  /** A person signed in (view-as needs a session; a token opens tenants with its own rights). */
  person: boolean;
  tenants: Tenant[];
  reloadTenants: () => Promise<void>;
  announce: (message: string) => void;
  manage: (tenant: Tenant) => void;
  viewAs: (tenant: Tenant) => Promise<void>;
}

export const CarrierContext = createContext<Carrier | null>(null);

function useCarrier(): Carrier {
  const carrier = useContext(CarrierContext);
  if (carrier === null) throw new Error("useCarrier outside the console");
  return carrier;
}

function byName(tenants: Tenant[]): Tenant[] {
  return [...tenants].sort((a, b) => a.name.localeCompare(b.name));
}

/** An id's safe part for element ids: +33199000001 → 33199000001. */
function idPart(text: string): string {
  return text.replace(/[^A-Za-z0-9-]/g, "");
}

function day(iso: string, lang: string): string {
  return new Date(iso).toLocaleDateString(lang === "fr" ? "fr-FR" : "en-GB", { dateStyle: "medium" });
}

// --- tenants --------------------------------------------------------------------------------

type TenantEditing = { mode: "create" } | { mode: "edit"; tenant: Tenant } | { mode: "delete"; tenant: Tenant } | null;

export function TenantsPage() {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  const [editing, setEditing] = useState<TenantEditing>(null);
  const [rowError, setRowError] = useState<string | null>(null);

  async function setStatus(tenant: Tenant, status: "active" | "suspended") {
    setRowError(null);
    try {
      await carrier.api.call("PATCH", `/v1/tenants/${tenant.id}`, { body: { status } });
      carrier.announce(status === "suspended" ? c.tenantSuspended(tenant.name) : c.tenantResumed(tenant.name));
      await carrier.reloadTenants();
    } catch (error) {
      setRowError(errorText(t, error));
    }
  }

  const tenants = byName(carrier.tenants);
  return (
    <>
      <p class="intro">{c.tenantsIntro}</p>
      <div class="toolbar">
        <button type="button" class="primary" id="new-tenant" disabled={carrier.readOnly} onClick={() => setEditing({ mode: "create" })}>
          {c.newTenant}
        </button>
      </div>
      <FormError message={rowError} />
      {tenants.length === 0 ? (
        <p>{c.noTenants}</p>
      ) : (
        <div class="table-wrap">
          <table id="tenants">
            <thead>
              <tr>
                <th scope="col">{c.tenantName}</th>
                <th scope="col">{c.slug}</th>
                <th scope="col" class="optional">
                  {c.locale}
                </th>
                <th scope="col" class="optional">
                  {c.timezone}
                </th>
                <th scope="col">{c.status}</th>
                <th scope="col">
                  <span class="sr-only">{t.actions}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tenants.map((tenant) => {
                const id = `tenant-${idPart(tenant.slug)}`;
                const suspended = tenant.status === "suspended";
                return (
                  <tr key={tenant.id} id={id}>
                    <th scope="row">{tenant.name}</th>
                    <td>
                      <code>{tenant.slug}</code>
                    </td>
                    <td class="optional">{tenant.locale}</td>
                    <td class="optional">{tenant.timezone}</td>
                    <td>
                      <span class={suspended ? "badge warn" : "badge"}>{suspended ? c.suspended : c.active}</span>
                    </td>
                    <td class="row-actions">
                      {!carrier.readOnly ? (
                        <button type="button" id={`${id}-manage`} onClick={() => carrier.manage(tenant)}>
                          {c.manage}
                        </button>
                      ) : null}
                      {carrier.person ? (
                        <button type="button" id={`${id}-view`} aria-label={c.viewAsLabel(tenant.name)} onClick={() => void carrier.viewAs(tenant)}>
                          {c.viewAs}
                        </button>
                      ) : null}
                      <button type="button" id={`${id}-edit`} aria-label={c.editLabel(tenant.name)} disabled={carrier.readOnly} onClick={() => setEditing({ mode: "edit", tenant })}>
                        {t.edit}
                      </button>
                      <button
                        type="button"
                        id={`${id}-${suspended ? "resume" : "suspend"}`}
                        disabled={carrier.readOnly}
                        onClick={() => void setStatus(tenant, suspended ? "active" : "suspended")}
                      >
                        {suspended ? c.resume : c.suspend}
                      </button>
                      <button
                        type="button"
                        class="danger"
                        id={`${id}-delete`}
                        disabled={carrier.readOnly || !suspended}
                        title={suspended ? undefined : c.suspendFirst}
                        onClick={() => setEditing({ mode: "delete", tenant })}
                      >
                        {t.delete}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {editing?.mode === "create" || editing?.mode === "edit" ? (
        <TenantDialog
          tenant={editing.mode === "edit" ? editing.tenant : null}
          onClose={() => setEditing(null)}
          onSaved={async (tenant) => {
            setEditing(null);
            carrier.announce(editing.mode === "edit" ? c.tenantSaved(tenant.name) : c.tenantCreated(tenant.name));
            await carrier.reloadTenants();
          }}
        />
      ) : null}
      {editing?.mode === "delete" ? (
        // Deleting a tenant erases everything it has: its name must be typed to confirm.
        <ConfirmDelete
          what={editing.tenant.name}
          title={c.deleteTenantTitle}
          question={c.deleteTenantIntro(editing.tenant.name)}
          typeToConfirm={c.typeName(editing.tenant.name)}
          confirmLabel={c.deleteForever}
          confirmId="confirm-delete"
          onClose={() => setEditing(null)}
          onConfirm={async () => {
            await carrier.api.call("DELETE", `/v1/tenants/${editing.tenant.id}`);
            const name = editing.tenant.name;
            setEditing(null);
            carrier.announce(c.tenantDeleted(name));
            await carrier.reloadTenants();
          }}
        />
      ) : null}
    </>
  );
}

const LOCALES = ["fr-FR", "en-GB", "en-US", "fr-BE", "fr-CH", "fr-CA"];

function TenantDialog({
  tenant,
  onClose,
  onSaved,
}: {
  tenant: Tenant | null;
  onClose: () => void;
  onSaved: (tenant: Tenant) => Promise<void>;
}) {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  const form = useFormState();
  const [name, setName] = useState(tenant?.name ?? "");
  const [slug, setSlug] = useState(tenant?.slug ?? "");
  const [locale, setLocale] = useState(tenant?.locale ?? "fr-FR");
  const [timezone, setTimezone] = useState(tenant?.timezone ?? "Europe/Paris");
  async function submit(event: Event) {
    event.preventDefault();
    await form.run(async () => {
      const fields = { name: name.trim(), locale, timezone: timezone.trim() };
      const answer =
        tenant === null
          ? await carrier.api.call<Tenant>("POST", "/v1/tenants", { body: { ...fields, slug: slug.trim() } })
          : await carrier.api.call<Tenant>("PATCH", `/v1/tenants/${tenant.id}`, { body: fields });
      await onSaved(answer.data);
    }, { name: "name", slug: "slug", locale: "locale", timezone: "timezone" });
  }
  return (
    <Dialog title={tenant === null ? c.newTenant : c.editTenant(tenant.name)} onClose={onClose}>
      <form ref={form.formRef} onSubmit={submit} noValidate>
        <FormError message={form.formError} />
        <TextField id="tenant-name" label={c.tenantName} value={name} onValue={setName} error={form.fieldErrors.name} />
        {tenant === null ? (
          <TextField id="tenant-slug" label={c.slug} hint={c.slugHint} value={slug} onValue={setSlug} error={form.fieldErrors.slug} spellcheck={false} />
        ) : null}
        <SelectField
          id="tenant-locale"
          label={c.locale}
          value={locale}
          onValue={setLocale}
          choices={(LOCALES.includes(locale) ? LOCALES : [locale, ...LOCALES]).map((code) => ({ value: code, label: code }))}
          error={form.fieldErrors.locale}
        />
        <TextField id="tenant-timezone" label={c.timezone} hint={c.timezoneHint} value={timezone} onValue={setTimezone} error={form.fieldErrors.timezone} />
        <div class="buttons">
          <button type="submit" class="primary" disabled={form.busy}>
            {t.save}
          </button>
          <button type="button" onClick={onClose}>
            {t.cancel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// --- phone numbers --------------------------------------------------------------------------

type NumberEditing = { mode: "route" } | { mode: "move"; number: RoutedNumber } | { mode: "release"; number: RoutedNumber } | null;

export function NumbersPage() {
  const carrier = useCarrier();
  const { t, lang } = useI18n();
  const c = t.carrier;
  const [numbers, setNumbers] = useState<RoutedNumber[] | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [prefix, setPrefix] = useState("");
  const [applied, setApplied] = useState("");
  const [prefixError, setPrefixError] = useState<string | undefined>(undefined);
  const [editing, setEditing] = useState<NumberEditing>(null);

  const reload = useCallback(async () => {
    setFailure(null);
    setPrefixError(undefined);
    try {
      const query = applied ? `?prefix=${encodeURIComponent(applied)}` : "";
      setNumbers((await carrier.api.get<Items<RoutedNumber>>(`/v1/numbers${query}`)).items);
    } catch (error) {
      if (numbers === null) setFailure(error);
      else setPrefixError(errorText(t, error));
    }
  }, [carrier.api, applied]);
  useEffect(() => {
    void reload();
  }, [reload]);

  if (failure !== null && numbers === null) return <LoadError error={failure} onRetry={reload} />;
  return (
    <>
      <p class="intro">{c.numbersIntro}</p>
      <form
        class="toolbar filters"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(prefix.replace(/\s+/g, ""));
        }}
      >
        <TextField id="number-prefix" label={c.prefix} value={prefix} onValue={setPrefix} inputMode="tel" error={prefixError} />
        <button type="submit">{c.filter}</button>
        <button type="button" class="primary" id="route-number" disabled={carrier.readOnly} onClick={() => setEditing({ mode: "route" })}>
          {c.routeNumber}
        </button>
      </form>
      {numbers === null ? (
        <Loading />
      ) : numbers.length === 0 ? (
        <p>{c.noNumbers}</p>
      ) : (
        <div class="table-wrap">
          <table id="numbers">
            <thead>
              <tr>
                <th scope="col">{c.number}</th>
                <th scope="col">{c.tenant}</th>
                <th scope="col" class="optional">
                  {c.since}
                </th>
                <th scope="col">
                  <span class="sr-only">{t.actions}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {numbers.map((number) => {
                const id = `number-${idPart(number.e164)}`;
                return (
                  <tr key={number.e164} id={id}>
                    <th scope="row">{number.e164}</th>
                    <td>
                      {number.tenant_name} <span class="muted">({number.tenant_slug})</span>
                    </td>
                    <td class="optional">{day(number.created_at, lang)}</td>
                    <td class="row-actions">
                      <button
                        type="button"
                        id={`${id}-move`}
                        aria-label={c.moveLabel(number.e164)}
                        disabled={carrier.readOnly}
                        onClick={() => setEditing({ mode: "move", number })}
                      >
                        {c.move}
                      </button>
                      <button
                        type="button"
                        class="danger"
                        id={`${id}-release`}
                        aria-label={c.releaseLabel(number.e164)}
                        disabled={carrier.readOnly}
                        onClick={() => setEditing({ mode: "release", number })}
                      >
                        {c.release}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {editing?.mode === "route" ? (
        <RouteDialog
          onClose={() => setEditing(null)}
          onDone={async (text) => {
            setEditing(null);
            carrier.announce(text);
            await reload();
          }}
        />
      ) : null}
      {editing?.mode === "move" ? (
        <MoveDialog
          number={editing.number}
          onClose={() => setEditing(null)}
          onDone={async (text) => {
            setEditing(null);
            carrier.announce(text);
            await reload();
          }}
        />
      ) : null}
      {editing?.mode === "release" ? (
        <ReleaseDialog
          number={editing.number}
          onClose={() => setEditing(null)}
          onDone={async (text) => {
            setEditing(null);
            carrier.announce(text);
            await reload();
          }}
        />
      ) : null}
    </>
  );
}

function tenantChoices(tenants: Tenant[], except: string | null) {
  return byName(tenants)
    .filter((tenant) => tenant.id !== except)
    .map((tenant) => ({ value: tenant.id, label: `${tenant.name} (${tenant.slug})` }));
}

function RouteDialog({ onClose, onDone }: { onClose: () => void; onDone: (text: string) => Promise<void> }) {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  const form = useFormState();
  const choices = tenantChoices(carrier.tenants, null);
  const [e164, setE164] = useState("+");
  const [tenantId, setTenantId] = useState(choices[0]?.value ?? "");
  async function submit(event: Event) {
    event.preventDefault();
    await form.run(async () => {
      const number = e164.replace(/[\s.-]/g, "");
      await carrier.api.call("POST", `/v1/tenants/${tenantId}/numbers`, { body: { e164: number } });
      const name = carrier.tenants.find((tenant) => tenant.id === tenantId)?.name ?? "";
      await onDone(c.routed(number, name));
    }, { e164: "e164", tenant_id: "tenant" });
  }
  return (
    <Dialog title={c.routeTitle} onClose={onClose}>
      <form ref={form.formRef} onSubmit={submit} noValidate>
        <FormError message={form.formError} />
        <TextField id="route-e164" label={c.number} hint={c.e164Hint} value={e164} onValue={setE164} inputMode="tel" error={form.fieldErrors.e164} />
        <SelectField id="route-tenant" label={c.tenant} value={tenantId} onValue={setTenantId} choices={choices} error={form.fieldErrors.tenant} />
        <div class="buttons">
          <button type="submit" class="primary" disabled={form.busy}>
            {c.route}
          </button>
          <button type="button" onClick={onClose}>
            {t.cancel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function MoveDialog({ number, onClose, onDone }: { number: RoutedNumber; onClose: () => void; onDone: (text: string) => Promise<void> }) {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  const form = useFormState();
  const choices = tenantChoices(carrier.tenants, number.tenant_id);
  const [tenantId, setTenantId] = useState(choices[0]?.value ?? "");
  async function submit(event: Event) {
    event.preventDefault();
    await form.run(async () => {
      const answer = await carrier.api.call<RoutedNumber>("POST", `/v1/numbers/${encodeURIComponent(number.e164)}/move`, {
        body: { tenant_id: tenantId },
      });
      await onDone(c.moved(number.e164, answer.data.tenant_name));
    }, { tenant_id: "tenant" });
  }
  return (
    <Dialog title={c.moveTitle(number.e164)} onClose={onClose}>
      <form ref={form.formRef} onSubmit={submit} noValidate>
        <p>{c.moveIntro(number.e164, number.tenant_name)}</p>
        <FormError message={form.formError} />
        <SelectField id="move-tenant" label={c.moveTo} value={tenantId} onValue={setTenantId} choices={choices} error={form.fieldErrors.tenant} />
        <div class="buttons">
          <button type="submit" class="primary" id="confirm-move" disabled={form.busy || tenantId === ""}>
            {c.move}
          </button>
          <button type="button" onClick={onClose}>
            {t.cancel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ReleaseDialog({ number, onClose, onDone }: { number: RoutedNumber; onClose: () => void; onDone: (text: string) => Promise<void> }) {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  const form = useFormState();
  async function submit(event: Event) {
    event.preventDefault();
    await form.run(async () => {
      await carrier.api.call("DELETE", `/v1/tenants/${number.tenant_id}/numbers/${encodeURIComponent(number.e164)}`);
      await onDone(c.released(number.e164));
    });
  }
  return (
    <Dialog title={c.releaseTitle} onClose={onClose}>
      <form ref={form.formRef} onSubmit={submit} noValidate>
        <p>{c.releaseIntro(number.e164, number.tenant_name)}</p>
        <FormError message={form.formError} />
        <div class="buttons">
          <button type="submit" class="danger" id="confirm-release" disabled={form.busy} data-autofocus>
            {c.release}
          </button>
          <button type="button" onClick={onClose}>
            {t.cancel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// --- usage ----------------------------------------------------------------------------------

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function UsagePage() {
  const carrier = useCarrier();
  const { t, lang } = useI18n();
  const c = t.carrier;
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86_400_000);
  const [from, setFrom] = useState(isoDay(monthAgo));
  const [to, setTo] = useState(isoDay(today));
  const [period, setPeriod] = useState({ from: isoDay(monthAgo), to: isoDay(today) });
  const [usage, setUsage] = useState<Usage[] | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [periodError, setPeriodError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    setFailure(null);
    setPeriodError(null);
    const until = new Date(`${period.to}T00:00:00Z`);
    until.setUTCDate(until.getUTCDate() + 1);
    const params = new URLSearchParams({ since: `${period.from}T00:00:00Z`, until: until.toISOString() });
    try {
      setUsage((await carrier.api.get<Items<Usage>>(`/v1/usage?${params.toString()}`)).items);
    } catch (error) {
      if (usage === null) setFailure(error);
      else setPeriodError(errorText(t, error));
    }
  }, [carrier.api, period]);
  useEffect(() => {
    void reload();
  }, [reload]);

  const number = (value: number, digits = 0) =>
    value.toLocaleString(lang === "fr" ? "fr-FR" : "en-GB", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  if (failure !== null && usage === null) return <LoadError error={failure} onRetry={reload} />;
  return (
    <>
      <p class="intro">{c.usageIntro}</p>
      <form
        class="toolbar filters"
        onSubmit={(event) => {
          event.preventDefault();
          setPeriod({ from, to });
        }}
      >
        <TextField id="usage-from" type="date" label={c.from} value={from} onValue={setFrom} />
        <TextField id="usage-to" type="date" label={c.to} value={to} onValue={setTo} />
        <button type="submit">{c.show}</button>
      </form>
      <FormError message={periodError} />
      {usage === null ? (
        <Loading />
      ) : (
        <div class="table-wrap">
          <table id="usage">
            <thead>
              <tr>
                <th scope="col">{c.tenant}</th>
                <th scope="col" class="number">
                  {c.calls}
                </th>
                <th scope="col" class="number optional">
                  {c.answered}
                </th>
                <th scope="col" class="number">
                  {c.minutes}
                </th>
                <th scope="col" class="number">
                  {c.outsideMinutes}
                </th>
                <th scope="col" class="number optional">
                  {c.voicemailLeft}
                </th>
                <th scope="col" class="number optional">
                  {c.voicemailKept}
                </th>
                <th scope="col" class="number optional">
                  {c.storage}
                </th>
              </tr>
            </thead>
            <tbody>
              {usage.map((row) => (
                <tr key={row.tenant_id} id={`usage-${idPart(row.slug)}`}>
                  <th scope="row">{row.name}</th>
                  <td class="number">{number(row.calls)}</td>
                  <td class="number optional">{number(row.answered_calls)}</td>
                  <td class="number">{number(row.minutes, 1)}</td>
                  <td class="number">{number(row.outside_minutes, 1)}</td>
                  <td class="number optional">{number(row.voicemail_left)}</td>
                  <td class="number optional">{number(row.voicemail_stored)}</td>
                  <td class="number optional">{c.megabytes((row.voicemail_bytes / 1_000_000).toFixed(1))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

// --- the audit log --------------------------------------------------------------------------

export function ConsoleAuditPage() {
  const carrier = useCarrier();
  return <AuditLog api={carrier.api} path="/v1/audit" tenants={carrier.tenants} />;
}

// --- one tenant's devices and outbound policy; tokens and people of a tenant or the carrier ---

const CARRIER_ITSELF = "carrier";

/** Which tenant a page is about (remembered while the console is open). */
function useChosenTenant(withCarrier: boolean): [string, (id: string) => void] {
  const carrier = useCarrier();
  const [chosen, setChosen] = useState(() => {
    const kept = window.sessionStorage?.getItem("rcp.console.tenant") ?? "";
    if (kept === CARRIER_ITSELF && withCarrier) return kept;
    if (carrier.tenants.some((tenant) => tenant.id === kept)) return kept;
    return withCarrier ? CARRIER_ITSELF : (byName(carrier.tenants)[0]?.id ?? "");
  });
  const choose = (id: string) => {
    window.sessionStorage?.setItem("rcp.console.tenant", id);
    setChosen(id);
  };
  return [chosen, choose];
}

function TenantChooser({ value, onValue, withCarrier }: { value: string; onValue: (id: string) => void; withCarrier: boolean }) {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  return (
    <div class="toolbar">
      <SelectField
        id="console-tenant"
        label={c.chooseTenant}
        value={value}
        onValue={onValue}
        choices={[
          ...(withCarrier ? [{ value: CARRIER_ITSELF, label: c.theCarrier }] : []),
          ...byName(carrier.tenants).map((tenant) => ({ value: tenant.id, label: `${tenant.name} (${tenant.slug})` })),
        ]}
      />
    </div>
  );
}

function useLoaded<T>(path: string | null): { data: T | null; failure: unknown; reload: () => Promise<void> } {
  const carrier = useCarrier();
  const [data, setData] = useState<T | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const reload = useCallback(async () => {
    if (path === null) return;
    setFailure(null);
    try {
      setData(await carrier.api.get<T>(path));
    } catch (error) {
      setFailure(error);
    }
  }, [carrier.api, path]);
  useEffect(() => {
    setData(null);
    void reload();
  }, [reload]);
  return { data, failure, reload };
}

function words(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((word) => word.trim())
    .filter((word) => word !== "");
}

export function DevicesPage() {
  const { t } = useI18n();
  const c = t.carrier;
  const [tenantId, setTenantId] = useChosenTenant(false);
  return (
    <>
      <p class="intro">{c.devicesIntro}</p>
      <TenantChooser value={tenantId} onValue={setTenantId} withCarrier={false} />
      {tenantId ? (
        <div key={tenantId}>
          <Devices tenantId={tenantId} />
          <Policy tenantId={tenantId} />
          <Limits tenantId={tenantId} />
        </div>
      ) : null}
    </>
  );
}

function Devices({ tenantId }: { tenantId: string }) {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  const base = `/v1/tenants/${tenantId}/devices`;
  const list = useLoaded<Items<Device>>(base);
  const form = useFormState();
  const [name, setName] = useState("");
  const [endpoint, setEndpoint] = useState("PJSIP/");
  const [rowError, setRowError] = useState<string | null>(null);
  async function add(event: Event) {
    event.preventDefault();
    await form.run(async () => {
      await carrier.api.call("POST", base, { body: { name: name.trim(), endpoint: endpoint.trim() } });
      carrier.announce(c.deviceSaved(name.trim()));
      setName("");
      setEndpoint("PJSIP/");
      await list.reload();
    }, { name: "name", endpoint: "endpoint" });
  }
  async function remove(device: Device) {
    setRowError(null);
    try {
      await carrier.api.call("DELETE", `${base}/${encodeURIComponent(device.name)}`);
      carrier.announce(c.deviceDeleted(device.name));
      await list.reload();
    } catch (error) {
      setRowError(errorText(t, error));
    }
  }
  return (
    <section class="panel" aria-labelledby="devices-title">
      <h2 id="devices-title">{c.devices}</h2>
      {list.failure !== null && list.data === null ? (
        <LoadError error={list.failure} onRetry={list.reload} />
      ) : list.data === null ? (
        <Loading />
      ) : list.data.items.length === 0 ? (
        <p>{c.noDevices}</p>
      ) : (
        <div class="table-wrap">
          <FormError message={rowError} />
          <table id="devices">
            <thead>
              <tr>
                <th scope="col">{c.deviceName}</th>
                <th scope="col">{c.endpoint}</th>
                <th scope="col" class="optional">
                  {c.usedBy}
                </th>
                <th scope="col">
                  <span class="sr-only">{t.actions}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((device) => (
                <tr key={device.name} id={`device-${idPart(device.name)}`}>
                  <th scope="row">{device.name}</th>
                  <td>
                    <code>{device.endpoint}</code>
                  </td>
                  <td class="optional">{device.extensions.join(", ")}</td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="danger"
                      aria-label={c.deleteDeviceLabel(device.name)}
                      disabled={carrier.readOnly}
                      onClick={() => void remove(device)}
                    >
                      {t.delete}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form class="toolbar filters" ref={form.formRef} onSubmit={add} noValidate>
        <FormError message={form.formError} />
        <TextField id="device-name" label={c.deviceName} value={name} onValue={setName} error={form.fieldErrors.name} spellcheck={false} />
        <TextField
          id="device-endpoint"
          label={c.endpoint}
          hint={c.endpointHint}
          value={endpoint}
          onValue={setEndpoint}
          error={form.fieldErrors.endpoint}
          spellcheck={false}
        />
        <button type="submit" class="primary" id="add-device" disabled={form.busy || carrier.readOnly}>
          {c.addDevice}
        </button>
      </form>
    </section>
  );
}

const NUMBER_TYPES: NumberType[] = [
  "fixed_line",
  "mobile",
  "fixed_line_or_mobile",
  "toll_free",
  "premium_rate",
  "shared_cost",
  "voip",
  "personal_number",
  "pager",
  "uan",
  "voicemail",
  "unknown",
];

function Policy({ tenantId }: { tenantId: string }) {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  const path = `/v1/tenants/${tenantId}/outbound-policy`;
  const loaded = useLoaded<OutboundPolicy>(path);
  const form = useFormState();
  const [home, setHome] = useState("");
  const [regions, setRegions] = useState("");
  const [types, setTypes] = useState<Set<NumberType>>(new Set());
  const [allowed, setAllowed] = useState("");
  const [denied, setDenied] = useState("");
  const [policy, setPolicy] = useState<OutboundPolicy | null>(null);
  useEffect(() => {
    if (loaded.data !== null) show(loaded.data);
  }, [loaded.data]);
  function show(shown: OutboundPolicy) {
    setPolicy(shown);
    setHome(shown.home_region ?? "");
    setRegions(shown.allowed_regions.join(", "));
    setTypes(new Set(shown.allowed_number_types));
    setAllowed(shown.allowed_prefixes.join(", "));
    setDenied(shown.denied_prefixes.join(", "));
  }
  async function write(reset: boolean) {
    await form.run(async () => {
      const answer = reset
        ? await carrier.api.call<OutboundPolicy>("DELETE", path)
        : await carrier.api.call<OutboundPolicy>("PATCH", path, {
            body: {
              home_region: home.trim() === "" ? null : home.trim().toUpperCase(),
              allowed_regions: words(regions).map((region) => region.toUpperCase()),
              allowed_number_types: NUMBER_TYPES.filter((type) => types.has(type)),
              allowed_prefixes: words(allowed),
              denied_prefixes: words(denied),
            },
          });
      if (answer.data !== null) show(answer.data);
      else await loaded.reload();
      carrier.announce(reset ? c.policyReset : c.policySaved);
    }, {
        home_region: "home",
        allowed_regions: "regions",
        allowed_number_types: "types",
        allowed_prefixes: "allowed",
        denied_prefixes: "denied",
      });
  }
  return (
    <section class="panel" aria-labelledby="policy-title">
      <h2 id="policy-title">{c.policy}</h2>
      <p class="intro">{c.policyIntro}</p>
      {loaded.failure !== null && policy === null ? (
        <LoadError error={loaded.failure} onRetry={loaded.reload} />
      ) : policy === null ? (
        <Loading />
      ) : (
        <form
          id="policy"
          ref={form.formRef}
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void write(false);
          }}
        >
          <FormError message={form.formError} />
          {policy.refused_extensions.length > 0 ? (
            <p class="flag" id="policy-refused">
              {c.refusedNow(policy.refused_extensions.map((x) => `${x.number} (${x.external_number})`).join(", "))}
            </p>
          ) : null}
          <TextField id="policy-home" label={c.homeRegion} hint={c.homeRegionHint(policy.country)} value={home} onValue={setHome} error={form.fieldErrors.home} />
          <TextField id="policy-regions" label={c.allowedRegions} hint={c.listHint} value={regions} onValue={setRegions} error={form.fieldErrors.regions} />
          <fieldset class="checks" id="policy-types">
            <legend>{c.allowedTypes}</legend>
            {NUMBER_TYPES.map((type) => (
              <CheckboxField
                key={type}
                id={`policy-type-${type}`}
                label={t.numberTypes[type]}
                checked={types.has(type)}
                onChecked={(on) =>
                  setTypes((now) => {
                    const next = new Set(now);
                    if (on) next.add(type);
                    else next.delete(type);
                    return next;
                  })
                }
              />
            ))}
            {form.fieldErrors.types ? (
              <p class="field-error" role="alert">
                {form.fieldErrors.types}
              </p>
            ) : null}
          </fieldset>
          <TextField id="policy-allowed" label={c.allowedPrefixes} hint={c.listHint} value={allowed} onValue={setAllowed} error={form.fieldErrors.allowed} />
          <TextField id="policy-denied" label={c.deniedPrefixes} hint={c.listHint} value={denied} onValue={setDenied} error={form.fieldErrors.denied} />
          <div class="buttons">
            <button type="submit" class="primary" id="save-policy" disabled={form.busy || carrier.readOnly}>
              {c.savePolicy}
            </button>
            <button type="button" id="reset-policy" disabled={form.busy || carrier.readOnly || policy.updated_at === null} onClick={() => void write(true)}>
              {c.resetPolicy}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

const LIMITS = ["max_inbound_calls", "max_outbound_legs", "max_outbound_legs_per_minute", "max_outbound_call_s"] as const;
type LimitName = (typeof LIMITS)[number];
type TenantLimits = Record<LimitName, number> & { updated_at: string | null };

function Limits({ tenantId }: { tenantId: string }) {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  const path = `/v1/tenants/${tenantId}/limits`;
  const loaded = useLoaded<TenantLimits>(path);
  const form = useFormState();
  const [limits, setLimits] = useState<TenantLimits | null>(null);
  const [typed, setTyped] = useState<Record<LimitName, string>>({
    max_inbound_calls: "",
    max_outbound_legs: "",
    max_outbound_legs_per_minute: "",
    max_outbound_call_s: "",
  });
  function show(shown: TenantLimits) {
    setLimits(shown);
    setTyped(Object.fromEntries(LIMITS.map((name) => [name, String(shown[name])])) as Record<LimitName, string>);
  }
  useEffect(() => {
    if (loaded.data !== null) show(loaded.data);
  }, [loaded.data]);
  async function write(reset: boolean) {
    await form.run(async () => {
      const body = Object.fromEntries(LIMITS.map((name) => [name, /^\s*\d+\s*$/.test(typed[name]) ? Number(typed[name]) : typed[name]]));
      const answer = reset
        ? await carrier.api.call<TenantLimits>("DELETE", path)
        : await carrier.api.call<TenantLimits>("PATCH", path, { body });
      if (answer.data !== null) show(answer.data);
      else await loaded.reload();
      carrier.announce(reset ? c.limitsReset : c.limitsSaved);
    }, Object.fromEntries(LIMITS.map((name) => [name, name])));
  }
  return (
    <section class="panel" aria-labelledby="limits-title">
      <h2 id="limits-title">{c.limits}</h2>
      {loaded.failure !== null && limits === null ? (
        <LoadError error={loaded.failure} onRetry={loaded.reload} />
      ) : limits === null ? (
        <Loading />
      ) : (
        <form
          id="limits"
          ref={form.formRef}
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void write(false);
          }}
        >
          <FormError message={form.formError} />
          {LIMITS.map((name) => (
            <TextField
              key={name}
              id={`limit-${name}`}
              label={c.limitLabels[name]}
              inputMode="numeric"
              value={typed[name]}
              onValue={(value) => setTyped((now) => ({ ...now, [name]: value }))}
              error={form.fieldErrors[name]}
            />
          ))}
          <div class="buttons">
            <button type="submit" class="primary" id="save-limits" disabled={form.busy || carrier.readOnly}>
              {c.saveLimits}
            </button>
            <button type="button" id="reset-limits" disabled={form.busy || carrier.readOnly || limits.updated_at === null} onClick={() => void write(true)}>
              {c.resetPolicy}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

export function AccessPage() {
  const { t } = useI18n();
  const [tenantId, setTenantId] = useChosenTenant(true);
  const base = tenantId === CARRIER_ITSELF ? "/v1" : `/v1/tenants/${tenantId}`;
  return (
    <>
      <TenantChooser value={tenantId} onValue={setTenantId} withCarrier={true} />
      {tenantId ? (
        <div key={tenantId}>
          <Tokens base={base} />
          <People base={base} staff={tenantId === CARRIER_ITSELF} />
        </div>
      ) : (
        <p>{t.carrier.noTenants}</p>
      )}
    </>
  );
}

function Tokens({ base }: { base: string }) {
  const carrier = useCarrier();
  const { t, lang } = useI18n();
  const c = t.carrier;
  const list = useLoaded<Items<ApiToken>>(`${base}/tokens`);
  const form = useFormState();
  const [name, setName] = useState("");
  const [issued, setIssued] = useState<string | null>(null);
  const [rowError, setRowError] = useState<string | null>(null);
  async function issue(event: Event) {
    event.preventDefault();
    await form.run(async () => {
      const answer = await carrier.api.call<{ token: string }>("POST", `${base}/tokens`, { body: { name: name.trim() } });
      setIssued(answer.data.token);
      setName("");
      await list.reload();
    }, { name: "name" });
  }
  async function revoke(token: ApiToken) {
    setRowError(null);
    try {
      await carrier.api.call("DELETE", `${base}/tokens/${token.id}`);
      carrier.announce(c.tokenRevoked(token.name));
      await list.reload();
    } catch (error) {
      setRowError(errorText(t, error));
    }
  }
  const shown = (iso: string | null) => (iso === null ? c.never : day(iso, lang));
  return (
    <section class="panel" aria-labelledby="tokens-title">
      <h2 id="tokens-title">{c.tokens}</h2>
      <p class="intro">{c.tokensIntro}</p>
      <FormError message={rowError} />
      {list.failure !== null && list.data === null ? (
        <LoadError error={list.failure} onRetry={list.reload} />
      ) : list.data === null ? (
        <Loading />
      ) : list.data.items.length === 0 ? (
        <p>{c.noTokens}</p>
      ) : (
        <div class="table-wrap">
          <table id="tokens">
            <thead>
              <tr>
                <th scope="col">{c.tokenName}</th>
                <th scope="col" class="optional">
                  {c.prefixCol}
                </th>
                <th scope="col">{c.expires}</th>
                <th scope="col" class="optional">
                  {c.lastUsed}
                </th>
                <th scope="col">
                  <span class="sr-only">{t.actions}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((token) => (
                <tr key={token.id} id={`token-${token.id}`}>
                  <th scope="row">{token.name}</th>
                  <td class="optional">
                    <code>{token.prefix}</code>
                  </td>
                  <td>{token.revoked_at !== null ? c.revoked : shown(token.expires_at)}</td>
                  <td class="optional">{shown(token.last_used_at)}</td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="danger"
                      aria-label={c.revokeLabel(token.name)}
                      disabled={carrier.readOnly || token.revoked_at !== null}
                      onClick={() => void revoke(token)}
                    >
                      {c.revoke}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form class="toolbar filters" ref={form.formRef} onSubmit={issue} noValidate>
        <FormError message={form.formError} />
        <TextField id="token-name" label={c.tokenName} value={name} onValue={setName} error={form.fieldErrors.name} />
        <button type="submit" class="primary" id="issue-token" disabled={form.busy || carrier.readOnly}>
          {c.issueToken}
        </button>
      </form>
      {issued !== null ? (
        <Dialog title={c.issuedTitle} onClose={() => setIssued(null)}>
          <p>{c.issuedIntro}</p>
          <p>
            <code id="issued-token" class="secret">
              {issued}
            </code>
          </p>
          <div class="buttons">
            <button type="button" class="primary" data-autofocus onClick={() => setIssued(null)}>
              {t.close}
            </button>
          </div>
        </Dialog>
      ) : null}
    </section>
  );
}

function People({ base, staff }: { base: string; staff: boolean }) {
  const carrier = useCarrier();
  const { t, lang } = useI18n();
  const c = t.carrier;
  const list = useLoaded<Items<Person>>(`${base}/users`);
  const form = useFormState();
  const roles = staff ? ["operator", "support"] : ["admin", "editor", "viewer"];
  const [email, setEmail] = useState("");
  const [role, setRole] = useState(roles[roles.length - 1]);
  const [language, setLanguage] = useState<string>(lang);
  const [rowError, setRowError] = useState<string | null>(null);
  async function invite(event: Event) {
    event.preventDefault();
    await form.run(async () => {
      const answer = await carrier.api.call<{ email: string; invitation: { sent: boolean } }>("POST", `${base}/users`, {
        body: { email: email.trim(), role, language },
      });
      carrier.announce(answer.data.invitation.sent ? c.invited(answer.data.email) : c.inviteNotSent(answer.data.email));
      setEmail("");
      await list.reload();
    }, { email: "email", role: "role", language: "language" });
  }
  async function act(write: () => Promise<unknown>, said: string) {
    setRowError(null);
    try {
      await write();
      carrier.announce(said);
      await list.reload();
    } catch (error) {
      setRowError(error instanceof Error && !(error instanceof ApiError) ? error.message : errorText(t, error));
    }
  }
  return (
    <section class="panel" aria-labelledby="people-title">
      <h2 id="people-title">{c.people}</h2>
      <p class="intro">{c.peopleIntro}</p>
      <FormError message={rowError} />
      {list.failure !== null && list.data === null ? (
        <LoadError error={list.failure} onRetry={list.reload} />
      ) : list.data === null ? (
        <Loading />
      ) : list.data.items.length === 0 ? (
        <p>{c.noPeople}</p>
      ) : (
        <div class="table-wrap">
          <table id="people">
            <thead>
              <tr>
                <th scope="col">{c.email}</th>
                <th scope="col">{c.role}</th>
                <th scope="col">{c.status}</th>
                <th scope="col" class="optional">
                  {c.lastUsed}
                </th>
                <th scope="col">
                  <span class="sr-only">{t.actions}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((person) => {
                const one = `${base}/users/${person.id}`;
                const disabled = person.status === "disabled";
                return (
                  <tr key={person.id} id={`person-${person.id}`}>
                    <th scope="row">{person.email}</th>
                    <td>{c.roles[person.role] ?? person.role}</td>
                    <td>{c.personStatus[person.status] ?? person.status}</td>
                    <td class="optional">{person.last_sign_in_at === null ? c.never : day(person.last_sign_in_at, lang)}</td>
                    <td class="row-actions">
                      <button
                        type="button"
                        aria-label={disabled ? c.enableLabel(person.email) : c.disableLabel(person.email)}
                        disabled={carrier.readOnly}
                        onClick={() =>
                          void act(
                            () => carrier.api.call("PATCH", one, { body: { disabled: !disabled } }),
                            disabled ? c.personEnabled(person.email) : c.personDisabled(person.email),
                          )
                        }
                      >
                        {disabled ? c.enable : c.disable}
                      </button>
                      {person.status === "invited" ? (
                        <button
                          type="button"
                          aria-label={c.inviteAgainLabel(person.email)}
                          disabled={carrier.readOnly}
                          onClick={() =>
                            void act(async () => {
                              const answer = await carrier.api.call<{ sent: boolean }>("POST", `${one}/invitation`);
                              if (!answer.data.sent) throw new Error(c.inviteAgainNotSent(person.email));
                            }, c.invited(person.email))
                          }
                        >
                          {c.inviteAgain}
                        </button>
                      ) : null}
                      <button
                        type="button"
                        class="danger"
                        aria-label={c.removeLabel(person.email)}
                        disabled={carrier.readOnly}
                        onClick={() => void act(() => carrier.api.call("DELETE", one), c.personDeleted(person.email))}
                      >
                        {t.delete}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <form class="toolbar filters" ref={form.formRef} onSubmit={invite} noValidate>
        <FormError message={form.formError} />
        <TextField id="invite-email" type="email" label={c.email} value={email} onValue={setEmail} error={form.fieldErrors.email} />
        <SelectField
          id="invite-role"
          label={c.role}
          value={role}
          onValue={setRole}
          choices={roles.map((value) => ({ value, label: c.roles[value] ?? value }))}
          error={form.fieldErrors.role}
        />
        <SelectField
          id="invite-language"
          label={c.language}
          value={language}
          onValue={setLanguage}
          choices={[
            { value: "fr", label: "Français" },
            { value: "en", label: "English" },
          ]}
        />
        <button type="submit" class="primary" id="invite-person" disabled={form.busy || carrier.readOnly}>
          {c.invite}
        </button>
      </form>
    </section>
  );
}
