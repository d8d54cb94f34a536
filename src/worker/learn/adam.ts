// Adam on a small Float64 parameter vector (the coefficients), as torch.optim.AdamW with weight_decay=0.
export class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;

  constructor(
    size: number,
    readonly lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-8,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** Updates theta in place, with this step's learning rate (default: the constructor's). */
  step(theta: Float64Array, grad: Float64Array, lr = this.lr): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (let k = 0; k < theta.length; k++) {
      const g = grad[k]!;
      this.m[k] = this.beta1 * this.m[k]! + (1 - this.beta1) * g;
      this.v[k] = this.beta2 * this.v[k]! + (1 - this.beta2) * g * g;
      theta[k] -= (lr * (this.m[k]! / c1)) / (Math.sqrt(this.v[k]! / c2) + this.epsilon);
    }
  }
}
