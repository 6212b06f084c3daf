// A call's decision trace, as the stasis service published it, told as a timeline people read:
// "greeting 3.2 s · key 1 · spelled 533 · found Jean-Pierre Lefèvre · transferred to 102 ·
// no answer after 20 s · voicemail 34 s".

import type { Messages } from "./i18n";
import type { CallStep } from "./types";

export interface Moment {
  /** Milliseconds since the call started. */
  offsetMs: number;
  kind: string;
  text: string;
}

type Data = Record<string, unknown>;

function str(data: Data, name: string): string {
  const value = data[name];
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

/** The moments of a call; steps that say nothing to a person (answered) are left out. */
export function timeline(t: Messages, lang: string, steps: CallStep[], names: Record<string, string>): Moment[] {
  const w = t.timeline;
  const s = (value: number | null) => (value === null ? null : seconds(lang, value));
  const named = (number: string) => (names[number] ? `${number} ${names[number]}` : number);
  const moments: Moment[] = [];
  let transferAt = 0;
  let transferMembers = 1;
  steps.forEach((step, index) => {
    const data = step.data as Data;
    const next = steps[index + 1];
    const lasted = next ? s((next.offset_ms - step.offset_ms) / 1000) : null;
    let text: string | null = null;
    switch (step.kind) {
      case "schedule":
        text = w.schedule(w.states[str(data, "state")] ?? str(data, "state"), str(data, "menu"));
        break;
      case "menu": {
        const reason = str(data, "reason");
        if (reason === "retries_exhausted") text = w.retriesExhausted(Number(data.failures ?? 0));
        else if (reason === "greeting") text = w.greeting(lasted);
        else text = w.menuAgain(w.reasons[reason] ?? reason, lasted);
        break;
      }
      case "key":
        text = data.action === null || data.action === undefined ? w.keyUnassigned(str(data, "digit")) : w.key(str(data, "digit"));
        break;
      case "extension":
        text = data.found ? w.dialled(named(str(data, "number"))) : w.noSuchNumber(str(data, "number"));
        break;
      case "lookup":
        text = Number(data.page ?? 0) > 0 ? w.morePages : w.spelled(str(data, "digits"));
        break;
      case "lookup_result": {
        if (data.failed) {
          text = w.directoryFailed;
          break;
        }
        const total = Number(data.total ?? 0);
        if (total === 1) {
          // The one match is the number the next transfer rings.
          const then = steps.slice(index + 1).find((s) => s.kind === "transfer");
          const number = then ? str(then.data as Data, "number") : "";
          text = w.found(names[number] ?? number);
        } else {
          text = w.matches(total);
        }
        break;
      }
      case "choice":
        text = w.chose(named(str(data, "number")));
        break;
      case "announcement":
        text = w.announcement(lasted);
        break;
      case "transfer": {
        transferAt = step.offset_ms;
        const members = str(data, "members");
        transferMembers = members ? members.split(",").length : 1;
        const kind = str(data, "kind");
        text = kind === "ring_group" ? w.ringGroup(named(str(data, "number"))) : w.transferred(named(str(data, "number")));
        break;
      }
      case "transfer_result": {
        const after = (step.offset_ms - transferAt) / 1000;
        const result = str(data, "result");
        const said =
          result === "answered"
            ? w.answered(s(after) ?? "")
            : result === "no_answer"
              ? w.noAnswer(s(after) ?? "")
              : result === "refused"
                ? w.refused(str(data, "reason"))
                : (w.results[result] ?? result);
        text = transferMembers > 1 ? `${str(data, "number")}: ${said}` : said;
        break;
      }
      case "bridged": {
        const end = steps.find((s) => s.kind === "ended");
        text = w.talked(end ? s((end.offset_ms - step.offset_ms) / 1000) : null);
        break;
      }
      case "pin":
        text = data.correct ? w.pinRight : w.pinWrong;
        break;
      case "conference":
        text = w.conference(named(str(data, "number")));
        break;
      case "voicemail": {
        // Told with what came of it: "voicemail 34 s", or that no message was left.
        const recording = steps.slice(index + 1).find((r) => r.kind === "recording");
        const saved = recording ? (recording.data as Data) : null;
        text = saved?.saved ? w.voicemail(saved.duration_s === undefined ? null : s(Number(saved.duration_s))) : w.noMessage;
        break;
      }
      case "recording":
        text = data.taken_over ? w.voicemail(null) : null; // else told with its voicemail step
        break;
      case "limit":
        text = w.limit(s(Number(data.seconds ?? 0)) ?? "");
        break;
      case "ended": {
        // Only an end the steps before do not already tell.
        const outcome = str(data, "outcome");
        text = ["caller_hangup", "no_input", "invalid_input", "failed"].includes(outcome) ? (t.outcomes[outcome] ?? outcome) : null;
        break;
      }
      default:
        text = null; // started, answered: the call's header says them
    }
    if (text !== null) moments.push({ offsetMs: step.offset_ms, kind: step.kind, text });
  });
  return moments;
}

/** "3.2 s" / "3,2 s" in the page's language. */
export function seconds(lang: string, value: number): string {
  const digits = value < 10 ? 1 : 0;
  const number = new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  return `${number}\u00a0s`;
}
