// Model Soup's streamed linear merge in its own process, for bench/streaming-merge.ts. Prints one JSON line.
// usage: node --import tsx bench/streaming-merge-soup.ts TARGET WEIGHTS_CSV INPUT...
import { streamLinearMerge } from "../src/core/merge/streaming/index.js";

const [target, weightsCsv, ...inputs] = process.argv.slice(2);
const start = performance.now();
const cpuStart = process.cpuUsage();
await streamLinearMerge({ inputs, weights: weightsCsv!.split(",").map(Number), target: target! });
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({ seconds, cpuSeconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
