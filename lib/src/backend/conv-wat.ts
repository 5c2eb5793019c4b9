/**
 * WebAssembly text for register-tiled stride-1 convolutions over NHWC tensors, generated for each
 * tile width (WebAssembly text has no generics). Two loops:
 *
 * - `convForward`: y[n, i, j, f] = Σ_{r, s, c} x[n, i+r, j+s, c] · w[r, s, c, f] over an input that
 *   is already padded (a "valid" convolution). A tile is up to 6 neighbouring outputs of a row × 8
 *   filters: 12 vector accumulators that stay in registers for the whole reduction, fed per step
 *   by one broadcast input value per output and two filter vectors. Along a filter row the taps
 *   (s, c) are contiguous in both x and w (index s·C + c), so the reduction is plain strides.
 * - `convFilterGrad`: dw[r, s, c, f] += Σ_{n, i, j} x[n, i+r, j+s, c] · dy[n, i, j, f], tiles of
 *   up to 6 consecutive (s, c) × 8 filters, reducing over a block of output rows at a time so the
 *   block's input and gradient rows stay in the first-level cache.
 *
 * Tiles of 4 outputs × 8 filters (8 accumulators): measured on [32, 28, 28, 32] → 32 at 1 thread,
 * 4 wide ran at 28 GMAC/s, 3 wide at 21, 5–7 wide at 12–15 (V8 runs out of vector registers and
 * spills accumulators); XNNPACK's convolution runs the same layer at about 17. A fused
 * multiply-add (relaxed SIMD) measured no faster than a multiply and an add, so none is used.
 */

const TILE = 4;
const LANES = 8;

/** `acc + a·b` on f32x4 values. */
type Madd = (acc: string, a: string, b: string) => string;
const madd: Madd = (acc, a, b) => `(f32x4.add ${acc} (f32x4.mul ${a} ${b}))`;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const get = (name: string): string => `(local.get $${name})`;

/** The accumulators of a tile `width` outputs (or taps) wide: two vectors of 4 filters each. */
const accumulators = (width: number): string =>
  range(width).flatMap((j) => [`(local $a${j}_0 v128)`, `(local $a${j}_1 v128)`]).join(" ");

/** One reduction step: for each j, broadcast the value at `address(j)` and add its products with $b0 and $b1. */
const step = (width: number, address: (j: number) => string): string =>
  range(width).map((j) => `
        (local.set $v (v128.load32_splat ${address(j)}))
        (local.set $a${j}_0 ${madd(get(`a${j}_0`), get("v"), get("b0"))})
        (local.set $a${j}_1 ${madd(get(`a${j}_1`), get("v"), get("b1"))})`).join("");

/** Row j of the tile at `base` (rows fStep bytes apart): loads it into, or stores it from, the accumulators. */
const tileRows = (width: number, base: string, op: "load" | "store"): string =>
  range(width).map((j) => {
    const at = `(i32.add ${get(base)} (i32.mul ${get("fStep")} (i32.const ${j})))`;
    return op === "load"
      ? `
    (local.set $a${j}_0 (v128.load ${at}))
    (local.set $a${j}_1 (v128.load offset=16 ${at}))`
      : `
    (v128.store ${at} ${get(`a${j}_0`)})
    (v128.store offset=16 ${at} ${get(`a${j}_1`)})`;
  }).join("");

/**
 * The widest tile that fits `left` (TILE, TILE − 1, …, 1): `call(width)`, then `advance` by the
 * width and continue loop `loop`; with nothing left, falls through.
 */
const widestTile = (call: (width: number) => string, advance: string, loop: string, indent: string): string =>
  range(TILE).map((i) => TILE - i).map((width) => `
${indent}(if (i32.ge_s ${get("left")} (i32.const ${width})) (then
${indent}  ${call(width)}
${indent}  (local.set $${advance} (i32.add ${get(advance)} (i32.const ${width})))
${indent}  (br $${loop})))`).join("");

/**
 * One output tile of `convForward`: `width` outputs × 8 filters.
 * x: address of the tile's first input (row i, column j, channel 0); w: filter column f0 of tap 0;
 * y: the tile's first output, channel f0. xRow/wRow: bytes between input rows and filter rows
 * (fw·C·F·4); taps: fw·C; xStep: C·4; fStep: F·4; fh: filter rows. bias: address of the bias for
 * f0, added when flags bit 0 is set; flags bit 1: relu.
 */
