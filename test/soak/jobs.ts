/**
 * The soak's job catalogue: every kind of request a long-lived worker serves in the editor, on the bundled
 * samples with small budgets, plus cancelled jobs (cancelled through the request's token on a progress
 * notification) and failing jobs (a missing file, bad data). Each job is a pure function of its folder: run
 * twice with the same folder contents it must give the same answer.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { RequestType } from "vscode-jsonrpc";
import { WorkerRequests, type ProgressParams } from "../../src/protocol/worker.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const digits = (i: number) => join(ROOT, "samples/digits/models", `ingredient-${i}`, "model.json");
const DIGITS = [1, 2, 3].map(digits);
const SOUP = { path: join(ROOT, "samples/digits/soup.csv.gz") };
const KERAS3 = ["a", "b", "c"].map((m) => join(ROOT, "test/fixtures/keras3", `mlp_${m}.keras`));
const LEGACY_H5 = ["a", "b", "c"].map((m) => join(ROOT, "test/fixtures/keras3", `mlp_${m}_legacy.h5`));
const LEARN = { maxSteps: 4, batchSize: 64, patience: 2 } as const;

export interface SoakJob {
  /** Unique name of the job (it is repeated identically through the soak). */
  name: string;
  /** The kind of request, for the figures: learn, evaluate, ..., cancelled, failing. */
  kind: string;
  type: RequestType<never, unknown, void>;
  /** The request's parameters; `out` is this run's own empty output folder. */
  params: (out: string) => unknown;
  /** Cancel the request's token when this progress arrives (a cancelled job). */
  cancelOn?: (p: ProgressParams) => boolean;
  /** Expected to fail (a failing or a cancelled job). */
  fails?: boolean;
}

/** Files the jobs read besides the samples: made once per soak in `fixtures` (a recipe to apply, bad data). */
export interface SoakFixtures {
  recipe: string;
  badData: string;
}

function job(
  name: string,
  kind: string,
  type: RequestType<never, unknown, void>,
  params: (out: string) => unknown,
  extra: Partial<SoakJob> = {},
): SoakJob {
  return { name, kind, type, params, ...extra };
}

const req = <P, R>(t: RequestType<P, R, void>) => t as unknown as RequestType<never, unknown, void>;

/** A bad data file: rows of different widths and a text cell. */
export function writeBadData(path: string): void {
  writeFileSync(path, "1,2,3\n4,five,6\n7,8\n");
}

