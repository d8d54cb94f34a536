/**
 * A model's input, output or layer shape as people read it, the one formatter of the core's messages, the CLI and
 * the model viewer: "[batch, 28, 28, 1]". The first axis is the batch (Keras's `null` there means any number of
 * samples); any other axis of no fixed size reads "any".
 */
export function formatModelShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d, i) => (d !== null ? String(d) : i === 0 ? "batch" : "any")).join(", ")}]`;
}
