// The tenant's own picture of its calls over a period: calls per day, outcomes, key presses,
// dial-by-name success and the busiest hours, from one aggregated API call, drawn with uPlot.

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { LoadError, Loading } from "../forms";
import { useI18n } from "../i18n";
import { useSession } from "../session";
import type { Dashboard } from "../types";

const PERIODS = [7, 30, 90, 365];
const HOURS = Array.from({ length: 24 }, (_, h) => h);

/** A bar chart of labelled values, with the same values as a table for screen readers. */
function Bars({ id, title, labels, values, every = 1 }: { id: string; title: string; labels: string[]; values: number[]; every?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (element === null || values.length === 0) return;
    const chart = new uPlot(
      {
        width: Math.max(280, Math.min(element.clientWidth || 560, 720)),
        height: 220,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [-0.5, values.length - 0.5] }, y: { range: [0, Math.max(1, ...values) * 1.1] } },
        axes: [
          { values: (_u, splits) => splits.map((i) => (Number.isInteger(i) && i % every === 0 ? (labels[i] ?? "") : "")), splits: () => labels.map((_, i) => i) },
          { values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : "")) },
        ],
        series: [{}, { label: title, fill: "#2f6fb0", stroke: "#1d4f82", paths: uPlot.paths.bars!({ size: [0.7, 48] }), points: { show: false } }],
      },
      [labels.map((_, i) => i), values],
      element,
    );
    return () => chart.destroy();
  }, [labels.join("\u0001"), values.join(",")]);
  return (
    <figure class="chart" id={id}>
      <figcaption>{title}</figcaption>
      <div ref={box} aria-hidden="true" />
      <table class="sr-only">
        <tbody>
          {labels.map((label, i) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{values[i]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

export function DashboardPage() {
  const session = useSession();
  const { t, lang } = useI18n();
  const [days, setDays] = useState(30);
  const [data, setData] = useState<Dashboard | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const reload = useCallback(async () => {
    setFailure(null);
    setData(null);
    const until = new Date();
    const since = new Date(until.getTime() - days * 86_400_000);
    const query = new URLSearchParams({ since: since.toISOString(), until: until.toISOString() });
    try {
      setData((await session.api.get<Dashboard>(session.path(`/dashboard?${query}`))));
    } catch (error) {
      setFailure(error);
    }
  }, [session, days]);
  useEffect(() => {
    void reload();
  }, [reload]);

  const d = t.dashboard;
  const dayLabel = (day: string) =>
    new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", timeZone: "UTC" }).format(new Date(`${day}T00:00:00Z`));
  return (
    <div class="panel dashboard">
      <label>
        {d.period}{" "}
        <select id="dashboard-period" value={String(days)} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}>
          {PERIODS.map((n) => (
            <option key={n} value={String(n)}>
              {d.lastDays(n)}
            </option>
          ))}
        </select>
      </label>
      {data === null ? (
        failure ? <LoadError error={failure} onRetry={reload} /> : <Loading />
      ) : data.calls === 0 ? (
        <p id="dashboard-empty">{d.noCalls}</p>
      ) : (
        <>
          <p id="dashboard-summary" class="summary">
            {d.summary(data.calls, data.answered_calls)}
          </p>
          <div class="charts">
            <Bars id="chart-days" title={d.perDay} labels={data.days.map((x) => dayLabel(x.day))} values={data.days.map((x) => x.calls)} />
            <Bars id="chart-outcomes" title={d.outcomes} labels={data.outcomes.map((x) => t.outcomes[x.outcome] ?? t.inProgress)} values={data.outcomes.map((x) => x.calls)} />
            <Bars id="chart-keys" title={d.keys} labels={data.keys.map((x) => d.key(x.digit, d.actions[x.action] ?? x.action))} values={data.keys.map((x) => x.presses)} />
            <Bars id="chart-hours" every={3} title={d.hours} labels={HOURS.map((h) => d.hour(h))} values={HOURS.map((h) => data.hours.find((x) => x.hour === h)?.calls ?? 0)} />
            <Bars
              id="chart-names"
              title={d.dialByName(data.dial_by_name.searches)}
              labels={[d.found, d.noMatch, d.failed]}
              values={[data.dial_by_name.found, data.dial_by_name.no_match, data.dial_by_name.failed]}
            />
          </div>
        </>
      )}
    </div>
  );
}
