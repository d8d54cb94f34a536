/** Why a layer cannot be translated; turned into a ModelFileError naming the file and the layer by the caller. */
export class Refusal {
  constructor(readonly reason: string) {}
}

export function refuse(reason: string): never {
  throw new Refusal(reason);
}
