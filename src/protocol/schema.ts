/**
 * Validation against valibot schemas with one-line answers. Every schema here carries its own wording ("must be
 * a string", "must be one of a, b"); a failure is reported as the first problem found, prefixed by where it is
 * (`message.config.steps must be an integer in [1, 1000000]`).
 */
import * as v from "valibot";

type Schema = v.GenericSchema;

function where(root: string, issue: v.BaseIssue<unknown>): string {
  let at = root;
  for (const item of issue.path ?? []) {
    const key = item.key as string | number;
    at += typeof key === "number" ? `[${key}]` : at ? `.${key}` : key;
  }
  return at;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

/** `value` as the schema's output, or its first problem in one line (`root` names the value). */
export function check<S extends Schema>(schema: S, value: unknown, root: string): Checked<v.InferOutput<S>> {
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return { ok: true, value: result.output };
  const issue = result.issues[0];
  const at = where(root, issue);
  if (/object$/.test(issue.type)) {
    // A key a strict object does not declare, or a required key that is absent (valibot reports both on the object).
    if (issue.expected === "never") return { ok: false, problem: `${at} is not expected` };
    if (issue.expected?.startsWith('"')) return { ok: false, problem: `${at} is missing` };
  }
  return { ok: false, problem: at ? `${at} ${issue.message}` : issue.message };
}
