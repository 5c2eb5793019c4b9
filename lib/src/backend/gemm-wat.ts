/**
 * WebAssembly text for register-tiled float32 matrix products C[m×n] = op(A)·op(B), reading each
 * operand in its stored (row-major) layout, no transposed copies. Three exports, one per case a
 * dense layer's training step asks for:
 *
 * - `gemmNN`: C = A·B, A [m×k], B [k×n] (forward x·W). Tiles of up to 2 rows × 16 columns
 *   (8 vector accumulators): per step one broadcast A value per row and four B vectors. The
 *   reduction runs in blocks of `kc` steps: each block is summed from zero in registers and then
 *   added to C, so a 43,264-long sum is ~k/kc + kc roundings deep instead of k.
 * - `gemmTN`: C = Aᵀ·B, A stored [k×m], B [k×n] (weight gradient xᵀ·dy): the same tiles and
 *   blocks, the A values of a tile's rows now side by side in memory and k a stride apart (a
 *   batch of up to kc images is one plain sequential sum per element).
 * - `gemmNT`: C = A·Bᵀ, A [m×k], B stored [n×k] (input gradient dy·Wᵀ): dot-product tiles of up
 *   to 2 rows of A × 4 rows of B, vectors along k (4 partial sums per element, lanes k mod 4),
 *   combined as (s0 + s2) + (s1 + s3), then the k mod 4 remainder added in order.
 *
 * Every element's summation order depends only on (m, n, k, kc), never on the tile that computed
 * it (a scalar column does lane for lane what a vector does), so any split of the output over
 * threads gives the same bits. Column remainders use 8-, 4-wide and then scalar tiles, row
 * remainders one-row tiles. Broadcast tile shapes measured on model 2's forward, one thread,
 * interleaved: 2×16 ran 5–15% faster than 4×8 (conv-wat.ts's shape), 5×8 20% and 6×8 70% slower
 * (V8 spills accumulators); unrolling k by two gained nothing. Against XNNPACK on model 2's
 * 43,264×128 dense layer (batch 32, one thread): see `npm run bench`'s products table
 * (scripts/bench/products.ts).
 */
import { get } from "./kernels/wat";

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A column unit of the broadcast tiles: 16 lanes (four vectors), 8 (two), 4 (one) or 1 (scalar f32). */
interface Unit { lanes: 16 | 8 | 4 | 1; vecs: number; t: "v128" | "f32"; f: "f32x4" | "f32"; bload: string; aload: string }
const UNITS: Record<16 | 8 | 4 | 1, Unit> = {
  16: { lanes: 16, vecs: 4, t: "v128", f: "f32x4", bload: "v128.load", aload: "v128.load32_splat" },
  8: { lanes: 8, vecs: 2, t: "v128", f: "f32x4", bload: "v128.load", aload: "v128.load32_splat" },
  4: { lanes: 4, vecs: 1, t: "v128", f: "f32x4", bload: "v128.load", aload: "v128.load32_splat" },
  1: { lanes: 1, vecs: 1, t: "f32", f: "f32", bload: "f32.load", aload: "f32.load" },
};
const MAX_ROWS = 2;

/**
 * $bt{R}x{L}: a tile of R rows × L columns, C = (add ? C : 0) + Σ_{k<kl} a·b. Row j's A values
 * start at a + j·aRow and step by aK; B's row k starts at b + k·bK; C row j at c + j·cRow.
 */
