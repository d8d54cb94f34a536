import { constants as bufferConstants } from "node:buffer";
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

/**
 * V8's longest string (2^29 − 24 characters): a CSV is decoded to one string, so a larger file cannot be read.
 * Refused up front with the file's name, rather than failing inside the decoder.
 */
const MAX_CSV_CHARS = bufferConstants.MAX_STRING_LENGTH;

async function loadCsv(path: string, options: LoadOptions): Promise<Dataset> {
  const bytes = await readDataFile(path);
  if (bytes.length > MAX_CSV_CHARS)
    throw new ModelFileError(
      path,
      `is ${(bytes.length / 2 ** 20).toFixed(0)} MiB of text; a CSV is read as one string of at most ${(MAX_CSV_CHARS / 2 ** 20).toFixed(0)} MiB (save larger data as an x.npy / y.npy pair, which is read in pieces)`,
    );
  const text = new TextDecoder("utf-8").decode(bytes).replace(/^\uFEFF/, "");
  const delimiter = delimiterOf(path, text);
  // The first two rows decide the header and the width; every later row is converted as it is parsed, so the
  // rows' cells are never all held at once (2 million rows of 65 cells would be 130 million strings).
  const head: Row[] = [];
  forEachCsvRow(text, delimiter, path, (cells, line) => {
    head.push({ line, cells });
    return head.length < 2;
  });
  if (head.length === 0) throw new ModelFileError(path, "has no rows; expected one sample per row");
  const first = head[0]!;
  const width = first.cells.length;
  const hasHeader = looksLikeHeader(head, options);
  const header = hasHeader ? first.cells.map((c) => c.trim()) : undefined;
  const labelColumn = labelColumnOf(options.label, header, width, path);
  const columnName = (j: number) => (header ? `"${header[j]}"` : `${j + 1}`);
  const featureCount = labelColumn === undefined ? width : width - 1;
  if (featureCount === 0) throw new ModelFileError(path, "has only the label column; expected feature columns too");

  // At most one row per line end (blank lines and quoted line breaks make it an over-estimate).
  let x = new Float32Array((lineEnds(text) + 1) * featureCount);
  const labels: string[] = [];
  let rows = 0;
  let skipHeader = hasHeader;
  forEachCsvRow(text, delimiter, path, (cells, line) => {
    if (skipHeader) {
      skipHeader = false;
      return true;
    }
    if (cells.length !== width)
      throw new ModelFileError(
        path,
        `line ${line} has ${cells.length} values; expected ${width} like line ${first.line}`,
      );
    let k = rows * featureCount;
    for (let j = 0; j < width; j++) {
      const cell = cells[j]!;
      if (j === labelColumn) {
        const label = cell.trim();
        if (label === "") throw new ModelFileError(path, `line ${line}: the label (column ${columnName(j)}) is empty`);
        labels.push(label);
        continue;
      }
      const v = parseNumber(cell);
      if (v === undefined)
        throw new ModelFileError(
          path,
          `line ${line}, column ${columnName(j)}: "${cell}" is not a number (feature columns must be numeric)`,
        );
      x[k++] = v;
    }
    rows++;
    return true;
  });
  if (rows === 0) throw new ModelFileError(path, "has a header row but no data rows");
  if (x.length !== rows * featureCount) x = x.slice(0, rows * featureCount);

  const notes: string[] = [];
  if (hasHeader) notes.push("the first row is a header");
  const dataset: Dataset = { x, xShape: [rows, featureCount], task: "unlabeled", source: path, notes };
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

function lineEnds(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  // A file with only CR line ends.
  if (n === 0) for (let i = text.indexOf("\r"); i !== -1; i = text.indexOf("\r", i + 1)) n++;
  return n;
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
  forEachCsvRow(text, delimiter, file, (cells, line) => {
    rows.push({ line, cells });
    return true;
  });
  return rows;
}

/**
 * Calls `onRow` with each non-blank row's cells and the line it starts on, in order, until it returns false.
 * Unquoted cells are sliced from the text whole (no per-character concatenation).
 */
export function forEachCsvRow(
  text: string,
  delimiter: string,
  file: string,
  onRow: (cells: string[], line: number) => boolean,
): void {
  let cells: string[] = [];
  let line = 1;
  let rowLine = 1;
  let i = 0;
  const n = text.length;
  const endRow = (): boolean => {
    const blank = cells.length === 1 && cells[0]!.trim() === "";
    const more = blank || onRow(cells, rowLine);
    cells = [];
    return more;
  };
  while (i <= n) {
    // One cell starts at i.
    let start = i;
    while (start < n && (text[start] === " " || text[start] === "\t") && text[start] !== delimiter) start++;
    let cell: string;
    let j: number;
    if (start < n && text[start] === '"') {
      let value = "";
      j = start + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1)
          throw new ModelFileError(file, `line ${rowLine}: a quoted field is not closed before the end of the file`);
        const piece = text.slice(j, q);
        for (let k = piece.indexOf("\n"); k !== -1; k = piece.indexOf("\n", k + 1)) line++;
        value += piece;
        if (text[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      // Text after the closing quote, up to the delimiter or the line end, belongs to the cell.
      let k = j;
      while (k < n && text[k] !== delimiter && text[k] !== "\n" && text[k] !== "\r") k++;
      cell = value + text.slice(j, k);
      j = k;
    } else {
      j = i;
      while (j < n) {
        const c = text[j];
        if (c === delimiter || c === "\n" || c === "\r") break;
        j++;
      }
      cell = text.slice(i, j);
    }
    cells.push(cell);
    if (j >= n) {
      if (!(cells.length === 1 && cell === "")) endRow();
      return;
    }
    const c = text[j];
    if (c === delimiter) {
      i = j + 1;
      continue;
    }
    // A line end.
    i = c === "\r" && text[j + 1] === "\n" ? j + 2 : j + 1;
    if (!endRow()) return;
    line++;
    rowLine = line;
  }
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
