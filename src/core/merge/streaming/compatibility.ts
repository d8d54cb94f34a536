import { UsageError } from "../../errors.js";
import type { SafetensorsSet } from "../../formats/safetensors/index.js";
import { formatShape, sameShape } from "../../tensor.js";

/** Every input must hold exactly the first input's tensors, with the same shapes and dtypes. */
export function requireSameTensors(sets: readonly SafetensorsSet[]): void {
  const [first, ...others] = sets;
  if (!first) throw new UsageError("A merge needs at least one input model");
  for (const other of others) {
    for (const { info } of first.tensors.values()) {
      const theirs = other.tensors.get(info.name)?.info;
      if (!theirs)
        throw new UsageError(
          `${other.path} has no tensor "${info.name}", which ${first.path} has; the models cannot be merged`,
        );
      if (!sameShape(theirs.shape, info.shape) || theirs.dtype !== info.dtype) {
        throw new UsageError(
          `tensor "${info.name}" is ${theirs.dtype} ${formatShape(theirs.shape)} in ${other.path} but ` +
            `${info.dtype} ${formatShape(info.shape)} in ${first.path}; the models cannot be merged`,
        );
      }
    }
    for (const name of other.tensors.keys()) {
      if (!first.tensors.has(name)) {
        throw new UsageError(
          `${other.path} has a tensor "${name}" that ${first.path} lacks; the models cannot be merged`,
        );
      }
    }
  }
}
