// Form building blocks: every input has a bound label, its hint and its error are read with it
// (aria-describedby), errors are announced (role="alert") and the first wrong field gets focus.

import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import { type Messages, useI18n } from "./i18n";
import type { DestinationRefusal } from "./types";

export type FieldErrors = Record<string, string>;

/** The words to show for an API error, in the page's language where we know better ones. */
export function errorText(t: Messages, error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "network") return t.networkError;
    if (error.code === "destination_not_allowed" && typeof error.details.refusal === "string") {
      return t.refusal(error.details as unknown as DestinationRefusal);
    }
    return t.errorByCode[error.code] ?? serverMessage(t, error.message);
  }
  return String(error);
}

/** The API's message in the page's language where known, else as a sentence. */
function serverMessage(t: Messages, message: string): string {
  const known = t.serverMessages[message];
  if (known !== undefined) return known;
  return message.charAt(0).toUpperCase() + message.slice(1);
}

/**
 * Split an API error between the form's fields and the form itself. The API names the field
 * to fix ("number", "target.number", "prompt.text", "members.0"); `fields` maps those names,
 * or their first part, to the form's own field names.
 */
export function splitError(
  t: Messages,
  error: unknown,
  fields: Record<string, string>,
): { fieldErrors: FieldErrors; formError: string | null } {
  const fieldErrors: FieldErrors = {};
  if (!(error instanceof ApiError)) return { fieldErrors, formError: errorText(t, error) };
  const problems = Array.isArray(error.details.errors)
    ? (error.details.errors as { field?: string | null; message?: string }[])
    : [{ field: error.field, message: error.message }];
  let formError: string | null = null;
  for (const problem of problems) {
    const text =
      problem === problems[0] ? errorText(t, error) : serverMessage(t, problem.message ?? "");
    const name = problem.field ? fieldFor(problem.field, fields) : null;
    if (name !== null) {
      fieldErrors[name] ??= text;
    } else {
      formError ??= text;
    }
  }
  if (formError === null && Object.keys(fieldErrors).length > 1) formError = t.formHasErrors;
  return { fieldErrors, formError };
}

function fieldFor(apiField: string, fields: Record<string, string>): string | null {
  if (apiField in fields) return fields[apiField];
  const parts = apiField.split(/[.[]/);
  for (let end = parts.length - 1; end > 0; end--) {
    const prefix = parts.slice(0, end).join(".");
    if (prefix in fields) return fields[prefix];
  }
  return null;
}

type Split = { fieldErrors: FieldErrors; formError: string | null };

/**
 * How a failed action's error is shown: without it, as the form's error; with a map of the
 * API's field names to the form's, split between the fields and the form (splitError); or as a
 * function of the error says (which may first reload what was stale).
 */
export type ShowFailure = Record<string, string> | ((error: unknown) => Split | Promise<Split>);

/** A form's errors and busy state, and focus moved to the first wrong field after each failure. */
export function useFormState() {
  const { t } = useI18n();
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (attempt === 0) return;
    const wrong = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    if (wrong) wrong.focus();
    else formRef.current?.querySelector<HTMLElement>(".form-error")?.focus();
  }, [attempt]);
  function clear() {
    setFieldErrors({});
    setFormError(null);
  }
  function fail(fieldErrors: FieldErrors, formError: string | null) {
    setFieldErrors(fieldErrors);
    setFormError(formError);
    setAttempt((n) => n + 1);
  }
  return {
    formRef,
    fieldErrors,
    formError,
    busy,
    setBusy,
    clear,
    fail,
    /** Clear the errors, then run the action busy; if it fails, show its error (ShowFailure). */
    async run(action: () => Promise<void>, show?: ShowFailure): Promise<void> {
      clear();
      setBusy(true);
      try {
        await action();
      } catch (error) {
        const split =
          show === undefined
            ? { fieldErrors: {}, formError: errorText(t, error) }
            : typeof show === "function"
              ? await show(error)
              : splitError(t, error, show);
        fail(split.fieldErrors, split.formError);
      } finally {
        setBusy(false);
      }
    },
  };
}

export function FormError({ message }: { message: string | null }) {
  // Always in the page, so that screen readers announce the message when it appears.
  return (
    <div class={message ? "form-error" : "form-error empty"} role="alert" tabIndex={-1}>
      {message}
    </div>
  );
}

interface FieldShell {
  label: ComponentChildren;
  error?: string | undefined;
  hint?: ComponentChildren;
}

function describedBy(id: string, hint: unknown, error: unknown): string | undefined {
  const ids = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean);
  return ids.length ? ids.join(" ") : undefined;
}

function FieldNotes({ id, hint, error }: { id: string; hint?: ComponentChildren; error?: string | undefined }) {
  return (
    <>
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </>
  );
}

type InputProps = FieldShell & {
  id: string;
  value: string;
  onValue: (value: string) => void;
  type?: "text" | "password" | "date" | "email";
  inputMode?: "text" | "numeric" | "tel";
  autoComplete?: string;
  spellcheck?: boolean;
};

