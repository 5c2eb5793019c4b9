/**
 * Parser for the IDX format of (Fashion-)MNIST: a big-endian header (two zero bytes, a type
 * code, the rank, then one uint32 per dimension) followed by the raw payload.
 */
import * as zlib from "node:zlib";

/** A parsed IDX array of unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/**
 * Parses IDX bytes (already decompressed). `expect` pins rank and any known dimensions;
 * every mismatch throws an error naming `name`.
 */
export function parseIdx(bytes: Uint8Array, name: string, expect?: { rank: number; dims?: (number | null)[] }): IdxArray {
  if (bytes.length < 4) throw new Error(`${name}: only ${bytes.length} bytes, too short for an IDX header.`);
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== UBYTE) {
    const magic = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
    throw new Error(`${name}: wrong magic number 0x${magic}; expected 0x000008NN (unsigned-byte IDX). Is this an IDX file?`);
  }
  const rank = bytes[3];
  if (expect && rank !== expect.rank) throw new Error(`${name}: rank ${rank} in the header, expected ${expect.rank}.`);
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) throw new Error(`${name}: truncated header (${bytes.length} of ${headerLen} bytes).`);
  // Header data is stored big-endian, whatever the machine's order.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  expect?.dims?.forEach((d, i) => {
    if (d !== null && dims[i] !== d) throw new Error(`${name}: dimension ${i} is ${dims[i]}, expected ${d} (dims ${dims.join("×")}).`);
  });
  const payload = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerLen;
  if (actual !== payload) {
    throw new Error(
      `${name}: payload is ${actual} bytes but the header (${dims.join("×")}) says ${payload}: the file is ${actual < payload ? "truncated" : "too long"}.`,
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}

/** Decompresses a gzip buffer, turning zlib's terse errors into one naming the file. */
export function gunzip(bytes: Uint8Array, name: string): Uint8Array {
  try {
    return zlib.gunzipSync(bytes);
  } catch (err) {
    throw new Error(`${name}: not a valid gzip file (${(err as Error).message}).`);
  }
}

/** Encodes an unsigned-byte IDX file (used by tests and tools). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
