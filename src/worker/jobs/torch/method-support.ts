/**
 * Which compared methods a kind of PyTorch model cannot run, and why, in one place: `evaluate --methods all` leaves
 * them out with this reason; asked for by name, they end the job in one line before any work.
 */
import { ModelFileError } from "../../../core/errors.js";
import type { ComparedMethod } from "../../../protocol/choices.js";
import type { CompareParams, MethodNotRun } from "../../../protocol/worker.js";
import { METHOD_NAMES } from "../session/data-aware-merge.js";
import type { TorchModel } from "./engine-choice.js";

/** RegMean and RegMean++ read the inputs of the model's layers through forward hooks (engine.py linearMaps). */
const NEEDS_FORWARD_HOOKS: readonly ComparedMethod[] = ["regmean", "regmean_plusplus"];

/** Why `method` cannot run on this model, or undefined when it can. */
export function methodUnavailable(model: TorchModel, method: ComparedMethod): string | undefined {
  if ("torchScript" in model.source && NEEDS_FORWARD_HOOKS.includes(method))
    return "needs forward hooks; a TorchScript module has none";
  return undefined;
}

/**
 * The methods to run, and those left out with their reasons (with `skipUnavailable`); without it, the first
 * method the model cannot run is refused in one line naming the model file.
 */
export function runnableMethods(
  params: Pick<CompareParams, "models" | "skipUnavailable">,
  methods: readonly ComparedMethod[],
  model: TorchModel,
): { run: ComparedMethod[]; notRun: MethodNotRun[] } {
  const run: ComparedMethod[] = [];
  const notRun: MethodNotRun[] = [];
  for (const method of methods) {
    const reason = methodUnavailable(model, method);
    if (reason === undefined) run.push(method);
    else if (params.skipUnavailable === true) notRun.push({ method: METHOD_NAMES[method], reason });
    else
      throw new ModelFileError(
        params.models[0]!,
        `(TorchScript): ${METHOD_NAMES[method]} ${reason}; save the models' state dicts and give their architecture (--architecture), or leave ${method} out of --methods`,
      );
  }
  return { run, notRun };
}
