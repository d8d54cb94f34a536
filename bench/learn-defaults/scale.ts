// The step budget at both ends of the data sizes: `model-soup learn` (the built CLI, default settings, the
// demo's seven models) on 100 rows and on 100 000 rows. The large file repeats samples/digits/soup.csv.gz's
// rows with seeded ±1 pixel jitter (clamped to 0..16), so it is a data size, not new information.
// Run: npm run build && node --import tsx bench/learn-defaults/scale.ts
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { mulberry32 } from "../../src/core/random.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const MODELS = [1, 2, 3, 4, 5, 6, 7].map((i) => join(ROOT, "samples/digits/models", `ingredient-${i}`, "model.json"));

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "learn-scale-"));
  try {
    const lines = gunzipSync(await readFile(join(ROOT, "samples/digits/soup.csv.gz")))
      .toString("utf8")
      .trim()
      .split("\n");
    const random = mulberry32(11);
    const big: string[] = [];
    for (let r = 0; r < 100_000; r++) {
      const cells = lines[r % lines.length]!.split(",").map(Number);
      for (let k = 0; k < 64; k++) cells[k] = Math.min(16, Math.max(0, cells[k]! + Math.floor(random() * 3) - 1));
      big.push(cells.join(","));
    }
    const files: Array<[number, string]> = [
      [100, join(dir, "small.csv")],
      [100_000, join(dir, "big.csv")],
    ];
    await writeFile(files[0]![1], lines.slice(0, 100).join("\n") + "\n");
    await writeFile(files[1]![1], big.join("\n") + "\n");
    console.log(
      "| rows | learn / validation / test | steps run | budget | stopped | evaluations every | whole command (s) | learned / uniform test accuracy |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const [rows, path] of files) {
      const started = performance.now();
      const out = execFileSync(
        process.execPath,
        [join(ROOT, "dist/cli.cjs"), "learn", ...MODELS, "--data", path, "--label", "64", "--json"],
        { encoding: "utf8", maxBuffer: 1 << 28 },
      );
      const seconds = (performance.now() - started) / 1000;
      const r = JSON.parse(out);
      const l = r.learning;
      console.log(
        `| ${rows} | ${r.split.learn} / ${r.split.validation} / ${r.split.test} | ${l.steps} | ${l.budget.maxSteps} | ${l.stoppedBy} | ${l.budget.evaluateEvery} steps | ` +
          `${seconds.toFixed(1)} | ${(100 * r.metrics.merged.metric).toFixed(2)} % / ${(100 * r.metrics.uniform.metric).toFixed(2)} % |`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
