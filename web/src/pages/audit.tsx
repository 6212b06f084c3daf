// The audit log: who changed what and when, each change shown as the fields it changed
// (before → after). Tenant admins read their tenant's; the carrier console reads every
// tenant's, with a tenant filter.

import { useCallback, useEffect, useState } from "preact/hooks";
import type { Api } from "../api";
import { LoadError, Loading, SelectField, TextField, splitError } from "../forms";
import { useI18n } from "../i18n";
import { useSession } from "../session";
import type { AuditEntry, AuditList, Tenant } from "../types";

const PAGE = 50;

function when(iso: string, lang: string): string {
  return new Date(iso).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB", { dateStyle: "medium", timeStyle: "medium" });
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return "∅";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function fields(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

// Bookkeeping fields that change with every write and say nothing to a reader.
const NOISE = new Set(["updated_at", "created_at"]);

export interface FieldChange {
  field: string;
  before: string | null; // null: the field was not there
  after: string | null;
}

/** What an entry changed, field by field: the fields whose values differ (a creation shows
 * every field it was given, a deletion every field it had). */
export function changes(before: unknown, after: unknown): FieldChange[] {
  const old = fields(before);
  const now = fields(after);
  if (old === null && now === null) {
    if (before === null && after === null) return [];
    return [{ field: "", before: before === null ? null : shown(before), after: after === null ? null : shown(after) }];
  }
  const names = [...new Set([...Object.keys(old ?? {}), ...Object.keys(now ?? {})])].filter((name) => !NOISE.has(name));
  const out: FieldChange[] = [];
  for (const name of names) {
    const a = old !== null && name in old ? shown(old[name]) : null;
    const b = now !== null && name in now ? shown(now[name]) : null;
    if (a !== b) out.push({ field: name, before: a, after: b });
  }
  return out;
}

function Change({ entry }: { entry: AuditEntry }) {
  const { t } = useI18n();
  const c = t.carrier;
  const list = changes(entry.before, entry.after);
  if (list.length === 0) return <span class="muted">{entry.before === null && entry.after === null && entry.entity_key === null ? c.erased : c.noDetail}</span>;
  const creation = entry.before === null;
  const deletion = entry.after === null;
  return (
    <div class="audit-change">
      {creation ? <span class="muted">{c.createdWith} </span> : deletion ? <span class="muted">{c.deletedWas} </span> : null}
      <ul class="diff">
        {list.map((change) => (
          <li key={change.field}>
            {change.field ? <span class="field-name">{change.field}</span> : null}{" "}
            {creation ? (
              <ins>{change.after}</ins>
            ) : deletion ? (
              <del>{change.before}</del>
            ) : (
              <>
                <del>{change.before ?? "∅"}</del> → <ins>{change.after ?? "∅"}</ins>
              </>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function isoDay(day: string, next = false): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const date = new Date(`${day}T00:00:00Z`);
  if (next) date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString();
}

interface Filters {
  actor: string;
  entity: string;
  action: string;
  since: string;
  until: string;
  tenant: string;
}

const NO_FILTERS: Filters = { actor: "", entity: "", action: "", since: "", until: "", tenant: "" };

/** The log at `path` (/v1/audit or a tenant's .../audit), filtered, a page at a time. */
export function AuditLog({ api, path, tenants }: { api: Api; path: string; tenants: Tenant[] | null }) {
  const { t, lang } = useI18n();
  const c = t.carrier;
  const [typed, setTyped] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [filterError, setFilterError] = useState<string | null>(null);

  const query = useCallback(
    (before: number | null) => {
      const params = new URLSearchParams({ limit: String(PAGE) });
      if (applied.actor.trim()) params.set("actor", applied.actor.trim());
      if (applied.entity.trim()) params.set("entity", applied.entity.trim());
      if (applied.action.trim()) params.set("action", applied.action.trim());
      const since = isoDay(applied.since);
      const until = isoDay(applied.until, true);
      if (since) params.set("since", since);
      if (until) params.set("until", until);
      if (applied.tenant) params.set("tenant_id", applied.tenant);
      if (before !== null) params.set("before_id", String(before));
      return `${path}?${params.toString()}`;
    },
    [applied, path],
  );

  const load = useCallback(async () => {
    setFailure(null);
    setFilterError(null);
    try {
      const answer = await api.get<AuditList>(query(null));
      setEntries(answer.items);
      setNext(answer.next_before_id);
    } catch (error) {
      if (entries === null) setFailure(error);
      else setFilterError(splitError(t, error, {}).formError);
    }
  }, [api, query]);
  useEffect(() => {
    void load();
  }, [load]);

  async function older() {
    if (next === null) return;
    const answer = await api.get<AuditList>(query(next));
    setEntries((shownSoFar) => [...(shownSoFar ?? []), ...answer.items]);
    setNext(answer.next_before_id);
  }

  const tenantName = (id: string | null) =>
    id === null ? c.carrierItself : (tenants?.find((tenant) => tenant.id === id)?.name ?? id.slice(0, 8));

  if (failure !== null && entries === null) return <LoadError error={failure} onRetry={load} />;
  const set = (name: keyof Filters) => (value: string) => setTyped((f) => ({ ...f, [name]: value }));
  return (
    <>
      <p class="intro">{tenants === null ? c.auditIntro : c.auditIntroCarrier}</p>
      <form
        class="toolbar filters"
        id="audit-filters"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(typed);
        }}
      >
        {tenants !== null ? (
          <SelectField
            id="audit-tenant"
            label={c.tenant}
            value={typed.tenant}
            onValue={(value) => {
              const chosen = { ...typed, tenant: value };
              setTyped(chosen);
              setApplied(chosen);
            }}
            choices={[
              { value: "", label: c.allTenants },
              ...[...tenants].sort((a, b) => a.name.localeCompare(b.name)).map((tenant) => ({ value: tenant.id, label: tenant.name })),
            ]}
          />
        ) : null}
        <TextField id="audit-actor" label={c.actor} value={typed.actor} onValue={set("actor")} />
        <TextField id="audit-entity" label={c.entity} value={typed.entity} onValue={set("entity")} />
        <TextField id="audit-action" label={c.action} value={typed.action} onValue={set("action")} />
        <TextField id="audit-since" type="date" label={c.from} value={typed.since} onValue={set("since")} />
        <TextField id="audit-until" type="date" label={c.to} value={typed.until} onValue={set("until")} />
        <button type="submit">{c.filter}</button>
      </form>
      {filterError ? (
        <p class="form-error" role="alert">
          {filterError}
        </p>
      ) : null}
      {entries === null ? (
        <Loading />
      ) : entries.length === 0 ? (
        <p id="audit-empty">{c.noEntries}</p>
      ) : (
        <div class="table-wrap">
          <table id="audit">
            <thead>
              <tr>
                <th scope="col">{c.when}</th>
                {tenants !== null ? <th scope="col">{c.tenant}</th> : null}
                <th scope="col">{c.who}</th>
                <th scope="col">{c.what}</th>
                <th scope="col">{c.change}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id} id={`audit-${entry.id}`}>
                  <td class="nowrap">{when(entry.at, lang)}</td>
                  {tenants !== null ? <td>{tenantName(entry.tenant_id)}</td> : null}
                  <td>{entry.actor}</td>
                  <td>
                    <code>{entry.action}</code>
                    {entry.entity_key ? <span class="muted"> {entry.entity_key}</span> : null}
                  </td>
                  <td>
                    <Change entry={entry} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next !== null ? (
        <p>
          <button type="button" id="audit-older" onClick={() => void older()}>
            {c.older}
          </button>
        </p>
      ) : null}
    </>
  );
}

/** The tenant admin's Audit log page. */
export function AuditPage() {
  const session = useSession();
  return <AuditLog api={session.api} path={session.path("/audit")} tenants={null} />;
}