function broadcastTile(rows: number, u: Unit): string {
  const acc = (j: number, v: number): string => `acc${j}_${v}`;
  const locals = [
    ...range(rows).map((j) => `(local $p${j} i32)`),
    ...range(u.vecs).map((v) => `(local $b${v} ${u.t})`),
    `(local $v ${u.t})`,
    ...range(rows).flatMap((j) => range(u.vecs).map((v) => `(local $${acc(j, v)} ${u.t})`)),
  ].join(" ");
  const steps = range(rows).map((j) => `
        (local.set $v (${u.aload} ${get(`p${j}`)}))${range(u.vecs).map((v) => `
        (local.set $${acc(j, v)} (${u.f}.add ${get(acc(j, v))} (${u.f}.mul ${get("v")} ${get(`b${v}`)})))`).join("")}
        (local.set $p${j} (i32.add ${get(`p${j}`)} ${get("aK")}))`).join("");
  const store = range(rows).map((j) => {
    const at = j === 0 ? get("c") : `(i32.add ${get("c")} (i32.mul ${get("cRow")} (i32.const ${j})))`;
    return range(u.vecs).map((v) => {
      const mem = u.t === "f32" ? "f32" : "v128";
      const off = v ? ` offset=${16 * v}` : "";
      return `
    (if ${get("add")} (then (local.set $${acc(j, v)} (${u.f}.add (${mem}.load${off} ${at}) ${get(acc(j, v))}))))
    (${mem}.store${off} ${at} ${get(acc(j, v))})`;
    }).join("");
  }).join("");
  return `
  (func $bt${rows}x${u.lanes} (param $a i32) (param $b i32) (param $c i32) (param $kl i32)
      (param $aRow i32) (param $aK i32) (param $bK i32) (param $cRow i32) (param $add i32)
    (local $end i32) ${locals}
    ${range(rows).map((j) => `(local.set $p${j} (i32.add ${get("a")} (i32.mul ${get("aRow")} (i32.const ${j}))))`).join(" ")}
    (local.set $end (i32.add ${get("b")} (i32.mul ${get("kl")} ${get("bK")})))
    (block $done (loop $l
      (br_if $done (i32.ge_u ${get("b")} ${get("end")}))${range(u.vecs).map((v) => `
      (local.set $b${v} (${u.bload}${v ? ` offset=${16 * v}` : ""} ${get("b")}))`).join("")}${steps}
      (local.set $b (i32.add ${get("b")} ${get("bK")}))
      (br $l)))${store}
  )`;
}

/** $btRow{R}: R rows across all n columns, in units of 16, then 8, 4 and 1. */
function broadcastRow(rows: number): string {
  const call = (l: number): string => `(call $bt${rows}x${l} ${get("a")} (i32.add ${get("b")} (i32.shl ${get("j")} (i32.const 2)))
          (i32.add ${get("c")} (i32.shl ${get("j")} (i32.const 2))) ${get("kl")} ${get("aRow")} ${get("aK")} ${get("bK")} ${get("cRow")} ${get("add")})`;
  const loop = (l: number, once: boolean): string => `
    (block $d${l} (loop $l${l}
      (br_if $d${l} (i32.lt_s (i32.sub ${get("n")} ${get("j")}) (i32.const ${l})))
      ${call(l)}
      (local.set $j (i32.add ${get("j")} (i32.const ${l})))
      ${once ? "" : `(br $l${l})`}))`;
  return `
  (func $btRow${rows} (param $a i32) (param $b i32) (param $c i32) (param $n i32) (param $kl i32)
      (param $aRow i32) (param $aK i32) (param $bK i32) (param $cRow i32) (param $add i32)
    (local $j i32)${loop(16, false)}${loop(8, true)}${loop(4, true)}${loop(1, false)}
  )`;
}

/** $btAll: all m rows, in tiles of 2 rows (then 1), each across all columns. */
function broadcastAll(): string {
  return `
  (func $btAll (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32) (param $kl i32)
      (param $aRow i32) (param $aK i32) (param $bK i32) (param $cRow i32) (param $add i32)
    (local $i i32) (local $left i32)
    (block $done (loop $l
      (local.set $left (i32.sub ${get("m")} ${get("i")}))
      (br_if $done (i32.le_s ${get("left")} (i32.const 0)))${range(MAX_ROWS).map((x) => MAX_ROWS - x).map((r) => `
      (if (i32.ge_s ${get("left")} (i32.const ${r})) (then
        (call $btRow${r} (i32.add ${get("a")} (i32.mul ${get("i")} ${get("aRow")})) ${get("b")}
          (i32.add ${get("c")} (i32.mul ${get("i")} ${get("cRow")})) ${get("n")} ${get("kl")} ${get("aRow")} ${get("aK")} ${get("bK")} ${get("cRow")} ${get("add")})
        (local.set $i (i32.add ${get("i")} (i32.const ${r})))
        (br $l)))`).join("")}))
  )`;
}

