// heic-decode ships no types. It decodes HEIF with libheif compiled to WebAssembly (the container's
// rotation and mirroring applied) to RGBA; `all` lists the top-level images with their sizes first.
declare module 'heic-decode' {
  interface DecodedHeif {
    width: number;
    height: number;
    data: Uint8ClampedArray;
  }
  interface HeifImage {
    width: number;
    height: number;
    decode(): Promise<DecodedHeif>;
  }
  function decode(input: { buffer: Uint8Array }): Promise<DecodedHeif>;
  namespace decode {
    function all(input: { buffer: Uint8Array }): Promise<HeifImage[] & { dispose(): void }>;
  }
  export default decode;
}
