/**
 * A machine other than node 0 of a several-machine PyTorch run: its ranks join rank 0's group and follow it (rank
 * 0 sends them every request and the data they do not see), so this job reads no model and writes nothing; it ends
 * when rank 0 ends the job.
 */
import type { JobContext } from "../../../core/job-context.js";
import type { FollowRanksParams, FollowRanksResult } from "../../../protocol/worker.js";
import { rankOptions, serveTorchRanks } from "../../torch/engine-ranks.js";
import { enginePath } from "../../torch/torch-engine.js";
import { jobPython } from "./python.js";

export async function runFollowRanks(params: FollowRanksParams, context: JobContext): Promise<FollowRanksResult> {
  const python = await jobPython(params.python, params.pythonCandidates);
  const options = rankOptions(params);
  context.log(
    "info",
    `node ${options.nodeRank ?? 0} of ${options.nnodes ?? 1}: PyTorch ${python.torchVersion} (${python.path}) following node 0 at ${options.masterAddr ?? "127.0.0.1"}:${options.masterPort ?? "?"}`,
  );
  const ranks = await serveTorchRanks(python.path, enginePath(), options, context.token);
  return { python: python.path, torchVersion: python.torchVersion, ranks };
}
