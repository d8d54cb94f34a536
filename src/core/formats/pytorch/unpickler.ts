/**
 * A restricted unpickler that builds data and never runs anything. It accepts what PyTorch 1.13's
 * `torch.load(weights_only=True)` accepts (torch/_weights_only_unpickler.py): the tensor and storage rebuilds,
 * OrderedDict, torch.Size, dtypes, primitive containers and numbers; every other global is refused by name before
 * anything could use it. Inert data opcodes of later protocols (floats, bytes, short strings, frames) are read
 * too, since they only make data. TorchScript archives may also name their own `__torch__.…` module classes, which
 * are kept as attribute records, never instantiated. The machine is a loop over the bytes (no recursion): its
 * stack, memo and output are bounded by the size of the pickle.
 */
import type { DType } from "../../tensor.js";
import {
  GlobalName,
  PickleDict,
  PickleSet,
  PickleTuple,
  type PickleValue,
  ScriptObject,
  StorageRef,
  TensorRef,
} from "./pickle-values.js";

/** The pickle is hostile or damaged; `message` says which global, opcode or value, without the file name. */
export class PickleRefused extends Error {
  override name = "PickleRefused";
}

export const WEIGHTS_ONLY_NOTE =
  "Model Soup reads only tensors (what torch.load(weights_only=True) accepts) and runs nothing from the file";

/** Storage classes by their name in `torch` (and `torch.cuda`, which hold the same bytes). */
export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};
const UNREAD_STORAGES = ["ComplexFloatStorage", "ComplexDoubleStorage", "QUInt8Storage", "QInt8Storage"];
const UNREAD_STORAGE_NOTE = "complex or quantized tensors, which Model Soup does not merge";

const DTYPE_NAMES = ["complex32", "complex64", "complex128", "float16", "float32", "float64", "int8", "int16"];
const TENSOR_CLASSES = ["Double", "Float", "Long", "Int", "Short", "Char", "Byte", "Bool", "BFloat16", "Half"];

/** Every global torch 1.13's weights_only unpickler allows, by "module.name". */
const ALLOWED = new Set<string>([
  "collections.OrderedDict",
  "torch.nn.parameter.Parameter",
  "torch.serialization._get_layout",
  "torch.Size",
  "torch.Tensor",
  ...[...DTYPE_NAMES, "int32", "int64"].map((d) => `torch.${d}`),
  ...TENSOR_CLASSES.flatMap((c) => [`torch.${c}Tensor`, `torch.cuda.${c}Tensor`]),
  ...[
    ...Object.keys(STORAGE_DTYPES),
    ...UNREAD_STORAGES,
    "QInt32Storage",
    "QUInt4x2Storage",
    "QUInt2x4Storage",
  ].flatMap((s) => [`torch.${s}`, `torch.cuda.${s}`]),
  "torch.storage.TypedStorage",
  "torch.storage.UntypedStorage",
  ...[
    "_rebuild_parameter",
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_sparse_tensor",
    "_rebuild_meta_tensor_no_storage",
    "_rebuild_sparse_csr_tensor",
  ].map((f) => `torch._utils.${f}`),
]);

/** TorchScript's typed-list builders (`torch.jit._pickle.build_intlist([...])`): each returns its first argument. */
const SCRIPT_BUILDERS = new Set(
  [
    "build_intlist",
    "build_tensorlist",
    "build_doublelist",
    "build_boollist",
    "build_genericlist",
    "restore_type_tag",
  ].map((f) => `torch.jit._pickle.${f}`),
);

export interface UnpickleOptions {
  /** A TorchScript archive: `__torch__.…` classes are allowed as inert module records. */
  torchScript?: boolean;
}

const MARK_VALUE = Symbol("mark");
type StackItem = PickleValue | typeof MARK_VALUE;