export function TextField({ id, label, error, hint, value, onValue, type = "text", inputMode, autoComplete, spellcheck }: InputProps) {
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>{label}</label>
      <input
        id={id}
        name={id}
        value={value}
        onInput={(event) => onValue(event.currentTarget.value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy(id, hint, error)}
        type={type as "text"} // preact types each input type apart; both take the same attributes here
        inputMode={inputMode}
        autoComplete={autoComplete}
        spellcheck={spellcheck}
      />
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

type AreaProps = FieldShell & { id: string; value: string; onValue: (value: string) => void; rows?: number };

export function TextAreaField({ id, label, error, hint, value, onValue, rows = 4 }: AreaProps) {
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>{label}</label>
      <textarea
        id={id}
        name={id}
        rows={rows}
        value={value}
        onInput={(event) => onValue(event.currentTarget.value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy(id, hint, error)}
      />
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

export interface Choice {
  value: string;
  label: string;
  disabled?: boolean;
}

type SelectProps = FieldShell & {
  id: string;
  value: string;
  onValue: (value: string) => void;
  choices: Choice[];
  disabled?: boolean;
};

export function SelectField({ id, label, error, hint, value, onValue, choices, disabled }: SelectProps) {
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>{label}</label>
      <select
        id={id}
        name={id}
        value={value}
        disabled={disabled}
        onChange={(event) => onValue(event.currentTarget.value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy(id, hint, error)}
      >
        {choices.map((choice) => (
          <option key={choice.value} value={choice.value} disabled={choice.disabled}>
            {choice.label}
          </option>
        ))}
      </select>
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

type CheckProps = FieldShell & { id: string; checked: boolean; onChecked: (checked: boolean) => void };

export function CheckboxField({ id, label, error, hint, checked, onChecked }: CheckProps) {
  return (
    <div class={error ? "field check invalid" : "field check"}>
      <input
        type="checkbox"
        id={id}
        name={id}
        checked={checked}
        onChange={(event) => onChecked(event.currentTarget.checked)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy(id, hint, error)}
      />
      <label for={id}>{label}</label>
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

type FileProps = FieldShell & { id: string; onFile: (file: File | null) => void; accept?: string };

export function FileField({ id, label, error, hint, onFile, accept = "audio/*" }: FileProps) {
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>{label}</label>
      <input
        type="file"
        id={id}
        name={id}
        accept={accept}
        onChange={(event) => onFile(event.currentTarget.files?.[0] ?? null)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy(id, hint, error)}
      />
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

/**
 * A modal dialog on the native <dialog>: the browser keeps focus inside it and Escape closes
 * it; focus goes to its first field on opening and back to what opened it on closing.
 */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const dialog = ref.current;
    if (dialog === null) return undefined;
    dialog.showModal();
    const first = dialog.querySelector<HTMLElement>("[data-autofocus], input, select, textarea");
    (first ?? dialog.querySelector<HTMLElement>("button"))?.focus();
    return () => {
      if (dialog.open) dialog.close();
      // The opener may have been re-rendered: find it again by its id when it has one; if it
      // is gone (a deleted row), start again from the page's heading.
      const target = opener?.id ? document.getElementById(opener.id) : opener;
      if (target?.isConnected) target.focus();
      else document.querySelector<HTMLElement>("main h1")?.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <div class="dialog-head">
        <h2 id={titleId}>{title}</h2>
      </div>
      {children}
    </dialog>
  );
}

/**
 * A yes-or-no question before deleting something, with the API's refusal shown inside it.
 * For what cannot be undone, `typeToConfirm` (the field's label) asks for `what` to be typed
 * before the button may be pressed.
 */
export function ConfirmDelete({
  what,
  onConfirm,
  onClose,
  title,
  question,
  typeToConfirm,
  confirmLabel,
  confirmId,
}: {
  what: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  title?: string;
  question?: string;
  typeToConfirm?: string;
  confirmLabel?: string;
  confirmId?: string;
}) {
  const { t } = useI18n();
  const form = useFormState();
  const [typed, setTyped] = useState("");
  const matches = typeToConfirm === undefined || typed.trim() === what;
  async function submit(event: Event) {
    event.preventDefault();
    if (!matches) return;
    await form.run(onConfirm);
  }
  return (
    <Dialog title={title ?? t.confirmDeleteTitle} onClose={onClose}>
      <form ref={form.formRef} onSubmit={submit} noValidate>
        <p>{question ?? t.confirmDelete(what)}</p>
        <FormError message={form.formError} />
        {typeToConfirm !== undefined ? (
          <TextField id="confirm-name" label={typeToConfirm} value={typed} onValue={setTyped} autoComplete="off" spellcheck={false} />
        ) : null}
        <div class="buttons">
          <button type="submit" class="danger" id={confirmId} disabled={form.busy || !matches} data-autofocus>
            {confirmLabel ?? t.delete}
          </button>
          <button type="button" onClick={onClose}>
            {t.cancel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p class="loading">{t.loading}</p>
  );
}

export function LoadError({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const { t } = useI18n();
  return (
    <div class="load-error" role="alert">
      <p>
        {t.loadFailed} {errorText(t, error)}
      </p>
      <button type="button" onClick={onRetry}>
        {t.retry}
      </button>
    </div>
  );
}
