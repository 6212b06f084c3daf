// The Hours page: the weekly opening hours as a grid edited with the mouse (or the keyboard),
// the menu each state answers with, the holidays, and the "closed exceptionally" switch (also
// on the Receptionist page).

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { CheckboxField, FormError, LoadError, Loading, SelectField, TextField, splitError, useFormState } from "../forms";
import { type Messages, useI18n } from "../i18n";
import { draftChanged, useSession } from "../session";
import type { Holiday, Items, Menu, MenuRef, OpeningRange, Schedule, ScheduleNow } from "../types";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const SLOTS = 48; // half hours

function slotTime(slot: number): string {
  const minutes = slot * 30;
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

function slotOf(time: string): number {
  const [h, m] = time.split(":").map(Number);
  return Math.round((h * 60 + m) / 30);
}

/** The grid (one row of 48 half hours per day) of the weekly ranges. */
export function gridOf(weekly: Record<string, OpeningRange[]>): boolean[][] {
  return DAYS.map((day) => {
    const row = new Array<boolean>(SLOTS).fill(false);
    for (const range of weekly[day] ?? []) {
      for (let slot = slotOf(range.start); slot < slotOf(range.end); slot += 1) row[slot] = true;
    }
    return row;
  });
}

/** The weekly ranges a grid marks (24:00 ends a range that runs to midnight). */
export function rangesOf(grid: boolean[][]): Record<string, OpeningRange[]> {
  const weekly: Record<string, OpeningRange[]> = {};
  grid.forEach((row, index) => {
    const ranges: OpeningRange[] = [];
    let start: number | null = null;
    for (let slot = 0; slot <= SLOTS; slot += 1) {
      const open = slot < SLOTS && row[slot];
      if (open && start === null) start = slot;
      if (!open && start !== null) {
        ranges.push({ start: slotTime(start), end: slot === SLOTS ? "24:00" : slotTime(slot) });
        start = null;
      }
    }
    if (ranges.length) weekly[DAYS[index]] = ranges;
  });
  return weekly;
}

function localTime(iso: string, lang: string): string {
  return new Date(iso).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}

/** "Closed exceptionally": one switch, and until when; it applies at once (not a draft). */
export function OverridePanel() {
  const session = useSession();
  const { t, lang } = useI18n();
  const form = useFormState();
  const [schedule, setSchedule] = useState<Schedule | null>(null);
  const [now, setNow] = useState<ScheduleNow | null>(null);
  const [until, setUntil] = useState("");

  const reload = useCallback(async () => {
    const [found, state] = await Promise.all([
      session.api.get<Schedule>(session.path("/schedule")),
      session.api.get<ScheduleNow>(session.path("/schedule/now")),
    ]);
    setSchedule(found);
    setNow(state);
  }, [session]);
  useEffect(() => {
    void reload().catch(() => undefined);
  }, [reload]);
  if (schedule === null || now === null) return null;
  const closed = schedule.override?.mode === "closed";

  async function toggle(on: boolean) {
    await form.run(async () => {
      if (on) {
        const body = { mode: "closed", until: until ? new Date(until).toISOString() : null };
        await session.api.call("PUT", session.path("/schedule/override"), { body });
      } else {
        await session.api.call("DELETE", session.path("/schedule/override"));
      }
      await reload();
      session.announce(t.overrideSaved);
    }, { until: "until" });
  }

  return (
    <section class={closed ? "panel override on" : "panel override"} aria-labelledby="override-title">
      <h2 id="override-title">{t.overrideTitle}</h2>
      <FormError message={form.formError} />
      <p id="override-state">
        {closed ? t.overrideOn(schedule.override?.until ? localTime(schedule.override.until, lang) : null) : t.overrideOff}
      </p>
      <p class="hint" id="schedule-now">
        {t.stateNow(t.states[now.state] ?? now.state, now.reason_by_language?.[lang] ?? now.reason)} — {now.menu.name}
      </p>
      {closed ? null : (
        <div class="field">
          <label for="override-until">{t.overrideUntil}</label>
          <input id="override-until" type="datetime-local" value={until} onInput={(e) => setUntil((e.target as HTMLInputElement).value)} />
          {form.fieldErrors.until ? <p class="field-error">{form.fieldErrors.until}</p> : null}
        </div>
      )}
      <button
        type="button"
        id="override-switch"
        role="switch"
        aria-checked={closed}
        class={closed ? "switch on danger" : "switch"}
        disabled={form.busy || session.readOnly}
        onClick={() => void toggle(!closed)}
      >
        {t.overrideSwitch}
      </button>
    </section>
  );
}

interface Loaded {
  schedule: Schedule;
  etag: string | null;
  menus: MenuRef[];
  holidays: Holiday[];
}

async function load(session: ReturnType<typeof useSession>): Promise<Loaded> {
  const [schedule, menus, holidays] = await Promise.all([
    session.api.call<Schedule>("GET", session.path("/schedule")),
    session.api.get<Items<Menu>>(session.path("/menus")),
    session.api.get<Items<Holiday>>(session.path("/holidays")),
  ]);
  return {
    schedule: schedule.data,
    etag: schedule.etag,
    menus: menus.items.map((m) => ({ id: m.id, name: m.name })),
    holidays: holidays.items,
  };
}

export function HoursPage() {
  const session = useSession();
  const { t } = useI18n();
  const [data, setData] = useState<Loaded | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
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
  return (
    <>
      <OverridePanel />
      <WeeklyHours data={data} onSaved={reload} />
      <Holidays holidays={data.holidays} onChanged={reload} />
      <p class="hint">{t.hoursIntro(data.schedule.timezone)}</p>
    </>
  );
}

function WeeklyHours({ data, onSaved }: { data: Loaded; onSaved: () => Promise<void> }) {
  const session = useSession();
  const { t } = useI18n();
  const form = useFormState();
  const [grid, setGrid] = useState<boolean[][]>(() => gridOf(data.schedule.weekly));
  const [menus, setMenus] = useState({
    closed: data.schedule.menus.closed?.id ?? "",
    holiday: data.schedule.menus.holiday?.id ?? "",
    override_closed: data.schedule.menus.override_closed?.id ?? "",
  });
  // While the mouse is down, the cells it passes over take the value the first one got.
  const painting = useRef<boolean | null>(null);
  useEffect(() => {
    const stop = () => {
      painting.current = null;
    };
    window.addEventListener("mouseup", stop);
    return () => window.removeEventListener("mouseup", stop);
  }, []);

  function set(day: number, slot: number, open: boolean) {
    setGrid((g) => g.map((row, d) => (d === day ? row.map((cell, s) => (s === slot ? open : cell)) : row)));
  }

  async function save(event: Event) {
    event.preventDefault();
    await form.run(
      async () => {
        const body = {
          weekly: rangesOf(grid),
          menus: {
            closed: menus.closed || null,
            holiday: menus.holiday || null,
            override_closed: menus.override_closed || null,
          },
        };
        await session.api.call("PUT", session.path("/schedule"), { body, ifMatch: data.etag });
        session.announce(t.hoursSaved);
        draftChanged();
        await onSaved();
      },
      async (error) => {
        if (!(error instanceof ApiError && error.status === 412)) return splitError(t, error, {});
        await onSaved();
        return { fieldErrors: {}, formError: t.staleSettings };
      },
    );
  }

  const choices = (fallback: string) => [{ value: "", label: fallback }, ...data.menus.map((m) => ({ value: m.id, label: m.name }))];
  return (
    <section class="panel" aria-labelledby="hours-title">
      <h2 id="hours-title">{t.hoursTitle}</h2>
      <form ref={form.formRef} onSubmit={save} noValidate aria-busy={form.busy}>
        <FormError message={form.formError} />
        <div class="hours-grid" role="grid" aria-label={t.hoursTitle}>
          <div role="row" class="hours-head">
            <span role="columnheader" />
            {Array.from({ length: 24 }, (_, hour) => (
              <span role="columnheader" class="hour" key={hour}>
                {hour}
              </span>
            ))}
          </div>
          {DAYS.map((day, d) => (
            <div role="row" key={day} class="hours-row">
              <span role="rowheader" class="day">
                {t.weekdays[day]}
              </span>
              {grid[d].map((open, s) => (
                <button
                  type="button"
                  role="gridcell"
                  key={s}
                  id={`cell-${day}-${s}`}
                  disabled={session.readOnly}
                  class={open ? "cell open" : "cell"}
                  aria-pressed={open}
                  aria-label={t.cellLabel(t.weekdays[day], slotTime(s), open)}
                  onMouseDown={(event) => {
                    event.preventDefault();
                    painting.current = !open;
                    set(d, s, !open);
                  }}
                  onMouseEnter={() => {
                    if (painting.current !== null) set(d, s, painting.current);
                  }}
                  onKeyDown={(event) => {
                    if (event.key === " " || event.key === "Enter") {
                      event.preventDefault();
                      set(d, s, !open);
                    }
                  }}
                />
              ))}
            </div>
          ))}
        </div>
        <fieldset>
          <legend>{t.stateMenus}</legend>
          <SelectField
            id="menu-closed"
            label={t.stateMenu.closed}
            value={menus.closed}
            onValue={(closed) => setMenus((m) => ({ ...m, closed }))}
            choices={choices(t.firstMenuDefault)}
          />
          <SelectField
            id="menu-holiday"
            label={t.stateMenu.holiday}
            value={menus.holiday}
            onValue={(holiday) => setMenus((m) => ({ ...m, holiday }))}
            choices={choices(t.closedMenuDefault)}
          />
          <SelectField
            id="menu-override"
            label={t.stateMenu.override_closed}
            value={menus.override_closed}
            onValue={(override_closed) => setMenus((m) => ({ ...m, override_closed }))}
            choices={choices(t.closedMenuDefault)}
          />
        </fieldset>
        <div class="buttons">
          <button type="submit" class="primary" id="save-hours" disabled={form.busy || session.readOnly}>
            {form.busy ? t.saving : t.saveHours}
          </button>
        </div>
      </form>
    </section>
  );
}

function countryOf(locale: string): string {
  return locale.split("-")[1] ?? "FR";
}

function holidayDates(t: Messages, holiday: Holiday): string {
  const span = holiday.start === holiday.end ? holiday.start : `${holiday.start} → ${holiday.end}`;
  return holiday.yearly ? `${span} (${t.yearly})` : span;
}

function Holidays({ holidays, onChanged }: { holidays: Holiday[]; onChanged: () => Promise<void> }) {
  const session = useSession();
  const { t } = useI18n();
  const form = useFormState();
  const [draft, setDraft] = useState({ name: "", start: "", end: "", yearly: false });
  const year = new Date().getFullYear() + 1;
  const country = countryOf(session.tenant.locale);

  async function run(write: () => Promise<string>) {
    await form.run(async () => {
      const message = await write();
      session.announce(message);
      draftChanged();
      await onChanged();
    }, { name: "holiday-name", start: "holiday-start", end: "holiday-end", calendar: "ics" });
  }

  async function add(event: Event) {
    event.preventDefault();
    await run(async () => {
      const body = { name: draft.name, start: draft.start, end: draft.end || null, yearly: draft.yearly };
      await session.api.call("POST", session.path("/holidays"), { body });
      setDraft({ name: "", start: "", end: "", yearly: false });
      return t.holidayAdded(body.name);
    });
  }

  async function addPublic() {
    await run(async () => {
      const answer = await session.api.call<{ added: Holiday[]; skipped: number }>("POST", session.path("/holidays/public"), {
        body: { country, year },
      });
      return t.holidaysAdded(answer.data.added.length, answer.data.skipped);
    });
  }

  async function importIcs(file: File | null) {
    if (file === null) return;
    await run(async () => {
      const calendar = await file.text();
      const answer = await session.api.call<{ added: Holiday[]; skipped: number }>("POST", session.path("/holidays/ical"), {
        body: { calendar },
      });
      return t.holidaysAdded(answer.data.added.length, answer.data.skipped);
    });
  }

  return (
    <section class="panel" aria-labelledby="holidays-title">
      <h2 id="holidays-title">{t.holidaysTitle}</h2>
      <FormError message={form.formError} />
      {holidays.length === 0 ? (
        <p>{t.noHolidays}</p>
      ) : (
        <ul class="holidays" id="holidays">
          {holidays.map((holiday) => (
            <li key={holiday.id}>
              <span class="name">{holiday.name}</span> <span class="detail">{holidayDates(t, holiday)}</span>{" "}
              <button
                type="button"
                class="danger small"
                disabled={session.readOnly}
                aria-label={`${t.delete} ${holiday.name}`}
                onClick={() =>
                  void run(async () => {
                    await session.api.call("DELETE", session.path(`/holidays/${holiday.id}`));
                    return t.holidayDeleted(holiday.name);
                  })
                }
              >
                {t.delete}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="buttons">
        <button type="button" id="public-holidays" disabled={form.busy || session.readOnly} onClick={() => void addPublic()}>
          {t.publicHolidays(t.countryNames[country] ?? country, year)}
        </button>
        <label class={session.readOnly ? "button disabled" : "button"} for="ics-file">
          {t.importIcs}
        </label>
        <input
          id="ics-file"
          class="sr-only"
          disabled={session.readOnly}
          type="file"
          accept=".ics,text/calendar"
          onChange={(e) => void importIcs((e.target as HTMLInputElement).files?.[0] ?? null)}
        />
      </div>
      <form ref={form.formRef} onSubmit={add} noValidate class="inline">
        <TextField id="holiday-name" label={t.holidayName} value={draft.name} onValue={(name) => setDraft((d) => ({ ...d, name }))} error={form.fieldErrors["holiday-name"]} />
        <div class="field">
          <label for="holiday-start">{t.holidayStart}</label>
          <input id="holiday-start" type="date" value={draft.start} onInput={(e) => setDraft((d) => ({ ...d, start: (e.target as HTMLInputElement).value }))} />
        </div>
        <div class="field">
          <label for="holiday-end">{t.holidayEnd}</label>
          <input id="holiday-end" type="date" value={draft.end} onInput={(e) => setDraft((d) => ({ ...d, end: (e.target as HTMLInputElement).value }))} />
        </div>
        <CheckboxField id="holiday-yearly" label={t.holidayYearly} checked={draft.yearly} onChecked={(yearly) => setDraft((d) => ({ ...d, yearly }))} />
        <button type="submit" class="primary" id="add-holiday" disabled={form.busy || session.readOnly}>
          {t.addHoliday}
        </button>
      </form>
    </section>
  );
}
