/** What aligning did: the reference, each pair's weight cosine and loss barrier before and after, and unit moves. */
import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { SoupReport } from "../src/protocol/worker.js";
import { formatNumber, h } from "./dom.js";
import { select } from "./fields.js";
import { ingredientLabel, type PanelActions, type PanelState } from "./state.js";

export function alignmentSection(
  a: NonNullable<SoupReport["alignment"]>,
  page: PanelState,
  actions: PanelActions,
): HTMLElement {
  const { init, stored } = page;
  const labelOf = (path: string) => ingredientLabel(init, path);
  const chosenBy =
    a.referenceChosenBy === "validation"
      ? "the best on validation"
      : a.referenceChosenBy === "user"
        ? "chosen"
        : "the first";
  const moved = a.moved.reduce((s, m) => s + m.units, 0);
  const barrier = (v: number | undefined) => (v === undefined ? "—" : formatNumber(v));
  const others = init.ingredients.filter((i) => i.path !== a.reference && a.moved.some((m) => m.model === i.path));
  const unitsOf = stored.unitsOf && others.some((o) => o.path === stored.unitsOf) ? stored.unitsOf : others[0]?.path;
  return h(
    "section",
    { id: "alignment", "aria-labelledby": "alignment-title" },
    h("h3", { id: "alignment-title" }, "Alignment"),
    h(
      "p",
      {},
      `${a.method === "weight" ? "Weight" : "Activation"} matching to ${labelOf(a.reference)} (${chosenBy}): ${moved} of ${a.units * Math.max(1, a.moved.length)} units moved in ${a.groups} group${a.groups === 1 ? "" : "s"}.`,
    ),
    ...a.fixedLayers.map((f) =>
      h("p", { class: "note" }, `${f.layer} (${f.className}) kept its neighbours' units in place: ${f.reason}`),
    ),
    a.repair
      ? h(
          "p",
          { class: "note" },
          `REPAIR of ${a.repair.layers.length} layer(s): validation loss ${formatNumber(a.repair.validation.before.loss)} → ${formatNumber(a.repair.validation.after.loss)}, ${a.repair.kept ? "kept" : "not kept"}.`,
        )
      : undefined,
    h(
      "table",
      { class: "grid alignment" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Pair", "Cosine before", "after", "Loss barrier before", "after"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        ...a.pairs.map((p) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, `${labelOf(p.a)} · ${labelOf(p.b)}`),
            h("td", { class: "num" }, formatNumber(p.cosineBefore)),
            h("td", { class: "num" }, formatNumber(p.cosineAfter)),
            h("td", { class: "num" }, barrier(p.barrierBefore)),
            h("td", { class: "num" }, barrier(p.barrierAfter)),
          ),
        ),
      ),
    ),
    unitsOf
      ? h(
          "div",
          { class: "row" },
          select(
            "units-of",
            "Compare with its aligned self",
            others.map((o) => [o.path, labelOf(o.path)]),
            unitsOf,
            (v) => {
              stored.unitsOf = v;
              actions.persist();
            },
          ),
          h(
            "vscode-button",
            {
              id: "show-unit-moves",
              secondary: true,
              onclick: () => actions.send({ type: "showUnitMoves", ingredient: stored.unitsOf ?? unitsOf }),
            },
            "Show Unit Moves",
          ),
        )
      : undefined,
  );
}
