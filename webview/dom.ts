/** A small element builder: h("div", { class: "x" }, child, "text"). */
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs,
  ...children: (Node | string | undefined | false)[]
): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs, ...children: (Node | string | undefined | false)[]): HTMLElement;
export function h(tag: string, attrs: Attrs = {}, ...children: (Node | string | undefined | false)[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(key.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

export function themeColor(variable: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(variable).trim() || fallback;
}

export function formatNumber(value: number | undefined, digits = 4): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  return Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-3 && value !== 0)
    ? value.toExponential(2)
    : value.toFixed(digits);
}

/** The given children without the absent ones, for replaceChildren. */
export function present(...children: (Node | string | undefined | false)[]): (Node | string)[] {
  return children.filter((c): c is Node | string => c !== undefined && c !== false);
}

/** Text holding paths, which may break after their separators (never mid-name) when the panel is narrow. */
export function breakable(text: string): DocumentFragment {
  const out = document.createDocumentFragment();
  for (const part of text.split(/(?<=[/\\])/)) out.append(part, document.createElement("wbr"));
  return out;
}

export function pathText(path: string): HTMLElement {
  return h("span", { class: "path" }, breakable(path));
}
