// The carrier console's pages, for the carrier's staff (operators change, support reads):
// tenants, phone numbers, usage over a period, and the audit log across tenants.

import { createContext } from "preact";
import { useCallback, useContext, useEffect, useState } from "preact/hooks";
import type { Api } from "../api";
import { Dialog, FormError, LoadError, Loading, SelectField, TextField, errorText, splitError, useFormState } from "../forms";
import { useI18n } from "../i18n";
import type { Items, RoutedNumber, Tenant, Usage } from "../types";
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

type TenantEditing = { mode: "create" } | { mode: "delete"; tenant: Tenant } | null;

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
      {editing?.mode === "create" ? (
        <NewTenantDialog
          onClose={() => setEditing(null)}
          onSaved={async (tenant) => {
            setEditing(null);
            carrier.announce(c.tenantCreated(tenant.name));
            await carrier.reloadTenants();
          }}
        />
      ) : null}
      {editing?.mode === "delete" ? (
        <DeleteTenantDialog
          tenant={editing.tenant}
          onClose={() => setEditing(null)}
          onDeleted={async () => {
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

function NewTenantDialog({ onClose, onSaved }: { onClose: () => void; onSaved: (tenant: Tenant) => Promise<void> }) {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  const form = useFormState();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [locale, setLocale] = useState("fr-FR");
  const [timezone, setTimezone] = useState("Europe/Paris");
  async function submit(event: Event) {
    event.preventDefault();
    form.clear();
    form.setBusy(true);
    try {
      const answer = await carrier.api.call<Tenant>("POST", "/v1/tenants", {
        body: { name: name.trim(), slug: slug.trim(), locale, timezone: timezone.trim() },
      });
      await onSaved(answer.data);
    } catch (error) {
      const split = splitError(t, error, { name: "name", slug: "slug", locale: "locale", timezone: "timezone" });
      form.fail(split.fieldErrors, split.formError);
    } finally {
      form.setBusy(false);
    }
  }
  return (
    <Dialog title={c.newTenant} onClose={onClose}>
      <form ref={form.formRef} onSubmit={submit} noValidate>
        <FormError message={form.formError} />
        <TextField id="tenant-name" label={c.tenantName} value={name} onValue={setName} error={form.fieldErrors.name} />
        <TextField id="tenant-slug" label={c.slug} hint={c.slugHint} value={slug} onValue={setSlug} error={form.fieldErrors.slug} spellcheck={false} />
        <SelectField
          id="tenant-locale"
          label={c.locale}
          value={locale}
          onValue={setLocale}
          choices={LOCALES.map((code) => ({ value: code, label: code }))}
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

/** Deleting a tenant erases everything it has: its name must be typed to confirm. */
function DeleteTenantDialog({ tenant, onClose, onDeleted }: { tenant: Tenant; onClose: () => void; onDeleted: () => Promise<void> }) {
  const carrier = useCarrier();
  const { t } = useI18n();
  const c = t.carrier;
  const form = useFormState();
  const [typed, setTyped] = useState("");
  const matches = typed.trim() === tenant.name;
  async function submit(event: Event) {
    event.preventDefault();
    if (!matches) return;
    form.clear();
    form.setBusy(true);
    try {
      await carrier.api.call("DELETE", `/v1/tenants/${tenant.id}`);
      await onDeleted();
    } catch (error) {
      form.fail({}, errorText(t, error));
    } finally {
      form.setBusy(false);
    }
  }
  return (
    <Dialog title={c.deleteTenantTitle} onClose={onClose}>
      <form ref={form.formRef} onSubmit={submit} noValidate>
        <p>{c.deleteTenantIntro(tenant.name)}</p>
        <FormError message={form.formError} />
        <TextField id="confirm-name" label={c.typeName(tenant.name)} value={typed} onValue={setTyped} autoComplete="off" spellcheck={false} />
        <div class="buttons">
          <button type="submit" class="danger" id="confirm-delete" disabled={form.busy || !matches}>
            {c.deleteForever}
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
    form.clear();
    form.setBusy(true);
    try {
      const number = e164.replace(/[\s.-]/g, "");
      await carrier.api.call("POST", `/v1/tenants/${tenantId}/numbers`, { body: { e164: number } });
      const name = carrier.tenants.find((tenant) => tenant.id === tenantId)?.name ?? "";
      await onDone(c.routed(number, name));
    } catch (error) {
      const split = splitError(t, error, { e164: "e164", tenant_id: "tenant" });
      form.fail(split.fieldErrors, split.formError);
    } finally {
      form.setBusy(false);
    }
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
    form.clear();
    form.setBusy(true);
    try {
      const answer = await carrier.api.call<RoutedNumber>("POST", `/v1/numbers/${encodeURIComponent(number.e164)}/move`, {
        body: { tenant_id: tenantId },
      });
      await onDone(c.moved(number.e164, answer.data.tenant_name));
    } catch (error) {
      const split = splitError(t, error, { tenant_id: "tenant" });
      form.fail(split.fieldErrors, split.formError);
    } finally {
      form.setBusy(false);
    }
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
    form.clear();
    form.setBusy(true);
    try {
      await carrier.api.call("DELETE", `/v1/tenants/${number.tenant_id}/numbers/${encodeURIComponent(number.e164)}`);
      await onDone(c.released(number.e164));
    } catch (error) {
      form.fail({}, errorText(t, error));
    } finally {
      form.setBusy(false);
    }
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
