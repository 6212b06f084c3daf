// The Tester panel beside the menus: a keypad that walks the receptionist as a caller would,
// through the admin API's simulator (POST /simulate: the same call flow as real calls). Each
// key, wait or hang-up runs the call again with every action so far, so the timeline grows;
// the prompts play in the browser.

import { useState } from "preact/hooks";
import { errorText, SelectField, TextField } from "../forms";
import { useI18n } from "../i18n";
import { ListenButton } from "../media";
import { useSession } from "../session";
import { timeline } from "../timeline";
import type { Extension } from "../types";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
const WAIT_S = 10;

type Action = { keys: string } | { wait_s: number } | { hang_up: true };

interface Piece {
  text: string | null;
  language: string | null;
  audio_url: string | null;
  duration_s: number | null;
  estimated: boolean;
}

interface Entry {
  type: "prompt" | "decision" | "transfer" | "caller";
  at_s: number;
  text: string | null;
  pieces: Piece[] | null;
  stopped_at_s: number | null;
  step: string | null;
  data: Record<string, unknown> | null;
  number: string | null;
  ring_s: number | null;
  result: string | null;
  action: "keys" | "wait" | "hang_up" | null;
  keys: string | null;
  wait_s: number | null;
}

interface Simulation {
  configuration: string;
  version: number | null;
  state: "ended" | "waiting" | "cut";
  outcome: string | null;
  timeline: Entry[];
  trace: { kind: string; offset_ms: number; data: Record<string, unknown> }[];
  ignored_actions: number;
}

