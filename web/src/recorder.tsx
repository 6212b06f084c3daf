// Recording audio in the browser (MediaRecorder): a voicemail greeting, a name. The result is
// uploaded like any audio file; the media service normalises it (WebM/Opus from Chromium,
// OGG from Firefox, MP4 from Safari).

import { useEffect, useRef, useState } from "preact/hooks";
import { useI18n } from "./i18n";

// What the media service takes, in the order a browser is asked for it.
const TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
const EXTENSIONS: Record<string, string> = { "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a" };
// A greeting or a name is short; a forgotten recording stops by itself.
const MAX_SECONDS = 120;

/** Whether this browser can record (a secure context with a microphone API). */
export function canRecord(): boolean {
  return typeof MediaRecorder !== "undefined" && navigator.mediaDevices?.getUserMedia !== undefined;
}

/** A recording as a file to upload, named after what it is for. */
export function recordingFile(blob: Blob, name: string): File {
  const type = blob.type.split(";")[0] || "audio/webm";
  return new File([blob], `${name}.${EXTENSIONS[type] ?? "webm"}`, { type });
}

export function Recorder({ id, onRecorded }: { id: string; onRecorded: (blob: Blob | null) => void }) {
  const { t } = useI18n();
  const [state, setState] = useState<"idle" | "recording" | "done">("idle");
  const [seconds, setSeconds] = useState(0);
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const recorder = useRef<MediaRecorder | null>(null);
  const timer = useRef<number | null>(null);

  useEffect(
    () => () => {
      if (timer.current !== null) window.clearInterval(timer.current);
      if (recorder.current?.state === "recording") recorder.current.stop();
    },
    [],
  );
  useEffect(
    () => () => {
      if (url) URL.revokeObjectURL(url);
    },
    [url],
  );

  async function start() {
    setError(null);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      setError(t.microphoneRefused);
      return;
    }
    const mimeType = TYPES.find((type) => MediaRecorder.isTypeSupported(type));
    const made = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
    const chunks: Blob[] = [];
    made.ondataavailable = (event) => {
      if (event.data.size > 0) chunks.push(event.data);
    };
    made.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      if (timer.current !== null) window.clearInterval(timer.current);
      timer.current = null;
      const blob = new Blob(chunks, { type: made.mimeType || mimeType || "audio/webm" });
      setUrl(URL.createObjectURL(blob));
      setState("done");
      onRecorded(blob);
    };
    recorder.current = made;
    made.start(250);
    setSeconds(0);
    setState("recording");
    onRecorded(null);
    timer.current = window.setInterval(() => {
      setSeconds((s) => {
        if (s + 1 >= MAX_SECONDS) recorder.current?.stop();
        return s + 1;
      });
    }, 1000);
  }

  function stop() {
    if (recorder.current?.state === "recording") recorder.current.stop();
  }

  return (
    <div class="recorder">
      {state === "recording" ? (
        <button type="button" id={`${id}-stop`} class="danger" onClick={stop}>
          <span aria-hidden="true">■ </span>
          {t.stopRecording}
        </button>
      ) : (
        <button type="button" id={`${id}-start`} onClick={() => void start()}>
          <span aria-hidden="true">● </span>
          {state === "done" ? t.recordAgain : t.record}
        </button>
      )}
      <span class="hint" role="status" aria-live="polite">
        {state === "recording" ? t.recordingFor(seconds) : state === "done" ? t.recorded : ""}
      </span>
      {url && state === "done" ? <audio controls src={url} /> : null}
      {error ? (
        <span class="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}