function forwardTile(width: number): string {
  return `
  (func $fwd${width} (param $x i32) (param $w i32) (param $y i32) (param $xRow i32) (param $wRow i32)
      (param $taps i32) (param $xStep i32) (param $fStep i32) (param $fh i32) (param $bias i32) (param $flags i32)
    (local $r i32) (local $t i32) (local $xp i32) (local $wp i32) (local $b0 v128) (local $b1 v128) (local $v v128)
    ${accumulators(width)}
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_u ${get("r")} ${get("fh")}))
      (local.set $xp (i32.add ${get("x")} (i32.mul ${get("r")} ${get("xRow")})))
      (local.set $wp (i32.add ${get("w")} (i32.mul ${get("r")} ${get("wRow")})))
      (local.set $t (i32.const 0))
      (block $tdone (loop $tl
        (br_if $tdone (i32.ge_u ${get("t")} ${get("taps")}))
        (local.set $b0 (v128.load ${get("wp")}))
        (local.set $b1 (v128.load offset=16 ${get("wp")}))
        ${step(width, (j) => (j === 0 ? get("xp") : `(i32.add ${get("xp")} (i32.mul ${get("xStep")} (i32.const ${j})))`))}
        (local.set $xp (i32.add ${get("xp")} (i32.const 4)))
        (local.set $wp (i32.add ${get("wp")} ${get("fStep")}))
        (local.set $t (i32.add ${get("t")} (i32.const 1)))
        (br $tl)))
      (local.set $r (i32.add ${get("r")} (i32.const 1)))
      (br $rl)))
    (if (i32.and ${get("flags")} (i32.const 1)) (then
      (local.set $b0 (v128.load ${get("bias")}))
      (local.set $b1 (v128.load offset=16 ${get("bias")}))${range(width).map((j) => `
      (local.set $a${j}_0 (f32x4.add ${get(`a${j}_0`)} ${get("b0")}))
      (local.set $a${j}_1 (f32x4.add ${get(`a${j}_1`)} ${get("b1")}))`).join("")}))
    (if (i32.and ${get("flags")} (i32.const 2)) (then
      (local.set $v (v128.const f32x4 0 0 0 0))${range(width).map((j) => `
      (local.set $a${j}_0 (f32x4.max ${get(`a${j}_0`)} ${get("v")}))
      (local.set $a${j}_1 (f32x4.max ${get(`a${j}_1`)} ${get("v")}))`).join("")}))
    ${tileRows(width, "y", "store")}
  )`;
}

/**
 * convForward(x, w, y, n, hp, wp, c, oh, ow, f, fh, fw, bias, flags): x is [n, hp, wp, c]
 * (padded), w is [fh, fw, c, f], y is [n, oh, ow, f] with oh = hp − fh + 1, ow = wp − fw + 1;
 * f a multiple of 8. flags bit 0: add bias [f]; bit 1: relu.
 */