export function TesterPanel({ extensions }: { extensions: Extension[] }) {
  const session = useSession();
  const { t, lang } = useI18n();
  const w = t.tester;
  const [configuration, setConfiguration] = useState("draft");
  const [schedule, setSchedule] = useState("");
  const [phones, setPhones] = useState("answer");
  const [caller, setCaller] = useState("");
  const [actions, setActions] = useState<Action[]>([]);
  const [result, setResult] = useState<Simulation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(next: Action[]) {
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = {
        configuration,
        actions: next,
        phones: extensions.map((e) => ({ number: e.number, does: phones })),
      };
      if (schedule) body.schedule_state = schedule;
      if (caller.trim()) body.caller_number = caller.trim();
      const answer = await session.api.call<Simulation>("POST", session.path("/simulate"), { body });
      setActions(next);
      setResult(answer.data);
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setBusy(false);
    }
  }

  const ended = result?.state === "ended";
  const names = Object.fromEntries(extensions.map((e) => [e.number, [e.first_name, e.last_name].filter(Boolean).join(" ")]));
  const story = result ? timeline(t, lang, result.trace.map((s) => ({ ...s, at: "" })), names) : [];
  // Each decision told in words where the call log's timeline has words for it.
  const told: (string | null)[] = [];
  let next = 0;
  for (const step of result?.trace ?? []) {
    const moment = story[next];
    if (moment !== undefined && moment.kind === step.kind && moment.offsetMs === step.offset_ms) {
      told.push(moment.text);
      next += 1;
    } else {
      told.push(null);
    }
  }
  let decisions = 0;

  return (
    <section class="panel tester" id="tester" aria-labelledby="tester-title">
      <h2 id="tester-title">{w.title}</h2>
      <p class="detail">{w.intro}</p>
      <SelectField
        id="tester-configuration"
        label={w.configuration}
        value={configuration}
        onValue={(value) => {
          setConfiguration(value);
          setResult(null);
          setActions([]);
        }}
        choices={[
          { value: "draft", label: w.draft },
          { value: "live", label: w.live },
        ]}
      />
      <SelectField
        id="tester-schedule"
        label={w.schedule}
        value={schedule}
        onValue={(value) => {
          setSchedule(value);
          setResult(null);
          setActions([]);
        }}
        choices={[
          { value: "", label: w.now },
          { value: "open", label: t.states.open },
          { value: "closed", label: t.states.closed },
          { value: "holiday", label: t.states.holiday },
          { value: "override_closed", label: t.states.override_closed },
        ]}
      />
      <SelectField
        id="tester-phones"
        label={w.phones}
        value={phones}
        onValue={setPhones}
        choices={[
          { value: "answer", label: w.answer },
          { value: "busy", label: w.busy },
          { value: "no_answer", label: w.noAnswer },
          { value: "unreachable", label: w.unreachable },
        ]}
      />
      <TextField id="tester-caller" label={w.caller} hint={w.callerHint} value={caller} onValue={setCaller} />
      <div class="buttons">
        <button type="button" class="primary" id="tester-call" disabled={busy} onClick={() => void run([])}>
          {result ? w.callAgain : w.call}
        </button>
      </div>
      {result ? (
        <>
          <ul class="tester-keypad" aria-label={w.keypad}>
            {KEYS.map((key) => (
              <li key={key}>
                <button
                  type="button"
                  id={`tester-key-${key === "*" ? "star" : key === "#" ? "pound" : key}`}
                  disabled={busy || ended}
                  onClick={() => void run([...actions, { keys: key }])}
                >
                  {key}
                </button>
              </li>
            ))}
          </ul>
          <div class="buttons">
            <button type="button" id="tester-wait" disabled={busy || ended} onClick={() => void run([...actions, { wait_s: WAIT_S }])}>
              {w.wait(WAIT_S)}
            </button>
            <button type="button" class="danger" id="tester-hang-up" disabled={busy || ended} onClick={() => void run([...actions, { hang_up: true }])}>
              {w.hangUp}
            </button>
          </div>
        </>
      ) : null}
      {error ? (
        <p class="field-error" role="alert">
          {error}
        </p>
      ) : null}
      {result ? (
        <>
          <p class="tester-state" id="tester-state" role="status">
            {result.state === "ended"
              ? w.ended(t.outcomes[result.outcome ?? ""] ?? result.outcome ?? "")
              : result.state === "cut"
                ? w.cut
                : w.waiting}
          </p>
          {story.length ? <p class="tester-story" id="tester-story">{story.map((m) => m.text).join(" · ")}</p> : null}
          <ol class="tester-timeline" id="tester-timeline">
            {result.timeline.map((entry, index) => (
              <TimelineEntry key={index} entry={entry} index={index} told={entry.type === "decision" ? (told[decisions++] ?? null) : null} />
            ))}
          </ol>
        </>
      ) : null}
    </section>
  );
}

function TimelineEntry({ entry, index, told }: { entry: Entry; index: number; told: string | null }) {
  const session = useSession();
  const { t, lang } = useI18n();
  const w = t.tester;
  const at = <span class="at">{new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(entry.at_s)} s</span>;
  switch (entry.type) {
    case "prompt":
      return (
        <li class="prompt">
          {at} <span class="said">« {entry.text} »</span>
          {entry.stopped_at_s !== null ? <span class="detail"> {w.stopped}</span> : null}
          {(entry.pieces ?? [])
            .filter((piece) => piece.audio_url !== null)
            .map((piece, n) => (
              <ListenButton key={n} id={`tester-play-${index}-${n}`} audio={() => session.api.blob(piece.audio_url ?? "")} />
            ))}
        </li>
      );
    case "caller":
      return (
        <li class="caller">
          {at} {entry.action === "keys" ? w.pressed(entry.keys ?? "") : entry.action === "wait" ? w.waited(entry.wait_s ?? 0) : w.hungUp}
        </li>
      );
    case "transfer":
      return (
        <li class="transfer">
          {at} {w.rang(entry.number ?? "", entry.ring_s ?? 0, entry.result ? (w.results[entry.result] ?? entry.result) : w.ringing)}
        </li>
      );
    default:
      return (
        <li class="decision">
          {at} {told ? <span class="told">{told} </span> : null}
          <code>{entry.step}</code> <span class="detail">{JSON.stringify(entry.data)}</span>
        </li>
      );
  }
}
