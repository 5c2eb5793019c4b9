/**
 * Building blocks for the kernels' WebAssembly text (WebAssembly text has no functions or
 * generics of its own): the tiled convolutions in ../conv-wat.ts and the loops next to each kernel
 * in this folder are generated from these.
 */

/** `(local.get $name)`. */
export const get = (name: string): string => `(local.get $${name})`;

/**
 * Loops over `rows` rows of `cols` float32 values, 4 at a time (cols a multiple of 4): `body` runs
 * with $k the byte offset inside the row (0, 16, …) and $<row> the row's byte offset, which grows by
 * $cb = 4·cols per row; `init` runs once after $cb is set. Needs the parameters $rows and $cols and
 * the i32 locals $r, $k, $cb and $<row>.
 */
export function rowsLoop(row: string, body: string, init = ""): string {
  return `
    (local.set $cb (i32.shl (local.get $cols) (i32.const 2)))${init}
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $k (i32.const 0))
      (block $kdone (loop $kl
        (br_if $kdone (i32.ge_u (local.get $k) (local.get $cb)))${body}
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $kl)))
      (local.set $${row} (i32.add (local.get $${row}) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))`;
}

/**
 * Loops over the 2×2, stride-2 windows of n NHWC images, four channels at a time (C a multiple of
 * 4): `body` runs with $o the byte offset (from the images' start) of the window's top-left value
 * for these channels, $cb = 4·C and $row = 4·W·C, then `advance` (e.g. moving an output pointer 16
 * bytes). Needs the parameters $n, $h, $w, $c, $oh, $ow and the i32 locals $cb, $row, $b, $i, $j,
 * $k, $p and $o.
 */
export function windows2x2Loop(body: string, advance: string): string {
  return `
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $row (i32.mul (local.get $w) (local.get $cb)))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $i (i32.const 0))
      (block $idone (loop $il
        (br_if $idone (i32.ge_u (local.get $i) (local.get $oh)))
        (local.set $p (i32.mul
          (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $i) (i32.const 1)))
          (local.get $row)))
        (local.set $j (i32.const 0))
        (block $jdone (loop $jl
          (br_if $jdone (i32.ge_u (local.get $j) (local.get $ow)))
          (local.set $k (i32.const 0))
          (block $kdone (loop $kl
            (br_if $kdone (i32.ge_u (local.get $k) (local.get $cb)))
            (local.set $o (i32.add (local.get $p) (local.get $k)))${body}${advance}
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $kl)))
          (local.set $p (i32.add (local.get $p) (i32.shl (local.get $cb) (i32.const 1))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jl)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $il)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bl)))`;
}

/**
 * Float lanes an elementwise loop runs on: `vector`, four float32 values per step (f32x4), or
 * `scalar`, one (f32), for the tail of a length that is not a multiple of 4. A loop written once
 * against this gives both halves, with the same operations in the same order.
 */
export interface Lanes {
  /** The instruction prefix: f32x4 or f32. */
  f: "f32x4" | "f32";
  load: "v128.load" | "f32.load";
  store: "v128.store" | "f32.store";
  /** Bytes per step. */
  bytes: 16 | 4;
  /** The local holding the constant `name` on these lanes: a splatted local ($B1) or the f32 parameter itself ($b1). */
  constant(name: string): string;
  /** The local holding the value `name` on these lanes, e.g. $G (vector) or $gs (scalar) for "g". */
  value(name: string): string;
}

/** Four float32 values per step; constants are splatted into upper-case locals ($B1), values upper case ($G). */
export const VECTOR: Lanes = { f: "f32x4", load: "v128.load", store: "v128.store", bytes: 16, constant: (name) => name.toUpperCase(), value: (name) => name.toUpperCase() };

/** One float32 value per step; constants are the function's f32 parameters ($b1), values end in s ($gs). */
export const SCALAR: Lanes = { f: "f32", load: "f32.load", store: "f32.store", bytes: 4, constant: (name) => name, value: (name) => `${name}s` };
