export { runLearn } from "./learn.js";
export { runEvaluate } from "./evaluate.js";
export { runGreedy } from "./greedy.js";
export { runBackend } from "./backend.js";
