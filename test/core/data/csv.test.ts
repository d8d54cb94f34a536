import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { loadDataset } from "../../../src/core/data/load.js";
import { DIGITS, rejectsWith, tempDir, writeIn } from "./helpers.js";

describe("CSV loader", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("reads the real digits .csv.gz: 1797 rows of 64 features, the last column as the class", async () => {
    const d = await loadDataset(DIGITS);
    assert.deepEqual(d.xShape, [1797, 64]);
    assert.equal(d.task, "classification");
    assert.deepEqual(d.classes, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    assert.equal(d.labelName, "column 65");
    // The first row of the file: 0,0,5,13,9,1,0,0,... with digit 0.
    assert.deepEqual(Array.from(d.x.subarray(0, 8)), [0, 0, 5, 13, 9, 1, 0, 0]);
    assert.equal(d.y![0], 0);
    assert.equal(d.y![1796], 8);
    assert.deepEqual(d.notes, []);
  });

  it("detects a header row and takes the label column by name or index, with string classes", async () => {
    const text = "sepal,petal,species,weight\r\n1.5,2,setosa,3\r\n-4e-1,.5,virginica,6\r\n7,8,setosa,9\r\n";
    const path = await writeIn(dir, "iris.csv", text);
    const byName = await loadDataset(path, { label: "species" });
    assert.deepEqual(byName.xShape, [3, 3]);
    assert.deepEqual(Array.from(byName.x), [1.5, 2, 3, -0.4, 0.5, 6, 7, 8, 9].map(Math.fround));
    assert.deepEqual(byName.classes, ["setosa", "virginica"]);
    assert.deepEqual(Array.from(byName.y!), [0, 1, 0]);
    assert.equal(byName.labelName, "species");
    assert.match(byName.notes.join(), /header/);
    const byIndex = await loadDataset(path, { label: "2" });
    assert.deepEqual(Array.from(byIndex.y!), [0, 1, 0]);
    // By default the last column is the label, so the text column "species" is a feature and refused.
    await rejectsWith(() => loadDataset(path), 'line 2, column "species": "setosa" is not a number');
    const numeric = await writeIn(dir, "num.csv", "a,b,weight\n1,2,3\n4,5,6\n");
    const last = await loadDataset(numeric, { label: -1 });
    assert.equal(last.task, "classification");
    assert.deepEqual(Array.from(last.y!), [3, 6]);
    const regression = await loadDataset(numeric, { label: "weight", task: "regression" });
    assert.equal(regression.task, "regression");
    assert.deepEqual(regression.yShape, [2, 1]);
    assert.ok(regression.y instanceof Float32Array);
  });

  it("reads quoted fields, tab-separated files, float targets and unlabeled data", async () => {
    const quoted = await writeIn(dir, "q.csv", 'a,b,label\n1,2,"big, red"\n3,4,"say ""hi"""\n');
    assert.deepEqual((await loadDataset(quoted)).classes, ["big, red", 'say "hi"']);
    const tsv = await writeIn(dir, "t.tsv", "1\t2\t0.5\n3\t4\t1.25\n");
    const t = await loadDataset(tsv);
    assert.equal(t.task, "regression");
    assert.deepEqual(Array.from(t.y!), [0.5, 1.25]);
    const none = await loadDataset(tsv, { label: null });
    assert.deepEqual(none.xShape, [2, 3]);
    assert.equal(none.task, "unlabeled");
  });

  it("reads quoted line breaks, CR-only and blank lines, and names the right line after them", async () => {
    const multi = await writeIn(dir, "m.csv", 'x,y,label\n1,2, "two\nlines"\n\n3,4,"a""b",\n');
    await rejectsWith(() => loadDataset(multi), `${multi}: line 5 has 4 values; expected 3 like line 1`);
    const ok = await writeIn(dir, "ok.csv", 'x,y,label\n1,2, "two\nlines"\n\n3,4,"a""b"\n5,6,"two\nlines"');
    const d = await loadDataset(ok);
    assert.deepEqual(d.xShape, [3, 2]);
    assert.deepEqual(Array.from(d.x), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(d.classes, ['a"b', "two\nlines"]);
    assert.deepEqual(Array.from(d.y!), [1, 0, 1]);
    const cr = await loadDataset(await writeIn(dir, "cr.csv", "1,2,0\r3,4,1\r\r5,6,0"));
    assert.deepEqual(Array.from(cr.x), [1, 2, 3, 4, 5, 6]);
    const trailing = await writeIn(dir, "tr.csv", "1,2,0\n3,4,\n");
    await rejectsWith(() => loadDataset(trailing), "line 2: the label (column 3) is empty");
  });

  it("loads 200,000 rows of 65 columns, converted as they are parsed", async () => {
    const row = Array.from({ length: 64 }, (_, j) => j % 17).join(",");
    const rows = Array.from({ length: 200_000 }, (_, i) => `${row},${i % 10}`).join("\n");
    const path = await writeIn(dir, "big.csv", rows);
    const d = await loadDataset(path);
    assert.deepEqual(d.xShape, [200_000, 64]);
    assert.equal(d.x.length, 200_000 * 64);
    assert.equal(d.x[199_999 * 64 + 16], 16);
    assert.equal(d.y![199_999], 9);
  });

  it("reads gzipped CSV as the plain file", async () => {
    const text = "1,2,0\n3,4,1\n";
    const plain = await loadDataset(await writeIn(dir, "p.csv", text));
    const gz = await loadDataset(await writeIn(dir, "p.csv.gz", gzipSync(text)));
    assert.deepEqual(Array.from(gz.x), Array.from(plain.x));
    assert.deepEqual(Array.from(gz.y!), Array.from(plain.y!));
  });

  it("refuses ragged rows, naming the line", async () => {
    const path = await writeIn(dir, "r.csv", "1,2,0\n3,4,1\n5,1\n");
    await rejectsWith(() => loadDataset(path), `${path}: line 3 has 2 values; expected 3 like line 1`);
  });

  it("refuses a non-numeric feature, naming the line and column", async () => {
    const path = await writeIn(dir, "n.csv", "a,b,y\n1,2,0\n3,four,1\n");
    await rejectsWith(() => loadDataset(path), `${path}: line 3, column "b": "four" is not a number`);
    const empty = await writeIn(dir, "e.csv", "1,2,0\n,4,1\n");
    await rejectsWith(() => loadDataset(empty), 'line 2, column 1: "" is not a number');
  });

  it("refuses a missing label column, listing the columns", async () => {
    const path = await writeIn(dir, "m.csv", "a,b,y\n1,2,0\n");
    await rejectsWith(
      () => loadDataset(path, { label: "target" }),
      `${path}: has no label column "target" (columns: "a", "b", "y")`,
    );
    await rejectsWith(() => loadDataset(path, { label: 5 }), "has 3 columns; the label column index 5 does not exist");
    const noHeader = await writeIn(dir, "nh.csv", "1,2,0\n");
    await rejectsWith(() => loadDataset(noHeader, { label: "target" }), "no header row");
  });

  it("refuses empty files, header-only files and an empty label", async () => {
    const empty = await writeIn(dir, "empty.csv", "");
    await rejectsWith(() => loadDataset(empty), `${empty}: the file is empty`);
    const blank = await writeIn(dir, "blank.csv", "\n\n");
    await rejectsWith(() => loadDataset(blank), `${blank}: has no rows`);
    const header = await writeIn(dir, "h.csv", "a,b,label\n");
    await rejectsWith(() => loadDataset(header), `${header}: has a header row but no data rows`);
    const noLabel = await writeIn(dir, "l.csv", "1,2,cat\n3,4, \n");
    await rejectsWith(() => loadDataset(noLabel), "line 2: the label (column 3) is empty");
    const gz = await writeIn(dir, "bad.csv.gz", new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2]));
    await rejectsWith(() => loadDataset(gz), `${gz}: is not valid gzip data`);
  });
});
