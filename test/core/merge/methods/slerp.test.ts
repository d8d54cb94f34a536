import assert from "node:assert/strict";
import { slerp, slerpValues } from "../../../../src/core/merge/methods/slerp.js";
import { assertClose, f32 } from "../helpers.js";

const norm = (v: Float32Array) => Math.hypot(...v);

describe("merge/slerp", () => {
  it("interpolates along the arc between orthogonal tensors", () => {
    // θ = π/2, t = 0.5: s0 = s1 = sin(π/4) = √½
    assertClose(slerpValues(0.5, f32(1, 0), f32(0, 1)), [Math.SQRT1_2, Math.SQRT1_2]);
    assertClose(slerpValues(0, f32(1, 0), f32(0, 1)), [1, 0]);
    assertClose(slerpValues(1, f32(1, 0), f32(0, 1)), [0, 1]);
  });

  it("mixes the un-normalized tensors with coefficients from the normalized angle (as mergekit)", () => {
    // θ = π/2, t = 1/3: s0 = sin(π/3) = √3/2, s1 = sin(π/6) = 1/2 → √3/2·[2,0] + 1/2·[0,1]
    assertClose(slerpValues(1 / 3, f32(2, 0), f32(0, 1)), [Math.sqrt(3), 0.5]);
    // θ = π/3, t = 1/2: s0 = s1 = sin(π/6)/sin(π/3) = 1/√3 → [1.5, √3/2]/√3 = [√3/2, 1/2]
    assertClose(slerpValues(0.5, f32(1, 0), f32(0.5, Math.sqrt(3) / 2)), [Math.sqrt(3) / 2, 0.5]);
  });

  it("falls back to linear interpolation for colinear and anti-colinear tensors", () => {
    // cos = 1 (acos gives θ = 0 and slerp would divide by sin 0): 0.75·[1,2,3] + 0.25·[3,6,9]
    assertClose(slerpValues(0.25, f32(1, 2, 3), f32(3, 6, 9)), [1.5, 3, 4.5]);
    assertClose(slerpValues(0.5, f32(1, 2, 3), f32(-1, -2, -3)), [0, 0, 0]);
  });

  it("switches at |cos| = 0.9995: the lerp midpoint of unit vectors has norm sqrt((1+cos)/2), slerp's has norm 1", () => {
    const unitAt = (c: number) => f32(c, Math.sqrt(1 - c * c));
    const below = slerpValues(0.5, f32(1, 0), unitAt(0.9994));
    assert.ok(Math.abs(norm(below) - 1) < 1e-6, `slerp norm ${norm(below)}`);
    const above = slerpValues(0.5, f32(1, 0), unitAt(0.9996));
    assert.ok(Math.abs(norm(above) - Math.sqrt((1 + 0.9996) / 2)) < 1e-6, `lerp norm ${norm(above)}`);
  });

  it("runs from the base (t = 0) to the other model (t = 1)", () => {
    const out = slerp.merge({
      tensor: { name: "w", layer: "w", shape: [2] },
      models: [f32(0, 1)],
      base: f32(1, 0),
      params: { t: 0.25 },
      modelParams: [{}],
    });
    // θ = π/2: s0 = sin(3π/8), s1 = sin(π/8)
    assertClose(out, [Math.sin((3 * Math.PI) / 8), Math.sin(Math.PI / 8)]);
  });
});
