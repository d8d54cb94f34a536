/**
 * REPAIR on PyTorch (worker/align/repair.ts's rule, through the engine): in a soup of aligned models without
 * BatchNorm, each unit-making Linear/convolution with a bias has its output units rescaled and shifted, layer by
 * layer in graph order, so that their mean and spread on the first learn rows are the coefficient-weighted
 * interpolation of the ingredients' own; kept only when that lowers the validation loss.
 */
import type { TorchUnitMaker } from "../../../core/align/index.js";
import type { RepairedSoup } from "../../align/repair.js";
import type { Score } from "../../evaluate/score.js";
import { singleMix, type Mix } from "../../evaluate/soup.js";
import type { Objective } from "../../learn/objective.js";
import type { TorchEngine } from "../../torch/torch-engine.js";
import type { TorchAlignment } from "./align.js";
import { scoreWrittenOnTest, writeMix } from "./rows.js";
import type { TorchJobData } from "./data.js";
import { repairScaleShift } from "../../align/repair.js";

/** Learn rows whose statistics are matched (repair.ts's REPAIR_ROWS). */
const REPAIR_ROWS = 1024;

function coefficientOf(mix: Mix, ingredient: number, layer: string): number {
  const column = mix.groups === undefined || mix.groups[0] === "*" ? 0 : mix.groups.indexOf(layer);
  return mix.coefficients[ingredient]![Math.max(0, column)]!;
}

async function validationScore(engine: TorchEngine, objective: Objective): Promise<Score> {
  const s = await engine.score({ split: "validation" }, objective);
  return { loss: s.loss, metric: s.metric ?? Number.NaN };
}

/**
 * REPAIRs `mix` (a soup of the session's aligned models) and scores it on validation before and after, and when
 * kept on test. Undefined where REPAIR does not apply (BatchNorm, no unit-making layer with a bias). Leaves the
 * engine with the plain mix written.
 */
export async function repairTorchSoup(
  engine: TorchEngine,
  alignment: TorchAlignment,
  mix: Mix,
  objective: Objective,
  test: TorchJobData["split"]["test"],
): Promise<RepairedSoup | undefined> {
  if (engine.batchNormLayers.length > 0) return undefined;
  const layers: TorchUnitMaker[] = alignment.torchPlan.makers.filter((m) => m.bias !== undefined);
  if (layers.length === 0) return undefined;
  const probes = layers.map((m) => [m.node, m.axis] as const);
  const n = engine.ingredients;
  const own: Array<Array<{ mean: Float64Array; std: Float64Array }>> = [];
  for (let i = 0; i < n; i++) {
    await writeMix(engine, singleMix(n, i));
    own.push(await engine.moments(probes, REPAIR_ROWS));
  }
  await writeMix(engine, mix);
  const before = await validationScore(engine, objective);
  const names = engine.mergedNames;
  const values = await engine.readMerged();
  const current = new Map(names.map((name, k) => [name, values[k]!]));
  const overrides: Record<string, number[]> = {};
  for (const [k, layer] of layers.entries()) {
    const weights = Array.from({ length: n }, (_, i) => coefficientOf(mix, i, layer.module));
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0)) continue;
    const [merged] = await engine.moments([probes[k]!], REPAIR_ROWS);
    const units = merged!.mean.length;
    const { scale, shift } = repairScaleShift(
      weights,
      own.map((o) => o[k]!),
      merged!,
      (count) => new Float64Array(count),
    );
    // z' = (z − mean_m)·s + mean_t: the weight's output rows (PyTorch's axis 0) scale by s; the bias is b·s + shift.
    const weight = current.get(layer.weight)!;
    const bias = current.get(layer.bias!)!;
    const per = weight.length / units;
    const newWeight = Float32Array.from(weight, (v, j) => v * scale[Math.floor(j / per)]!);
    const newBias = Float32Array.from(bias, (v, u) => v * scale[u]! + shift[u]!);
    current.set(layer.weight, newWeight);
    current.set(layer.bias!, newBias);
    await engine.setTensors([layer.weight, layer.bias!], [newWeight, newBias]);
    overrides[layer.weight] = Array.from(newWeight);
    overrides[layer.bias!] = Array.from(newBias);
  }
  const after = await validationScore(engine, objective);
  const kept = after.loss < before.loss;
  const testScore =
    kept && test.y !== undefined ? await scoreWrittenOnTest(engine, objective.task, test, true) : undefined;
  await writeMix(engine, mix);
  return {
    layers: layers.map((m) => m.module),
    validation: { before, after },
    kept,
    overrides: kept ? overrides : {},
    ...(testScore !== undefined ? { test: testScore } : {}),
  };
}
