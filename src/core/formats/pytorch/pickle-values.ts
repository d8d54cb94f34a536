/**
 * What the restricted unpickler builds: plain data, and records standing for the few torch objects a checkpoint
 * holds. Nothing here is ever called: a "global" is only a name, a tensor only where its bytes are.
 */
import type { DType } from "../../tensor.js";

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleTuple
  | PickleDict
  | PickleSet
  | GlobalName
  | StorageRef
  | TensorRef
  | ScriptObject;

export class PickleTuple {
  constructor(readonly items: PickleValue[]) {}
}

/** A dict (or OrderedDict) in insertion order; keys may be any hashable pickle value, strings are looked up. */
export class PickleDict {
  readonly entries: Array<[PickleValue, PickleValue]> = [];
  private readonly byString = new Map<string, number>();

  set(key: PickleValue, value: PickleValue): void {
    if (typeof key === "string") {
      const at = this.byString.get(key);
      if (at !== undefined) {
        this.entries[at]![1] = value;
        return;
      }
      this.byString.set(key, this.entries.length);
    }
    this.entries.push([key, value]);
  }

  get(key: string): PickleValue | undefined {
    const at = this.byString.get(key);
    return at === undefined ? undefined : this.entries[at]![1];
  }
}

export class PickleSet {
  readonly items: PickleValue[] = [];
}

/** A module-level name the pickle refers to (a class or function); only names on the allow-list are kept. */
export class GlobalName {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get full(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A storage named by a persistent id: ("storage", torch.FloatStorage, key, location, numel). */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly location: string,
    readonly numel: number,
  ) {}
}

/** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) as data: where the tensor's values lie. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** A TorchScript module object (`__torch__.…` class): never instantiated, its attributes kept as a dict. */
export class ScriptObject {
  state: PickleValue = null;
  constructor(readonly className: string) {}
}