function forwardDriver(): string {
  return `
  (func (export "convForward") (param $x i32) (param $w i32) (param $y i32)
      (param $n i32) (param $hp i32) (param $wp i32) (param $c i32) (param $oh i32) (param $ow i32)
      (param $f i32) (param $fh i32) (param $fw i32) (param $bias i32) (param $flags i32)
    (local $xStep i32) (local $fStep i32) (local $xRow i32) (local $taps i32) (local $wRow i32)
    (local $b i32) (local $i i32) (local $f0 i32) (local $j i32) (local $left i32)
    (local $xi i32) (local $yi i32) (local $xt i32) (local $yt i32)
    (local.set $xStep (i32.shl ${get("c")} (i32.const 2)))
    (local.set $fStep (i32.shl ${get("f")} (i32.const 2)))
    (local.set $xRow (i32.mul ${get("wp")} ${get("xStep")}))
    (local.set $taps (i32.mul ${get("fw")} ${get("c")}))
    (local.set $wRow (i32.mul ${get("taps")} ${get("fStep")}))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_u ${get("b")} ${get("n")}))
      (local.set $i (i32.const 0))
      (block $idone (loop $il
        (br_if $idone (i32.ge_u ${get("i")} ${get("oh")}))
        (local.set $xi (i32.add ${get("x")} (i32.mul (i32.add (i32.mul ${get("b")} ${get("hp")}) ${get("i")}) ${get("xRow")})))
        (local.set $yi (i32.add ${get("y")} (i32.mul (i32.add (i32.mul ${get("b")} ${get("oh")}) ${get("i")}) (i32.mul ${get("ow")} ${get("fStep")}))))
        (local.set $f0 (i32.const 0))
        (block $fdone (loop $fl
          (br_if $fdone (i32.ge_u ${get("f0")} ${get("f")}))
          (local.set $j (i32.const 0))
          (block $jdone (loop $jl
            (local.set $left (i32.sub ${get("ow")} ${get("j")}))
            (br_if $jdone (i32.le_s ${get("left")} (i32.const 0)))
            (local.set $xt (i32.add ${get("xi")} (i32.mul ${get("j")} ${get("xStep")})))
            (local.set $yt (i32.add (i32.add ${get("yi")} (i32.mul ${get("j")} ${get("fStep")})) (i32.shl ${get("f0")} (i32.const 2))))
            ${widestTile((width) => `(call $fwd${width} ${get("xt")} (i32.add ${get("w")} (i32.shl ${get("f0")} (i32.const 2))) ${get("yt")}
                ${get("xRow")} ${get("wRow")} ${get("taps")} ${get("xStep")} ${get("fStep")} ${get("fh")}
                (i32.add ${get("bias")} (i32.shl ${get("f0")} (i32.const 2))) ${get("flags")})`, "j", "jl", "            ")}
            (br $jdone)))
          (local.set $f0 (i32.add ${get("f0")} (i32.const ${LANES})))
          (br $fl)))
        (local.set $i (i32.add ${get("i")} (i32.const 1)))
        (br $il)))
      (local.set $b (i32.add ${get("b")} (i32.const 1)))
      (br $bl)))
  )`;
}

/**
 * One tile of `convFilterGrad`: `width` consecutive taps (s, c) × 8 filters, accumulated over
 * `rows` output rows of `ow` outputs. x: input of the first row's first output at the first tap;
 * dy: that row's first gradient, filter f0; dw: the tile's first accumulator. xRow/dyRow: bytes
 * between input/gradient rows; xStep/fStep: C·4 and F·4.
 */
function gradTile(width: number): string {
  return `
  (func $grad${width} (param $x i32) (param $dy i32) (param $dw i32) (param $rows i32) (param $ow i32)
      (param $xRow i32) (param $dyRow i32) (param $xStep i32) (param $fStep i32)
    (local $r i32) (local $k i32) (local $xp i32) (local $dp i32) (local $b0 v128) (local $b1 v128) (local $v v128)
    ${accumulators(width)}
    ${tileRows(width, "dw", "load")}
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_u ${get("r")} ${get("rows")}))
      (local.set $xp (i32.add ${get("x")} (i32.mul ${get("r")} ${get("xRow")})))
      (local.set $dp (i32.add ${get("dy")} (i32.mul ${get("r")} ${get("dyRow")})))
      (local.set $k (i32.const 0))
      (block $kdone (loop $kl
        (br_if $kdone (i32.ge_u ${get("k")} ${get("ow")}))
        (local.set $b0 (v128.load ${get("dp")}))
        (local.set $b1 (v128.load offset=16 ${get("dp")}))
        ${step(width, (j) => `offset=${4 * j} ${get("xp")}`)}
        (local.set $xp (i32.add ${get("xp")} ${get("xStep")}))
        (local.set $dp (i32.add ${get("dp")} ${get("fStep")}))
        (local.set $k (i32.add ${get("k")} (i32.const 1)))
        (br $kl)))
      (local.set $r (i32.add ${get("r")} (i32.const 1)))
      (br $rl)))
    ${tileRows(width, "dw", "store")}
  )`;
}

/**
 * convFilterGrad(x, dy, dw, n, chunk, hp, wp, c, oh, ow, f, fh, fw, block): adds the filter
 * gradient of a stride-1 "valid" convolution of x [n, hp, wp, c] (padded) giving dy [n, oh, ow, f]
 * to dw, one [fh, fw, c, f] buffer per `chunk` images (f a multiple of 8): images 0…chunk−1 into
 * the first, the next `chunk` into the one after, and so on; `block` output rows at a time.
 */
