/**
 * A minimal greyscale PNG encoder (node:zlib deflate) so image grids can embed each image as a
 * ~0.5 kB data URI instead of a 784-number matrix, which nbformat's indented JSON inflates ~10×.
 */
import * as zlib from "node:zlib";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** 8-bit greyscale PNG of `height`×`width` row-major bytes (0 = black, 255 = white). */
export function encodeGreyPng(pixels: Uint8Array, width: number, height: number): Buffer {
  if (pixels.length !== width * height) throw new Error(`encodeGreyPng: ${pixels.length} bytes for a ${width}×${height} image`);
  const raw = Buffer.alloc(height * (width + 1));
  for (let r = 0; r < height; r++) {
    raw[r * (width + 1)] = 0; // filter type "None" for every row
    Buffer.from(pixels.buffer, pixels.byteOffset + r * width, width).copy(raw, r * (width + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // colour type: greyscale
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(raw, { level: 9 })), chunk("IEND", new Uint8Array(0))]);
}

/**
 * Data URI of an image as we draw them: value 0 white, `zmax` black (ink dark), values clamped.
 */
export function greyImageDataUri(pixels: ArrayLike<number>, width: number, height: number, zmax: number): string {
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const v = Math.max(0, Math.min(1, pixels[i] / zmax));
    out[i] = 255 - Math.round(v * 255);
  }
  return "data:image/png;base64," + encodeGreyPng(out, width, height).toString("base64");
}
