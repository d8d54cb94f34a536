/** Small measuring helpers shared by the scale benchmarks: peak RSS by sampling, a child's peak by GNU time. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Samples this process's RSS every `everyMs` until stopped; returns the peak seen (bytes). */
export function rssSampler(everyMs = 5): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/** The kernel's own high-water mark of this process's RSS (VmHWM), in bytes. */
export function peakRssOfThisProcess(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) * 1024 : 0;
}

export interface TimedRun {
  status: number | null;
  wallS: number;
  cpuS: number;
  peakRss: number;
  stdout: string;
  stderr: string;
}

/** Runs a command under /usr/bin/time: wall time, user+system CPU and the peak RSS of the process and its children. */
export function timedRun(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): TimedRun {
  const run = spawnSync("/usr/bin/time", ["-f", "@@time %e %U %S %M", command, ...args], {
    encoding: "utf8",
    env,
    maxBuffer: 256 * MiB,
  });
  const line = /@@time ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(run.stderr);
  if (!line)
    throw new Error(`${command} ${args.join(" ")}: no timing (${run.error?.message ?? run.stderr.slice(-500)})`);
  return {
    status: run.status,
    wallS: Number(line[1]),
    cpuS: Number(line[2]) + Number(line[3]),
    peakRss: Number(line[4]) * 1024,
    stdout: run.stdout,
    stderr: run.stderr.replace(/@@time .*\n?$/, ""),
  };
}

export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;
export const load = (): string => loadavg()[0]!.toFixed(1);

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