export function soakJobs(fx: SoakFixtures): SoakJob[] {
  return [
    job("learn adam", "learn", req(WorkerRequests.learn), () => ({ models: DIGITS, data: SOUP, ...LEARN })),
    job("learn layer-wise, written", "learn", req(WorkerRequests.learn), (out) => ({
      models: DIGITS,
      data: SOUP,
      ...LEARN,
      granularity: "layer",
      out: join(out, "learned", "model.json"),
    })),
    job("learn lbfgs", "learn", req(WorkerRequests.learn), () => ({
      models: DIGITS,
      data: SOUP,
      optimizer: "lbfgs",
      maxSteps: 3,
    })),
    job("evaluate", "evaluate", req(WorkerRequests.evaluate), () => ({
      models: DIGITS,
      data: SOUP,
      coefficients: [0.5, 0.3, 0.2],
    })),
    job("greedy, written", "greedy", req(WorkerRequests.greedy), (out) => ({
      models: DIGITS,
      data: SOUP,
      out: join(out, "greedy", "model.json"),
    })),
    job("align weight", "align", req(WorkerRequests.align), (out) => ({
      models: DIGITS,
      align: { method: "weight" },
      out: join(out, "aligned"),
    })),
    job("align activation, merged", "align", req(WorkerRequests.align), (out) => ({
      models: DIGITS,
      align: { method: "activation" },
      data: SOUP,
      merge: {},
      out: join(out, "aligned", "model.json"),
    })),
    job("regmean", "dataMerge", req(WorkerRequests.dataMerge), (out) => ({
      models: DIGITS,
      data: SOUP,
      method: "regmean",
      out: join(out, "regmean", "model.json"),
    })),
    job("fisher", "dataMerge", req(WorkerRequests.dataMerge), () => ({
      models: DIGITS,
      data: SOUP,
      method: "fisher",
      examples: 64,
    })),
    job("compare", "compare", req(WorkerRequests.compare), () => ({
      models: DIGITS,
      data: SOUP,
      methods: ["greedy", "regmean"],
    })),
    job("tensor stats tfjs", "tensorStats", req(WorkerRequests.tensorStats), () => ({ model: DIGITS[0] })),
    job("tensor stats keras", "tensorStats", req(WorkerRequests.tensorStats), () => ({ model: KERAS3[0], bins: 8 })),
    job("layer stats h5", "layerStats", req(WorkerRequests.layerStats), () => ({
      model: LEGACY_H5[0],
      reference: LEGACY_H5[1],
    })),
    job("inspect", "inspect", req(WorkerRequests.inspect), () => ({ paths: [...DIGITS, ...LEGACY_H5] })),
    job("merge linear tfjs", "merge", req(WorkerRequests.merge), (out) => ({
      models: DIGITS,
      method: "linear",
      coefficients: [0.2, 0.3, 0.5],
      out: join(out, "linear", "model.json"),
    })),
    job("merge ties keras", "merge", req(WorkerRequests.merge), (out) => ({
      models: KERAS3.slice(1),
      base: KERAS3[0],
      method: "ties",
      coefficients: [0.5, 0.5],
      params: { density: 0.5 },
      out: join(out, "ties.keras"),
    })),
    job("merge linear h5", "merge", req(WorkerRequests.merge), (out) => ({
      models: LEGACY_H5,
      method: "linear",
      out: join(out, "linear.h5"),
    })),
    job("apply recipe", "apply", req(WorkerRequests.apply), (out) => ({
      recipe: fx.recipe,
      out: join(out, "applied", "model.json"),
    })),
    job(
      "learn cancelled at step 2",
      "cancelled",
      req(WorkerRequests.learn),
      (out) => ({ models: DIGITS, data: SOUP, ...LEARN, maxSteps: 50, out: join(out, "never", "model.json") }),
      { cancelOn: (p) => p.phase === "learning" && p.step >= 2, fails: true },
    ),
    job(
      "greedy cancelled",
      "cancelled",
      req(WorkerRequests.greedy),
      (out) => ({ models: DIGITS, data: SOUP, out: join(out, "never", "model.json") }),
      { cancelOn: () => true, fails: true },
    ),
    job(
      "regmean cancelled",
      "cancelled",
      req(WorkerRequests.dataMerge),
      (out) => ({ models: DIGITS, data: SOUP, method: "regmean", out: join(out, "never", "model.json") }),
      { cancelOn: () => true, fails: true },
    ),
    job(
      "merge missing file",
      "failing",
      req(WorkerRequests.merge),
      (out) => ({
        models: [...DIGITS, join(out, "..", "missing", "model.json")],
        method: "linear",
        out: join(out, "never.json"),
      }),
      { fails: true },
    ),
    job(
      "learn bad data",
      "failing",
      req(WorkerRequests.learn),
      (out) => ({ models: DIGITS, data: { path: fx.badData }, ...LEARN, out: join(out, "never", "model.json") }),
      { fails: true },
    ),
    job(
      "evaluate incompatible",
      "failing",
      req(WorkerRequests.evaluate),
      () => ({ models: [DIGITS[0], KERAS3[0]], data: SOUP }),
      { fails: true },
    ),
    job(
      "tensor stats unknown tensor",
      "failing",
      req(WorkerRequests.tensorStats),
      () => ({ model: LEGACY_H5[0], tensors: ["no/such/tensor"] }),
      { fails: true },
    ),
  ];
}

/** The merge whose recipe the "apply recipe" job replays. */
export function recipeMerge(out: string) {
  return { models: DIGITS, method: "linear", coefficients: [0.6, 0.2, 0.2], out: join(out, "model.json") };
}