function refuseGlobal(full: string): never {
  throw new PickleRefused(`refused: the pickle calls ${full}; ${WEIGHTS_ONLY_NOTE}`);
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

function intsOf(what: string, value: PickleValue): number[] {
  const items = value instanceof PickleTuple ? value.items : Array.isArray(value) ? value : undefined;
  if (!items || !items.every(isInt)) throw new PickleRefused(`has a tensor ${what} that is not a tuple of integers`);
  return items as number[];
}

/** _rebuild_tensor_v2 / _rebuild_tensor arguments, checked for shape; sizes are bounded later against the entry. */
function rebuildTensor(args: PickleValue[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef))
    throw new PickleRefused("rebuilds a tensor from something that is not a storage");
  if (!isInt(offset)) throw new PickleRefused("has a tensor whose storage offset is not an integer");
  const shape = intsOf("size", size ?? null);
  const strides = intsOf("stride", stride ?? null);
  if (strides.length !== shape.length)
    throw new PickleRefused(`has a tensor of ${shape.length} dimensions with ${strides.length} strides`);
  return new TensorRef(storage, offset, shape, strides);
}

/** What calling an allowed global does, as data. */
function reduce(func: PickleValue, args: PickleValue): PickleValue {
  if (!(func instanceof GlobalName)) throw new PickleRefused("calls something that is not a named function");
  if (!(args instanceof PickleTuple)) throw new PickleRefused(`calls ${func.full} with arguments that are not a tuple`);
  if (SCRIPT_BUILDERS.has(func.full)) return args.items[0] ?? null;
  switch (func.full) {
    case "torch._utils._rebuild_tensor_v2":
    case "torch._utils._rebuild_tensor":
      return rebuildTensor(args.items);
    case "torch._utils._rebuild_parameter": {
      const data = args.items[0];
      if (!(data instanceof TensorRef))
        throw new PickleRefused("rebuilds a parameter from something that is not a tensor");
      return data;
    }
    case "collections.OrderedDict":
      if (args.items.length !== 0) throw new PickleRefused("builds an OrderedDict from arguments");
      return new PickleDict();
    case "torch.Size":
      return new PickleTuple(intsOf("torch.Size", args.items[0] ?? null));
    default:
      throw new PickleRefused(
        `refused: the pickle calls ${func.full}, which Model Soup does not read (sparse, meta or typed tensors); ${WEIGHTS_ONLY_NOTE}`,
      );
  }
}

function persistentStorage(pid: PickleValue): StorageRef {
  const items = pid instanceof PickleTuple ? pid.items : undefined;
  const tag = items?.[0] instanceof Uint8Array ? new TextDecoder("latin1").decode(items[0]) : items?.[0];
  if (!items || tag !== "storage")
    throw new PickleRefused(`refused: a persistent id that is not a storage; ${WEIGHTS_ONLY_NOTE}`);
  const [, cls, key, location, numel] = items;
  if (!(cls instanceof GlobalName)) throw new PickleRefused("names a storage whose class is not a torch storage class");
  const storageName = cls.module === "torch" || cls.module === "torch.cuda" ? cls.name : "";
  const dtype = STORAGE_DTYPES[storageName];
  if (dtype === undefined) {
    const what = UNREAD_STORAGES.includes(storageName) || storageName.startsWith("Q") ? UNREAD_STORAGE_NOTE : "";
    throw new PickleRefused(
      `has a storage of class ${cls.full}${what ? `: ${what}` : ", which Model Soup does not read"}`,
    );
  }
  if (typeof key !== "string" || !/^[A-Za-z0-9_]+$/.test(key))
    throw new PickleRefused("names a storage whose key is not a plain name");
  if (!isInt(numel) || numel < 0) throw new PickleRefused(`has storage "${key}" whose element count is not a size`);
  return new StorageRef(key, dtype, typeof location === "string" ? location : "cpu", numel);
}