/**
 * $btBlocks: the reduction in blocks of kc steps (A advancing aK bytes a step, B bK), the first
 * block stored, each later one added to C. Then the exports, leading dimensions in elements:
 * gemmNN(a, b, c, m, n, k, lda, ldb, ldc, kc) and gemmTN(a, b, c, m, n, k, lda, ldb, ldc, kc).
 */
function broadcastDrivers(): string {
  const shl2 = (name: string): string => `(i32.shl ${get(name)} (i32.const 2))`;
  return `
  (func $btBlocks (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32) (param $k i32)
      (param $aRow i32) (param $aK i32) (param $bK i32) (param $cRow i32) (param $kc i32)
    (local $k0 i32) (local $kl i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u ${get("k0")} ${get("k")}))
      (local.set $kl (i32.sub ${get("k")} ${get("k0")}))
      (if (i32.gt_u ${get("kl")} ${get("kc")}) (then (local.set $kl ${get("kc")})))
      (call $btAll (i32.add ${get("a")} (i32.mul ${get("k0")} ${get("aK")})) (i32.add ${get("b")} (i32.mul ${get("k0")} ${get("bK")}))
        ${get("c")} ${get("m")} ${get("n")} ${get("kl")} ${get("aRow")} ${get("aK")} ${get("bK")} ${get("cRow")} (i32.ne ${get("k0")} (i32.const 0)))
      (local.set $k0 (i32.add ${get("k0")} ${get("kl")}))
      (br $l)))
  )
  (func (export "gemmNN") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32) (param $k i32)
      (param $lda i32) (param $ldb i32) (param $ldc i32) (param $kc i32)
    (call $btBlocks ${get("a")} ${get("b")} ${get("c")} ${get("m")} ${get("n")} ${get("k")} ${shl2("lda")} (i32.const 4) ${shl2("ldb")} ${shl2("ldc")} ${get("kc")})
  )
  (func (export "gemmTN") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32) (param $k i32)
      (param $lda i32) (param $ldb i32) (param $ldc i32) (param $kc i32)
    (call $btBlocks ${get("a")} ${get("b")} ${get("c")} ${get("m")} ${get("n")} ${get("k")} (i32.const 4) ${shl2("lda")} ${shl2("ldb")} ${shl2("ldc")} ${get("kc")})
  )`;
}

/**
 * $dt{R}x{Q}: C[r, q] = A row r · B row q for R rows of A (a, rows aRow bytes apart) and Q rows of
 * B (b, bRow apart), k long; C row r at c + r·cRow.
 */
function dotTile(rows: number, cols: number): string {
  const pairs = range(rows).flatMap((r) => range(cols).map((q) => [r, q] as const));
  const locals = [
    ...range(rows).map((r) => `(local $pa${r} i32) (local $va${r} v128)`),
    ...range(cols).map((q) => `(local $pb${q} i32)`),
    ...pairs.map(([r, q]) => `(local $s${r}_${q} v128) (local $t${r}_${q} f32)`),
  ].join(" ");
  const lane = (r: number, q: number, i: number): string => `(f32x4.extract_lane ${i} ${get(`s${r}_${q}`)})`;
  const tail = range(3).map((i) => `
    (if (i32.gt_u ${get("rest")} (i32.const ${i})) (then${pairs.map(([r, q]) => `
      (local.set $t${r}_${q} (f32.add ${get(`t${r}_${q}`)} (f32.mul (f32.load offset=${4 * i} ${get(`pa${r}`)}) (f32.load offset=${4 * i} ${get(`pb${q}`)}))))`).join("")}))`).join("");
  return `
  (func $dt${rows}x${cols} (param $a i32) (param $b i32) (param $c i32) (param $k i32) (param $aRow i32) (param $bRow i32) (param $cRow i32)
    (local $end i32) (local $rest i32) (local $vb v128) ${locals}
    ${range(rows).map((r) => `(local.set $pa${r} (i32.add ${get("a")} (i32.mul ${get("aRow")} (i32.const ${r}))))`).join(" ")}
    ${range(cols).map((q) => `(local.set $pb${q} (i32.add ${get("b")} (i32.mul ${get("bRow")} (i32.const ${q}))))`).join(" ")}
    (local.set $rest (i32.and ${get("k")} (i32.const 3)))
    (local.set $end (i32.add ${get("pa0")} (i32.shl (i32.sub ${get("k")} ${get("rest")}) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u ${get("pa0")} ${get("end")}))${range(rows).map((r) => `
      (local.set $va${r} (v128.load ${get(`pa${r}`)}))
      (local.set $pa${r} (i32.add ${get(`pa${r}`)} (i32.const 16)))`).join("")}${range(cols).map((q) => `
      (local.set $vb (v128.load ${get(`pb${q}`)}))
      (local.set $pb${q} (i32.add ${get(`pb${q}`)} (i32.const 16)))${range(rows).map((r) => `
      (local.set $s${r}_${q} (f32x4.add ${get(`s${r}_${q}`)} (f32x4.mul ${get(`va${r}`)} ${get("vb")})))`).join("")}`).join("")}
      (br $l)))${pairs.map(([r, q]) => `
    (local.set $t${r}_${q} (f32.add (f32.add ${lane(r, q, 0)} ${lane(r, q, 2)}) (f32.add ${lane(r, q, 1)} ${lane(r, q, 3)})))`).join("")}${tail}${pairs.map(([r, q]) => `
    (f32.store offset=${4 * q} ${r === 0 ? get("c") : `(i32.add ${get("c")} (i32.mul ${get("cRow")} (i32.const ${r})))`} ${get(`t${r}_${q}`)})`).join("")}
  )`;
}

