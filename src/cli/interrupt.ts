/**
 * Ctrl-C (SIGINT) and SIGTERM: one line, the running work stopped (workers ended, which remove their own
 * temporary files), this process's temporary files removed, exit 130 / 143. A second signal exits at once.
 */
import { removeLiveTempsSync } from "../core/io/temp-files.js";

export interface Interruption {
  signal: "SIGINT" | "SIGTERM";
  code: number;
}

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
/** How long stopping work may take before the process exits anyway. */
const STOP_GRACE_MS = 5000;

let interrupted: Interruption | undefined;
const stoppers = new Set<() => Promise<void>>();

/** The signal that interrupted this run, once one has. */
export function interruption(): Interruption | undefined {
  return interrupted;
}

/** Registers work to stop on interruption (a worker to end); returns the function that unregisters it. */
export function stopOnInterrupt(stop: () => Promise<void>): () => void {
  stoppers.add(stop);
  return () => void stoppers.delete(stop);
}

export function installInterruptHandlers(write: (text: string) => void): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      const code = EXIT_CODES[signal];
      if (interrupted) {
        removeLiveTempsSync();
        process.exit(interrupted.code);
      }
      interrupted = { signal, code };
      write(`\nmodel-soup: interrupted (${signal}); stopped, nothing was written\n`);
      const stopping = Promise.all([...stoppers].map((stop) => stop().catch(() => undefined)));
      const deadline = new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref());
      void Promise.race([stopping, deadline]).then(() => {
        removeLiveTempsSync();
        process.exit(code);
      });
    });
  }
}