function gradDriver(): string {
  return `
  (func (export "convFilterGrad") (param $x i32) (param $dy i32) (param $dw i32)
      (param $n i32) (param $chunk i32) (param $hp i32) (param $wp i32) (param $c i32) (param $oh i32) (param $ow i32)
      (param $f i32) (param $fh i32) (param $fw i32) (param $block i32)
    (local $xStep i32) (local $fStep i32) (local $xRow i32) (local $dyRow i32) (local $taps i32)
    (local $b i32) (local $i0 i32) (local $rows i32) (local $r i32) (local $t i32) (local $left i32) (local $f0 i32)
    (local $xb i32) (local $dyb i32) (local $xt i32) (local $dwt i32) (local $dyt i32) (local $dwb i32) (local $dwBytes i32)
    (local.set $xStep (i32.shl ${get("c")} (i32.const 2)))
    (local.set $fStep (i32.shl ${get("f")} (i32.const 2)))
    (local.set $xRow (i32.mul ${get("wp")} ${get("xStep")}))
    (local.set $dyRow (i32.mul ${get("ow")} ${get("fStep")}))
    (local.set $taps (i32.mul ${get("fw")} ${get("c")}))
    (local.set $dwBytes (i32.mul (i32.mul ${get("fh")} ${get("taps")}) ${get("fStep")}))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_u ${get("b")} ${get("n")}))
      (local.set $dwb (i32.add ${get("dw")} (i32.mul (i32.div_u ${get("b")} ${get("chunk")}) ${get("dwBytes")})))
      (local.set $i0 (i32.const 0))
      (block $idone (loop $il
        (br_if $idone (i32.ge_u ${get("i0")} ${get("oh")}))
        (local.set $rows (i32.sub ${get("oh")} ${get("i0")}))
        (if (i32.gt_u ${get("rows")} ${get("block")}) (then (local.set $rows ${get("block")})))
        (local.set $xb (i32.add ${get("x")} (i32.mul (i32.add (i32.mul ${get("b")} ${get("hp")}) ${get("i0")}) ${get("xRow")})))
        (local.set $dyb (i32.add ${get("dy")} (i32.mul (i32.add (i32.mul ${get("b")} ${get("oh")}) ${get("i0")}) ${get("dyRow")})))
        (local.set $r (i32.const 0))
        (block $rdone (loop $rl
          (br_if $rdone (i32.ge_u ${get("r")} ${get("fh")}))
          (local.set $f0 (i32.const 0))
          (block $fdone (loop $fl
            (br_if $fdone (i32.ge_u ${get("f0")} ${get("f")}))
            (local.set $dyt (i32.add ${get("dyb")} (i32.shl ${get("f0")} (i32.const 2))))
            (local.set $t (i32.const 0))
            (block $tdone (loop $tl
              (local.set $left (i32.sub ${get("taps")} ${get("t")}))
              (br_if $tdone (i32.le_s ${get("left")} (i32.const 0)))
              (local.set $xt (i32.add (i32.add ${get("xb")} (i32.mul ${get("r")} ${get("xRow")})) (i32.shl ${get("t")} (i32.const 2))))
              (local.set $dwt (i32.add ${get("dwb")} (i32.add
                (i32.mul (i32.add (i32.mul ${get("r")} ${get("taps")}) ${get("t")}) ${get("fStep")})
                (i32.shl ${get("f0")} (i32.const 2)))))
              ${widestTile((width) => `(call $grad${width} ${get("xt")} ${get("dyt")} ${get("dwt")} ${get("rows")} ${get("ow")}
                  ${get("xRow")} ${get("dyRow")} ${get("xStep")} ${get("fStep")})`, "t", "tl", "              ")}
              (br $tdone)))
            (local.set $f0 (i32.add ${get("f0")} (i32.const ${LANES})))
            (br $fl)))
          (local.set $r (i32.add ${get("r")} (i32.const 1)))
          (br $rl)))
        (local.set $i0 (i32.add ${get("i0")} ${get("block")}))
        (br $il)))
      (local.set $b (i32.add ${get("b")} (i32.const 1)))
      (br $bl)))
  )`;
}

/**
 * `padImages(x, out, n, h, w, c, top, bottom, left, right)`: each of n NHWC images of x copied into
 * out with zero rows above and below and zero columns left and right (byte offsets; bulk-memory
 * copies and fills, one image after the other). The convolutions' padded inputs: as wasm's PadV2
 * this ran on the calling thread only, 4–8 ms of a step of `best` at batch 128.
 */
