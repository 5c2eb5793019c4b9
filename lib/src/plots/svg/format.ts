/**
 * Static SVG rendering of figures (see ../svg.ts): number formatting for ticks and colour bars (Plotly-
 * like: d3 format specs, SI suffixes, true minus signs) and nice tick steps.
 */
function decimalsFor(step: number): number {
  for (let d = 0; d < 12; d++) {
    const s = step * 10 ** d;
    if (Math.abs(s - Math.round(s)) < 1e-6 * Math.max(1, s)) return d;
  }
  return 12;
}

function stripZeros(s: string): string {
  return s.includes(".") && !s.includes("e") ? s.replace(/\.?0+$/, "") : s;
}

export function minus(s: string): string {
  return s.replace(/^-/, "\u2212");
}

/** A subset of d3-format specs (Plotly's tickformat): [,][.N](f|%|e|s|r|d|g). */
export function d3Format(v: number, spec: string): string | undefined {
  const m = /^(,)?(?:\.(\d+))?([fersdg%])?$/.exec(spec);
  if (!m) return undefined;
  const comma = Boolean(m[1]);
  const p = m[2] === undefined ? undefined : Number(m[2]);
  const t = m[3];
  let s: string;
  switch (t) {
    case "%": s = (v * 100).toFixed(p ?? 0) + "%"; break;
    case "f": s = v.toFixed(p ?? 6); break;
    case "e": s = v.toExponential(p ?? 6); break;
    case "d": s = Math.round(v).toFixed(0); break;
    case "r": case "g": s = p === undefined ? String(v) : Number(v.toPrecision(Math.max(1, p))).toString(); break;
    case "s": s = siFormat(v, p); break;
    default: s = p === undefined ? String(v) : stripZeros(Number(v.toPrecision(Math.max(1, p))).toString());
  }
  if (comma) s = s.replace(/^(-?)(\d+)/, (_, sign: string, int: string) => sign + int.replace(/\B(?=(\d{3})+(?!\d))/g, ","));
  return minus(s);
}

function siFormat(v: number, p?: number): string {
  const units: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"], [1, ""], [1e-3, "m"], [1e-6, "µ"]];
  const a = Math.abs(v);
  if (a === 0) return "0";
  const [f, u] = units.find(([f]) => a >= f) ?? units[units.length - 1];
  return stripZeros(Number((v / f).toPrecision(p ?? 3)).toString()) + u;
}

/** Plotly-like default tick label: decimals from the step, trailing zeros dropped, k/M/G for ≥ 10⁴. */
export function formatNumber(v: number, step: number, maxAbs: number, spec?: string): string {
  if (spec) {
    const s = d3Format(v, spec);
    if (s !== undefined) return s;
  }
  if (Math.abs(v) < Math.abs(step) * 1e-8) v = 0;
  const units: [number, string][] = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
  // Plotly's exponentformat "B": SI-like suffixes for large and tiny values.
  if (maxAbs >= 1e4) {
    const [f, u] = units.find(([f]) => maxAbs >= f) ?? [1, ""];
    return minus(stripZeros((v / f).toFixed(decimalsFor(step / f))) + (v === 0 ? "" : u));
  }
  if (maxAbs > 0 && maxAbs < 1e-4) {
    const [f, u] = ([[1e-6, "µ"], [1e-9, "n"], [1e-12, "p"]] as [number, string][]).find(([f]) => maxAbs >= f) ?? [1e-12, "p"];
    return minus(stripZeros((v / f).toFixed(decimalsFor(step / f))) + (v === 0 ? "" : u));
  }
  return minus(stripZeros(v.toFixed(decimalsFor(step))));
}

/** Plotly's automatic tick step: about one tick per 80 px (x) or 40 px (y), rounded to 1/2/5×10ⁿ. */
export function niceStep(span: number, lengthPx: number, minPx: number): number {
  const nt = Math.max(4, Math.min(9, lengthPx / minPx)) + 1;
  const rough = Math.abs(span) / nt;
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const base = 10 ** Math.floor(Math.log10(rough));
  const f = rough / base;
  return base * (f <= 1 + 1e-9 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
}

export function linearTicks(r0: number, r1: number, step: number, tick0 = 0): number[] {
  const lo = Math.min(r0, r1);
  const hi = Math.max(r0, r1);
  const out: number[] = [];
  const eps = step * 1e-6;
  const first = tick0 + Math.ceil((lo - tick0 - eps) / step) * step;
  for (let v = first, i = 0; v <= hi + eps && i < 1000; i++, v = first + i * step) out.push(Math.abs(v) < eps ? 0 : v);
  return out;
}