function signedLittleEndian(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function textInt(line: string): number | bigint {
  const t = line.replace(/L$/, "");
  if (!/^[+-]?\d+$/.test(t)) throw new PickleRefused(`has an integer "${line.slice(0, 40)}" that is not a number`);
  const big = BigInt(t);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** Unpickles `bytes` into data; throws PickleRefused for anything outside the allow-list or a damaged stream. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder("latin1");
  const utf8 = new TextDecoder("utf-8", { fatal: false });
  let at = 0;
  let stack: StackItem[] = [];
  const marks: StackItem[][] = [];
  const memo = new Map<number, PickleValue>();

  const need = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || at + n > bytes.length)
      throw new PickleRefused(`is truncated or damaged: it needs ${n} bytes at byte ${at} of ${bytes.length}`);
    const start = at;
    at += n;
    return start;
  };
  const u8 = () => bytes[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(bytes.length)) throw new PickleRefused(`declares ${v} bytes, more than the pickle holds`);
    return Number(v);
  };
  const take = (n: number) => bytes.subarray(need(n), at);
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) throw new PickleRefused("is truncated: a text line has no end");
    const text = latin1.decode(bytes.subarray(at, end));
    at = end + 1;
    return text;
  };
  const pop = (): PickleValue => {
    if (stack.length === 0) throw new PickleRefused(`is damaged: it takes from an empty stack at byte ${at}`);
    const v = stack.pop()!;
    if (v === MARK_VALUE) throw new PickleRefused(`is damaged: a mark where a value belongs at byte ${at}`);
    return v;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK_VALUE) throw new PickleRefused(`is damaged: no value on the stack at byte ${at}`);
    return v;
  };
  const popMark = (): PickleValue[] => {
    const items = stack as PickleValue[];
    const previous = marks.pop();
    if (previous === undefined) throw new PickleRefused(`is damaged: no mark to return to at byte ${at}`);
    stack = previous;
    return items;
  };
  const push = (v: PickleValue) => stack.push(v);
  const findGlobal = (module: string, name: string): GlobalName => {
    const full = `${module}.${name}`;
    if (ALLOWED.has(full)) return new GlobalName(module, name);
    if (options.torchScript && (module.startsWith("__torch__") || SCRIPT_BUILDERS.has(full)))
      return new GlobalName(module, name);
    return refuseGlobal(full);
  };
  const setItem = (target: PickleValue, key: PickleValue, value: PickleValue) => {
    if (!(target instanceof PickleDict)) throw new PickleRefused("sets an item on something that is not a dict");
    target.set(key, value);
  };
  const appendTo = (target: PickleValue, items: PickleValue[]) => {
    if (!Array.isArray(target)) throw new PickleRefused("appends to something that is not a list");
    for (const item of items) target.push(item);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length === 0) throw new PickleRefused("is damaged: POP on an empty stack");
        stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(signedLittleEndian(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = view.getInt32(need(4), true);
        if (n > 64) throw new PickleRefused(`has an integer of ${n} bytes`);
        push(signedLittleEndian(take(n)));
        break;
      }
      case 0x49: {
        // INT
        const text = line();
        push(text === "01" ? true : text === "00" ? false : textInt(text));
        break;
      }
      case 0x4c: // LONG
        push(textInt(line()));
        break;
      case 0x47: // BINFLOAT
        push(view.getFloat64(need(8), false));
        break;
      case 0x46: // FLOAT
        push(Number(line()));
        break;
      case 0x58: // BINUNICODE
        push(utf8.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8.decode(take(u64())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape; checkpoints hold ASCII)
        push(line());
        break;
      case 0x54: {
        // BINSTRING
        const n = view.getInt32(need(4), true);
        push(latin1.decode(take(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        push(latin1.decode(take(u8())));
        break;
      case 0x53: // STRING
        push(line().replace(/^(['"])(.*)\1$/, "$2"));
        break;
      case 0x42: // BINBYTES
        push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        push(take(u64()).slice());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PickleTuple([]));
        break;
      case 0x7d: // EMPTY_DICT
        push(new PickleDict());
        break;
      case 0x8f: // EMPTY_SET
        push(new PickleSet());
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x74: // TUPLE
        push(new PickleTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        push(new PickleTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push(new PickleTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push(new PickleTuple([pop(), b, c]));
        break;
      }
      case 0x64: {
        // DICT
        const items = popMark();
        const dict = new PickleDict();
        for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i]!, items[i + 1]!);
        push(dict);
        break;
      }
      case 0x91: {
        // FROZENSET
        const set = new PickleSet();
        set.items.push(...popMark());
        push(set);
        break;
      }
      case 0x61: {
        // APPEND
        const item = pop();
        appendTo(top(), [item]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItem(top(), key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) throw new PickleRefused("is damaged: SETITEMS with an odd number of values");
        const target = top();
        for (let i = 0; i < items.length; i += 2) setItem(target, items[i]!, items[i + 1]!);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const target = top();
        if (!(target instanceof PickleSet)) throw new PickleRefused("adds items to something that is not a set");
        target.items.push(...items);
        break;
      }
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET
        const index = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(textInt(line()));
        const value = memo.get(index);
        if (value === undefined) throw new PickleRefused(`is damaged: it refers to memo entry ${index}, never stored`);
        push(value);
        break;
      }
      case 0x71: // BINPUT
      case 0x72: // LONG_BINPUT
      case 0x70: {
        // PUT
        const index = op === 0x71 ? u8() : op === 0x72 ? u32() : Number(textInt(line()));
        memo.set(index, top());
        break;
      }
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        push(findGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string")
          throw new PickleRefused("names a global that is not a pair of strings");
        push(findGlobal(module, name));
        break;
      }
      case 0x69: {
        // INST: module and name inline, calls the class with the marked arguments
        const module = line();
        refuseGlobal(`${module}.${line()}`);
        break;
      }
      case 0x6f: {
        // OBJ: calls the class below the marked arguments
        const items = popMark();
        const cls = items[0];
        refuseGlobal(cls instanceof GlobalName ? cls.full : "a class");
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const func = pop();
        push(reduce(func, args));
        break;
      }
      case 0x81: // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        if (op === 0x92) pop();
        const args = pop();
        const cls = pop();
        if (!(cls instanceof GlobalName)) throw new PickleRefused("instantiates something that is not a named class");
        if (cls.full === "torch.nn.parameter.Parameter" && args instanceof PickleTuple) {
          const data = args.items[0];
          if (!(data instanceof TensorRef))
            throw new PickleRefused("makes a Parameter of something that is not a tensor");
          push(data);
        } else if (options.torchScript && cls.module.startsWith("__torch__")) {
          push(new ScriptObject(cls.full));
        } else {
          throw new PickleRefused(
            `refused: the pickle instantiates ${cls.full}, which torch.load(weights_only=True) does not allow; ${WEIGHTS_ONLY_NOTE}`,
          );
        }
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = top();
        if (target instanceof ScriptObject) target.state = state;
        else if (!(target instanceof PickleDict))
          throw new PickleRefused(
            `refused: BUILD (setting an object's state) on something other than a dict or a module`,
          );
        break;
      }
      case 0x51: {
        // BINPERSID
        push(persistentStorage(pop()));
        break;
      }
      case 0x50: // PERSID
        throw new PickleRefused(`refused: a text persistent id; ${WEIGHTS_ONLY_NOTE}`);
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        throw new PickleRefused(`refused: the pickle calls a registered extension (copyreg); ${WEIGHTS_ONLY_NOTE}`);
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        throw new PickleRefused("refers to out-of-band buffers, which a checkpoint never holds");
      default:
        throw new PickleRefused(`is damaged or not a pickle: unknown opcode 0x${op.toString(16)} at byte ${at - 1}`);
    }
  }
}