const NT_ROWS = 2;
const NT_COLS = 4;

/** gemmNT(a, b, c, m, n, k, lda, ldb, ldc): B's rows in tiles of 4 (then 3, 2, 1), outer; A's rows in tiles of 2, then 1, inner. */
function dotDriver(): string {
  const column = (q: number): string => `
        (local.set $i (i32.const 0))
        (block $md${q} (loop $ml${q}
          (local.set $mleft (i32.sub ${get("m")} ${get("i")}))
          (br_if $md${q} (i32.le_s ${get("mleft")} (i32.const 0)))${range(NT_ROWS).map((x) => NT_ROWS - x).map((r) => `
          (if (i32.ge_s ${get("mleft")} (i32.const ${r})) (then
            (call $dt${r}x${q} (i32.add ${get("a")} (i32.mul ${get("i")} ${get("aRow")})) (i32.add ${get("b")} (i32.mul ${get("j")} ${get("bRow")}))
              (i32.add (i32.add ${get("c")} (i32.mul ${get("i")} ${get("cRow")})) (i32.shl ${get("j")} (i32.const 2))) ${get("k")} ${get("aRow")} ${get("bRow")} ${get("cRow")})
            (local.set $i (i32.add ${get("i")} (i32.const ${r})))
            (br $ml${q})))`).join("")}))`;
  return `
  (func (export "gemmNT") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32) (param $k i32)
      (param $lda i32) (param $ldb i32) (param $ldc i32)
    (local $aRow i32) (local $bRow i32) (local $cRow i32) (local $i i32) (local $j i32) (local $mleft i32) (local $nleft i32)
    (local.set $aRow (i32.shl ${get("lda")} (i32.const 2)))
    (local.set $bRow (i32.shl ${get("ldb")} (i32.const 2)))
    (local.set $cRow (i32.shl ${get("ldc")} (i32.const 2)))
    (block $done (loop $l
      (local.set $nleft (i32.sub ${get("n")} ${get("j")}))
      (br_if $done (i32.le_s ${get("nleft")} (i32.const 0)))${range(NT_COLS).map((x) => NT_COLS - x).map((q) => `
      (if (i32.ge_s ${get("nleft")} (i32.const ${q})) (then${column(q)}
        (local.set $j (i32.add ${get("j")} (i32.const ${q})))
        (br $l)))`).join("")}))
  )`;
}

/** The functions' text, to go into a module that imports the backend's memory. */
export function gemmWat(): string {
  const tiles = range(MAX_ROWS).map((j) => j + 1).flatMap((rows) => [UNITS[16], UNITS[8], UNITS[4], UNITS[1]].map((u) => broadcastTile(rows, u)));
  const rows = range(MAX_ROWS).map((j) => broadcastRow(j + 1));
  const dots = range(NT_ROWS).flatMap((r) => range(NT_COLS).map((q) => dotTile(r + 1, q + 1)));
  return [...tiles, ...rows, broadcastAll(), broadcastDrivers(), ...dots, dotDriver()].join("\n");
}
