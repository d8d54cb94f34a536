/**
 * `learn`, `greedy`, `evaluate`, `align` and the merges that run the models with --node-rank K ≥ 1 (the same command line on every machine, as torchrun
 * takes it): this machine only runs its PyTorch ranks, which follow node 0; node 0 reads, learns, reports and writes.
 */
import type { ParsedArgs } from "../args.js";
import type { CliIO } from "../command.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { runOnWorker } from "../worker-session.js";
import { torchArguments } from "./options.js";

/** Runs this machine's ranks and returns the exit code when it is not node 0; undefined on node 0. */
export async function followIfNotNodeZero(args: ParsedArgs, io: CliIO): Promise<number | undefined> {
  const { python, nproc, nnodes, nodeRank, masterAddr, masterPort } = torchArguments(args);
  if (nodeRank === undefined || nodeRank === 0) return undefined;
  const where = `${masterAddr}:${masterPort}`;
  io.stdout(`node ${nodeRank} of ${nnodes}: running this machine's ranks, which follow node 0 at ${where}\n`);
  const result = await runOnWorker(io, WorkerRequests.followRanks, {
    ...(python !== undefined ? { python } : {}),
    ...(nproc !== undefined ? { nproc } : {}),
    nnodes,
    nodeRank,
    masterAddr,
    masterPort,
  });
  const ranks = result.ranks.length === 1 ? `rank ${result.ranks[0]}` : `ranks ${result.ranks.join(", ")}`;
  io.stdout(
    `node ${nodeRank} of ${nnodes}: ${ranks} (PyTorch ${result.torchVersion}, ${result.python}) followed node 0 to the end; node 0 reports and writes, nothing was written here\n`,
  );
  return 0;
}
