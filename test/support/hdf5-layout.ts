import { h5wasm } from "../../src/core/formats/hdf5/module.js";
import { openHdf5 } from "../../src/core/formats/hdf5/open.js";
import { ModelFileError } from "../../src/core/errors.js";
import { LIMITS } from "../../src/core/formats/limits.js";

export interface LayoutAttribute {
  name: string;
  /** HDF5 type class, size, string form (vlen, cset, strpad), byte order and shape. */
  type: string;
  value: string;
}

export interface LayoutEntry {
  path: string;
  kind: "group" | "dataset" | "other";
  /** For datasets: the datatype and shape. */
  type?: string;
  attributes: LayoutAttribute[];
}

function typeOf(m: {
  type: number;
  size: number;
  vlen: boolean;
  cset?: number;
  strpad?: number;
  signed: boolean;
  littleEndian: boolean;
  shape: number[] | null;
}): string {
  return JSON.stringify({
    class: m.type,
    size: m.size,
    vlen: m.vlen,
    cset: m.cset,
    strpad: m.strpad,
    signed: m.signed,
    le: m.littleEndian,
    shape: m.shape,
  });
}

function valueText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === "bigint" ? v.toString() : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v,
  );
}

/**
 * Every group and dataset of an HDF5 file with its attributes (names, exact types and values), in path order:
 * what "the same HDF5 layout" means when a written file is compared with its template.
 */
export async function describeHdf5Layout(path: string): Promise<LayoutEntry[]> {
  const file = await openHdf5(path, "r");
  try {
    const entries: LayoutEntry[] = [];
    const visit = (at: string, depth = 0) => {
      if (depth > LIMITS.hdf5Depth)
        throw new ModelFileError(
          path,
          `has HDF5 groups nested more than ${LIMITS.hdf5Depth} deep (groups linked in a cycle?)`,
        );
      const node = at === "/" ? file : file.get(at);
      const attributes =
        node && "attrs" in node
          ? Object.entries(node.attrs).map(([name, a]) => ({
              name,
              type: typeOf(a.metadata),
              value: valueText(a.value),
            }))
          : [];
      attributes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (node instanceof h5wasm.Group) {
        entries.push({ path: at, kind: "group", attributes });
        for (const key of node.keys()) visit(at === "/" ? `/${key}` : `${at}/${key}`, depth + 1);
      } else if (node instanceof h5wasm.Dataset) {
        entries.push({ path: at, kind: "dataset", type: typeOf(node.metadata), attributes });
      } else {
        entries.push({ path: at, kind: "other", attributes });
      }
    };
    visit("/");
    return entries;
  } finally {
    file.close();
  }
}
