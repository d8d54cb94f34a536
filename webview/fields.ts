/** The panel's form controls: a drop-down of choices and a number field checked against its protocol range. */
import "@vscode-elements/elements/dist/vscode-option/index.js";
import "@vscode-elements/elements/dist/vscode-single-select/index.js";
import "@vscode-elements/elements/dist/vscode-textfield/index.js";
import type { Choice } from "../src/protocol/choices.js";
import { inRange, type NumberRange } from "../src/protocol/panel.js";
import { h } from "./dom.js";

export type Field = HTMLElement & { value: string; checked?: boolean; disabled?: boolean; invalid?: boolean };

/** A choice list as the drop-down's [value, label] pairs. */
export function options(list: readonly Choice[]): [string, string][] {
  return list.map((c) => [c.value, c.label]);
}

export function select(
  id: string,
  label: string,
  choices: [string, string][],
  value: string,
  onChange: (v: string) => void,
): HTMLElement {
  const el = h("vscode-single-select", { id, "aria-label": label }) as Field;
  for (const [v, text] of choices) el.append(h("vscode-option", { value: v, selected: v === value }, text));
  el.addEventListener("change", () => onChange(el.value));
  return h("label", { class: "field" }, h("span", {}, label), el);
}

/** The number a field's text holds when it lies in the range, else undefined. */
export function parseInRange(text: string, range: NumberRange): number | undefined {
  const trimmed = text.trim();
  const value = Number(trimmed);
  return trimmed !== "" && inRange(value, range) ? value : undefined;
}

/**
 * A text field for a number, checked against its range as the user types; `invalid` collects the ids of the
 * fields that do not hold a valid value. (A number-typed vscode-textfield takes `step` as a number, so
 * `step="any"` becomes step 1 and draws every decimal as invalid.)
 */
export function numberField(
  id: string,
  label: string,
  value: number,
  range: NumberRange,
  invalid: Set<string>,
  onInput: () => void,
  onChange: (v: number) => void,
): HTMLElement {
  const el = h("vscode-textfield", {
    id,
    inputmode: range.integer ? "numeric" : "decimal",
    value: String(value),
    "aria-label": label,
  }) as Field;
  const hint = `${range.integer ? "a whole number" : "a number"} from ${range.min} to ${range.max}`;
  const check = (): number | undefined => {
    const v = parseInRange(el.value, range);
    el.invalid = v === undefined;
    if (v === undefined) invalid.add(id);
    else invalid.delete(id);
    el.title = v === undefined ? `${label}: ${hint}` : "";
    return v;
  };
  el.addEventListener("input", () => {
    check();
    onInput();
  });
  el.addEventListener("change", () => {
    const v = check();
    if (v !== undefined) onChange(v);
  });
  return h("label", { class: "field" }, h("span", {}, label), el);
}