function padDriver(): string {
  return `
  (func (export "padImages")
    (param $x i32) (param $out i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $top i32) (param $bottom i32) (param $left i32) (param $right i32)
    (local $pix i32) (local $rowIn i32) (local $rowOut i32) (local $leftB i32) (local $rightB i32) (local $b i32) (local $i i32)
    (local.set $pix (i32.shl ${get("c")} (i32.const 2)))
    (local.set $rowIn (i32.mul ${get("w")} ${get("pix")}))
    (local.set $leftB (i32.mul ${get("left")} ${get("pix")}))
    (local.set $rightB (i32.mul ${get("right")} ${get("pix")}))
    (local.set $rowOut (i32.add ${get("rowIn")} (i32.add ${get("leftB")} ${get("rightB")})))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_u ${get("b")} ${get("n")}))
      (memory.fill ${get("out")} (i32.const 0) (i32.mul ${get("top")} ${get("rowOut")}))
      (local.set $out (i32.add ${get("out")} (i32.mul ${get("top")} ${get("rowOut")})))
      (local.set $i (i32.const 0))
      (block $idone (loop $il
        (br_if $idone (i32.ge_u ${get("i")} ${get("h")}))
        (memory.fill ${get("out")} (i32.const 0) ${get("leftB")})
        (memory.copy (i32.add ${get("out")} ${get("leftB")}) ${get("x")} ${get("rowIn")})
        (memory.fill (i32.add ${get("out")} (i32.add ${get("leftB")} ${get("rowIn")})) (i32.const 0) ${get("rightB")})
        (local.set $out (i32.add ${get("out")} ${get("rowOut")}))
        (local.set $x (i32.add ${get("x")} ${get("rowIn")}))
        (local.set $i (i32.add ${get("i")} (i32.const 1)))
        (br $il)))
      (memory.fill ${get("out")} (i32.const 0) (i32.mul ${get("bottom")} ${get("rowOut")}))
      (local.set $out (i32.add ${get("out")} (i32.mul ${get("bottom")} ${get("rowOut")})))
      (local.set $b (i32.add ${get("b")} (i32.const 1)))
      (br $bl)))
  )`;
}

/**
 * `addChunks(parts, out, vectors, chunks, stride)`: out = parts[0] + parts[1] + … + parts[chunks − 1],
 * added in that order, over `vectors` groups of four float32; part k starts `stride` bytes after part
 * k − 1 (byte offsets). The filter gradient's per-chunk sums, totalled (float32 adds, as a JavaScript
 * loop storing into a Float32Array gives bit for bit).
 */
function addChunksDriver(): string {
  return `
  (func (export "addChunks") (param $parts i32) (param $out i32) (param $vectors i32) (param $chunks i32) (param $stride i32)
    (local $end i32) (local $p i32) (local $k i32) (local $v v128)
    (local.set $end (i32.add ${get("out")} (i32.shl ${get("vectors")} (i32.const 4))))
    (block $done (loop $l
      (br_if $done (i32.ge_u ${get("out")} ${get("end")}))
      (local.set $v (v128.load ${get("parts")}))
      (local.set $p ${get("parts")})
      (local.set $k (i32.const 1))
      (block $kdone (loop $kl
        (br_if $kdone (i32.ge_u ${get("k")} ${get("chunks")}))
        (local.set $p (i32.add ${get("p")} ${get("stride")}))
        (local.set $v (f32x4.add ${get("v")} (v128.load ${get("p")})))
        (local.set $k (i32.add ${get("k")} (i32.const 1)))
        (br $kl)))
      (v128.store ${get("out")} ${get("v")})
      (local.set $parts (i32.add ${get("parts")} (i32.const 16)))
      (local.set $out (i32.add ${get("out")} (i32.const 16)))
      (br $l)))
  )`;
}

/** The functions' text, to go into a module that imports the backend's memory. */
export function convWat(): string {
  const widths = range(TILE).map((i) => i + 1);
  return [...widths.map(forwardTile), forwardDriver(), ...widths.map(gradTile), gradDriver(), padDriver(), addChunksDriver()].join("\n");
}

/** Filters per tile (the channel count must be a multiple of it). */
export const CONV_FILTER_LANES = LANES;
