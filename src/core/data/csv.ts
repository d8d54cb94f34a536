import { ModelFileError } from "../errors.js";
import type { DataLoader, Dataset, LoadOptions } from "./dataset.js";
import { labelsFromStrings, parseNumber } from "./labels.js";
import { nameWithoutGz, readDataFile } from "./read.js";

/**
 * CSV (or .tsv, optionally gzipped) with one sample per row: numeric feature columns and one label column
 * (options.label: a header name or a 0-based index; default the last column). A first row with text where the
 * next row has numbers is a header.
 */
export const csvLoader: DataLoader = {
  id: "csv",
  detect: (path) => /\.(csv|tsv|txt)$/i.test(nameWithoutGz(path)),
  load: loadCsv,
};

interface Row {
  line: number;
  cells: string[];
}

async function loadCsv(path: string, options: LoadOptions): Promise<Dataset> {
  const text = new TextDecoder("utf-8").decode(await readDataFile(path)).replace(/^\uFEFF/, "");
  const rows = parseCsv(text, delimiterOf(path, text), path);
  if (rows.length === 0) throw new ModelFileError(path, "has no rows; expected one sample per row");
  const first = rows[0]!;
  const width = first.cells.length;
  const hasHeader = looksLikeHeader(rows, options);
  const header = hasHeader ? first.cells.map((c) => c.trim()) : undefined;
  const body = hasHeader ? rows.slice(1) : rows;
  if (body.length === 0) throw new ModelFileError(path, "has a header row but no data rows");
  const labelColumn = labelColumnOf(options.label, header, width, path);
  const columnName = (j: number) => (header ? `"${header[j]}"` : `${j + 1}`);
  const featureCount = labelColumn === undefined ? width : width - 1;
  if (featureCount === 0) throw new ModelFileError(path, "has only the label column; expected feature columns too");

  const x = new Float32Array(body.length * featureCount);
  const labels: string[] = [];
  body.forEach((row, i) => {
    if (row.cells.length !== width)
      throw new ModelFileError(
        path,
        `line ${row.line} has ${row.cells.length} values; expected ${width} like line ${first.line}`,
      );
    let k = i * featureCount;
    row.cells.forEach((cell, j) => {
      if (j === labelColumn) {
        const label = cell.trim();
        if (label === "")
          throw new ModelFileError(path, `line ${row.line}: the label (column ${columnName(j)}) is empty`);
        labels.push(label);
        return;
      }
      const v = parseNumber(cell);
      if (v === undefined)
        throw new ModelFileError(
          path,
          `line ${row.line}, column ${columnName(j)}: "${cell}" is not a number (feature columns must be numeric)`,
        );
      x[k++] = v;
    });
  });

  const notes: string[] = [];
  if (hasHeader) notes.push("the first row is a header");
  const dataset: Dataset = { x, xShape: [body.length, featureCount], task: "unlabeled", source: path, notes };
  if (labelColumn === undefined) return dataset;
  const labelSource = `column ${columnName(labelColumn)}`;
  const parsed = labelsFromStrings(labels, path, options, labelSource);
  return {
    ...dataset,
    ...parsed,
    notes: [...notes, ...parsed.notes],
    labelName: header ? header[labelColumn] : `column ${labelColumn + 1}`,
    labelSource,
  };
}

function delimiterOf(path: string, text: string): string {
  if (/\.tsv$/i.test(nameWithoutGz(path))) return "\t";
  const firstLine = text.slice(0, text.indexOf("\n") >>> 0);
  if (firstLine.includes(",")) return ",";
  if (firstLine.includes("\t")) return "\t";
  if (firstLine.includes(";")) return ";";
  return ",";
}

/** RFC 4180 fields: quotes around fields, doubled quotes inside them, CRLF or LF line ends. Blank lines skipped. */
export function parseCsv(text: string, delimiter: string, file: string): Row[] {
  const rows: Row[] = [];
  let cells: string[] = [];
  let cell = "";
  let line = 1;
  let rowLine = 1;
  let quoted = false;
  let i = 0;
  const endRow = () => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0]!.trim() === "")) rows.push({ line: rowLine, cells });
    cells = [];
    cell = "";
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (c === "\n") line++;
        cell += c;
      }
      i++;
      continue;
    }
    if (c === '"' && cell.trim() === "") {
      quoted = true;
      cell = "";
    } else if (c === delimiter) {
      cells.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      cell += c;
    }
    i++;
  }
  if (quoted)
    throw new ModelFileError(file, `line ${rowLine}: a quoted field is not closed before the end of the file`);
  if (cell !== "" || cells.length > 0) endRow();
  return rows;
}

function looksLikeHeader(rows: Row[], options: LoadOptions): boolean {
  const first = rows[0]!.cells;
  if (
    typeof options.label === "string" &&
    !/^-?\d+$/.test(options.label) &&
    first.some((c) => c.trim() === options.label)
  )
    return true;
  const second = rows[1]?.cells;
  if (second === undefined) return first.every((c) => parseNumber(c) === undefined);
  return first.some(
    (c, j) => parseNumber(c) === undefined && second[j] !== undefined && parseNumber(second[j]!) !== undefined,
  );
}

function labelColumnOf(
  label: LoadOptions["label"],
  header: string[] | undefined,
  width: number,
  file: string,
): number | undefined {
  if (label === null) return undefined;
  if (label === undefined) return width - 1;
  if (typeof label === "string" && !/^-?\d+$/.test(label)) {
    const index = header?.indexOf(label) ?? -1;
    if (index === -1)
      throw new ModelFileError(
        file,
        header
          ? `has no label column "${label}" (columns: ${header.map((h) => `"${h}"`).join(", ")})`
          : `has no header row, so there is no label column "${label}"; give the label column as a 0-based index`,
      );
    return index;
  }
  const n = Number(label);
  const index = n < 0 ? width + n : n;
  if (index < 0 || index >= width)
    throw new ModelFileError(
      file,
      `has ${width} columns; the label column index ${label} does not exist (0-based, negative from the end)`,
    );
  return index;
}
