/** Disjoint sets of the provisional permutation groups a symmetry walker makes (Keras: symmetry.ts, PyTorch: torch-symmetry.ts). */
import type { AxisMember, PermutationGroup, Probe } from "./plan.js";

/** Disjoint sets of provisional groups; a set holding a fixed group is fixed as a whole. */
export class GroupSets {
  private readonly parent: number[] = [];
  private readonly fixedRoot: boolean[] = [];
  readonly ids: string[] = [];
  readonly sizes: number[] = [];
  readonly members: AxisMember[][] = [];
  readonly probes: Probe[][] = [];

  create(id: string, size: number, probe: Probe): number {
    const g = this.parent.length;
    this.parent.push(g);
    this.fixedRoot.push(false);
    this.ids.push(id);
    this.sizes.push(size);
    this.members.push([]);
    this.probes.push([probe]);
    return g;
  }

  find(g: number): number {
    while (this.parent[g] !== g) {
      this.parent[g] = this.parent[this.parent[g]!]!;
      g = this.parent[g]!;
    }
    return g;
  }

  join(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    const [root, child] = ra < rb ? [ra, rb] : [rb, ra];
    this.parent[child] = root;
    this.fixedRoot[root] = this.fixedRoot[root]! || this.fixedRoot[child]!;
  }

  fix(g: number): void {
    this.fixedRoot[this.find(g)] = true;
  }

  groups(): PermutationGroup[] {
    const byRoot = new Map<number, PermutationGroup>();
    for (let g = 0; g < this.parent.length; g++) {
      const root = this.find(g);
      if (this.fixedRoot[root] || this.sizes[root]! < 2) continue;
      const group = byRoot.get(root) ?? { id: this.ids[root]!, size: this.sizes[root]!, members: [], probes: [] };
      group.members.push(...this.members[g]!);
      group.probes.push(...this.probes[g]!);
      byRoot.set(root, group);
    }
    return [...byRoot.values()].filter((g) => g.members.length > 0);
  }
}
