// pngjs ships no type declarations; this covers the synchronous API the data loaders and tests use.
declare module "pngjs" {
  export interface PNGImage {
    width: number;
    height: number;
    data: Buffer;
  }
  export interface PNGWriteOptions {
    colorType?: 0 | 2 | 4 | 6;
    inputColorType?: 0 | 2 | 4 | 6;
    inputHasAlpha?: boolean;
    bitDepth?: 8 | 16;
  }
  export class PNG implements PNGImage {
    constructor(options?: { width?: number; height?: number } & PNGWriteOptions);
    width: number;
    height: number;
    data: Buffer;
    static sync: {
      read(buffer: Uint8Array, options?: { checkCRC?: boolean; skipRescale?: boolean }): PNGImage;
      write(png: PNGImage, options?: PNGWriteOptions): Buffer;
    };
  }
}
