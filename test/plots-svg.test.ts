// Static SVG fallback of the figures: every builder's figure renders to a well-formed, self-contained
// SVG with its title, trace names and the right number of marks; text is escaped.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  classDistribution, confusionHeatmap, figureSvg, figureSvgDataUri, figureSize, imageGrid, intensityHistogram, learningCurves, matrixHeatmap,
  meanImageFigure, modelComparison, parallelCoordinates, perClassMetricBars, predictionGrid, sampleGrid,
  type BarTrace, type Figure, type HeatmapTrace, type ScatterTrace,
} from "../lib/src/plots/index";
import { meanImagesByClass } from "../lib/src/stats";

// ---- a tiny XML parser: checks well-formedness and returns the element tree

interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function decode(s: string): string {
  return s.replace(ENTITY, (e) => {
    const named: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'" };
    if (named[e]) return named[e];
    const code = e[2] === "x" ? parseInt(e.slice(3, -1), 16) : parseInt(e.slice(2, -1), 10);
    return String.fromCodePoint(code);
  });
}

function checkText(s: string, where: string): void {
  assert.ok(!s.includes("<"), `raw "<" in ${where}`);
  assert.ok(!/&/.test(s.replace(ENTITY, "")), `bare "&" in ${where}: ${s.slice(0, 80)}`);
  assert.ok(!/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(s), `control character in ${where}`);
}

function parseXml(src: string): El {
  let i = 0;
  const root: El = { name: "#document", attrs: {}, children: [], text: "" };
  const stack: El[] = [root];
  const NAME = /[A-Za-z_:][\w:.-]*/y;
  const readName = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(src);
    assert.ok(m, `expected a name at ${i}: ${src.slice(i, i + 30)}`);
    i += m[0].length;
    return m[0];
  };
  const skipWs = (): void => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  while (i < src.length) {
    if (src.startsWith("<?", i)) {
      const e = src.indexOf("?>", i);
      assert.ok(e > 0, "unterminated <?");
      i = e + 2;
    } else if (src.startsWith("<!--", i)) {
      const e = src.indexOf("-->", i);
      assert.ok(e > 0, "unterminated comment");
      i = e + 3;
    } else if (src.startsWith("</", i)) {
      i += 2;
      const name = readName();
      skipWs();
      assert.equal(src[i], ">", `bad end tag ${name}`);
      i++;
      const open = stack.pop();
      assert.ok(open && open !== root, `end tag </${name}> without start`);
      assert.equal(open.name, name, `</${name}> closes <${open.name}>`);
    } else if (src[i] === "<") {
      i++;
      const el: El = { name: readName(), attrs: {}, children: [], text: "" };
      for (;;) {
        const before = i;
        skipWs();
        if (src[i] === "/" || src[i] === ">") break;
        assert.ok(i > before, `attributes of <${el.name}> need white space between them`);
        const an = readName();
        skipWs();
        assert.equal(src[i], "=", `attribute ${an} of <${el.name}> has no value`);
        i++;
        skipWs();
        const q = src[i];
        assert.ok(q === '"' || q === "'", `attribute ${an} is not quoted`);
        const e = src.indexOf(q, i + 1);
        assert.ok(e > 0, "unterminated attribute");
        const v = src.slice(i + 1, e);
        checkText(v, `attribute ${an} of <${el.name}>`);
        assert.ok(!(an in el.attrs), `duplicate attribute ${an} on <${el.name}>`);
        el.attrs[an] = decode(v);
        i = e + 1;
      }
      const parent = stack[stack.length - 1];
      assert.ok(parent !== root || root.children.length === 0, "more than one root element");
      parent.children.push(el);
      if (src[i] === "/") {
        assert.equal(src[i + 1], ">");
        i += 2;
      } else {
        i++;
        stack.push(el);
      }
    } else {
      const e = src.indexOf("<", i);
      const t = src.slice(i, e < 0 ? src.length : e);
      checkText(t, "text");
      const top = stack[stack.length - 1];
      assert.ok(top !== root || t.trim() === "", "text outside the root element");
      top.text += decode(t);
      i = e < 0 ? src.length : e;
    }
  }
  assert.equal(stack.length, 1, `unclosed <${stack[stack.length - 1].name}>`);
  assert.equal(root.children.length, 1, "no root element");
  return root.children[0];
}

function all(el: El, pred: (e: El) => boolean, out: El[] = []): El[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) all(c, pred, out);
  return out;
}

const hasClass = (e: El, c: string): boolean => (e.attrs.class ?? "").split(/\s+/).includes(c);

/** All text content below `el` (tspans included). */
function textOf(el: El): string {
  return el.text + el.children.map(textOf).join("");
}

/** All visible strings of the drawing (text elements and <title>s). */
function strings(root: El): string[] {
  return all(root, (e) => e.name === "text" || e.name === "title").map(textOf);
}

/** Parses and checks what every figure's SVG must satisfy; returns the tree. */
function render(fig: Figure, opts?: { width?: number; height?: number }): { svg: string; root: El } {
  const svg = figureSvg(fig, opts);
  const root = parseXml(svg);
  assert.equal(root.name, "svg");
  assert.equal(root.attrs.xmlns, "http://www.w3.org/2000/svg");
  const { width, height } = figureSize(fig, opts);
  assert.equal(root.attrs.viewBox, `0 0 ${width} ${height}`);
  assert.equal(root.attrs.width, "100%");
  assert.match(root.attrs.style ?? "", /max-width:\s*100%/);
  // Self-contained: no scripts, no event handlers, no external references.
  assert.equal(all(root, (e) => e.name === "script" || e.name === "foreignObject").length, 0);
  for (const e of all(root, () => true)) {
    for (const [k, v] of Object.entries(e.attrs)) {
      assert.ok(!/^on/i.test(k), `event handler ${k}`);
      if (k === "href" || k === "xlink:href") assert.match(v, /^(data:image\/|#)/, `external reference ${v.slice(0, 40)}`);
      if (k !== "xmlns") assert.ok(!/(https?:|url\((?!#))/i.test(v), `external reference in ${k}: ${v.slice(0, 60)}`);
    }
  }
  const title = fig.layout.title?.text;
  if (title) assert.ok(strings(root).includes(title), `title "${title}" not drawn`);
  for (const t of fig.data) if (t.name) assert.ok(strings(root).includes(t.name), `trace name "${t.name}" missing`);
  return { svg, root };
}

const groups = (root: El, cls: string): El[] => all(root, (e) => e.name === "g" && hasClass(e, cls));
const count = (els: El[], name: string): number => els.reduce((n, g) => n + all(g, (e) => e.name === name).length, 0);

/** A tiny 2×2-pixel, 3-class set: class c has every pixel = 10*(c+1) + image number. */
function tinySet() {
  const labels = Uint8Array.from([0, 1, 2, 0, 1, 2]);
  const images = new Uint8Array(6 * 4);
  labels.forEach((y, i) => images.fill(10 * (y + 1) + i, i * 4, i * 4 + 4));
  return { images, labels, rows: 2, cols: 2 };
}

// ---- every builder

test("learningCurves: two panels of lines with markers, dashed validation, legend, best-epoch lines", () => {
  const h = { loss: [1, 0.5, 0.4], val_loss: [1.1, 0.7, 0.6], acc: [0.6, 0.8, 0.85], val_acc: [0.55, 0.75, 0.8], bestEpoch: 2, restoredBest: true };
  const fig = learningCurves(h, { title: "curves" });
  const { root } = render(fig);
  assert.equal(groups(root, "scatter").length, 4);
  assert.equal(count(groups(root, "points"), "circle"), 12);
  const lines = all(root, (e) => e.name === "path" && hasClass(e, "line"));
  assert.equal(lines.length, 4);
  assert.deepEqual(lines.map((l) => Boolean(l.attrs["stroke-dasharray"])), [false, true, false, true]);
  // Legend: one entry per legend group (train, validation), though four traces carry those names.
  assert.deepEqual(groups(root, "legend-item").map(textOf), ["train", "validation"]);
  assert.equal(all(root, (e) => hasClass(e, "shape")).length, 2);
  for (const s of ["loss", "accuracy", "epoch"]) assert.ok(strings(root).includes(s), s);
  // Two subplots, clipped separately.
  assert.equal(all(root, (e) => e.name === "clipPath").length, 2);
});

test("confusionHeatmap: one rect per cell, cell text, first row at the top, category ticks", () => {
  const names = ["A", "B", "C"];
  const m = [[8, 2, 0], [1, 3, 4], [0, 0, 9]];
  const fig = confusionHeatmap(m, { classNames: names });
  const { root } = render(fig);
  const cells = groups(root, "cells");
  assert.equal(cells.length, 2);
  assert.equal(count(cells, "rect"), 18);
  // Counts panel writes every count; the normalised one leaves zeros blank.
  const text = groups(root, "cell-text").map((g) => all(g, (e) => e.name === "text").map(textOf));
  assert.deepEqual(text[0], ["8", "2", "0", "1", "3", "4", "0", "0", "9"]);
  assert.deepEqual(text[1], ["0.80", "0.20", "0.13", "0.38", "0.50", "1.00"]);
  // y reversed: row 0 (A) above row 2 (C) — in cell units the group's y scale is positive, or rects ascend.
  const first = cells[0];
  const rows = all(first, (e) => e.name === "rect").map((r) => Number(r.attrs.y));
  const scaleY = /matrix\(\S+ 0 0 (\S+)/.exec(first.attrs.transform ?? "")?.[1];
  assert.ok(scaleY === undefined ? rows[0] < rows[8] : Number(scaleY) > 0 && rows[0] < rows[8]);
  // Large counts dark: the colour of 9 is darker than that of 0 (reversed Blues).
  const fills = all(first, (e) => e.name === "rect").map((r) => r.attrs.fill);
  const lum = (hex: string): number => parseInt(hex.slice(1, 3), 16) + parseInt(hex.slice(3, 5), 16) + parseInt(hex.slice(5, 7), 16);
  assert.ok(lum(fills[8]) < lum(fills[2]));
  const ticks = groups(root, "ticks").map((g) => all(g, (e) => e.name === "text").map(textOf));
  assert.ok(ticks.some((t) => t.join() === "A,B,C"));
  assert.ok(strings(root).includes("predicted") && strings(root).includes("true"));
  const one = render(confusionHeatmap(m, { classNames: names, only: "counts" })).root;
  assert.equal(count(groups(one, "cells"), "rect"), 9);
});

test("matrixHeatmap: cells, values and a colour bar with its title", () => {
  const fig = matrixHeatmap([[0, 2.5], [2.5, 0]], { labels: ["A", "B"], digits: 1, title: "distances", valueTitle: "euclid", colorscale: "Viridis", reversescale: true });
  const { root } = render(fig);
  assert.equal(count(groups(root, "cells"), "rect"), 4);
  assert.deepEqual(all(groups(root, "cell-text")[0], (e) => e.name === "text").map(textOf), ["0.0", "2.5", "2.5", "0.0"]);
  assert.equal(all(root, (e) => e.name === "linearGradient").length, 1);
  assert.equal(all(root, (e) => hasClass(e, "colorbar")).length, 1);
  assert.ok(strings(root).includes("euclid"));
  // Reversed Viridis: 0 is yellow (#fde725), 2.5 dark purple (#440154).
  const fills = all(groups(root, "cells")[0], (e) => e.name === "rect").map((r) => r.attrs.fill);
  assert.deepEqual(fills, ["#fde725", "#440154", "#440154", "#fde725"]);
});

test("classDistribution and perClassMetricBars: one rect per bar value, grouped side by side", () => {
  const fig = classDistribution({ train: [3, 1], validation: [1, 1], test: [2, 2] }, { classNames: ["A", "B"] });
  const { root } = render(fig);
  const bars = groups(root, "bars");
  assert.equal(bars.length, 3);
  assert.equal(count(bars, "rect"), 6);
  // Grouped: the three bars of class A are side by side, left to right in trace order, equal widths.
  const a = bars.map((g) => all(g, (e) => e.name === "rect")[0]);
  const xs = a.map((r) => Number(r.attrs.x));
  assert.ok(xs[0] < xs[1] && xs[1] < xs[2]);
  assert.ok(Math.abs(Number(a[0].attrs.width) - Number(a[2].attrs.width)) < 0.2);
  // Heights proportional to the counts (3 vs 1 for train).
  const [h3, h1] = all(bars[0], (e) => e.name === "rect").map((r) => Number(r.attrs.height));
  assert.ok(Math.abs(h3 / h1 - 3) < 0.05, `${h3} / ${h1}`);
  assert.equal(groups(root, "legend-item").length, 3);
  const norm = render(classDistribution({ train: [3, 1] }, { classNames: ["A", "B"], normalize: true })).root;
  assert.ok(strings(norm).some((s) => /^\d+%$/.test(s)), "percent ticks");

  const pm = render(perClassMetricBars([{ label: "A", precision: 0.9, recall: 0.8, f1: 0.85 }, { label: "B", precision: 0.7, recall: 0.6, f1: 0.65 }])).root;
  assert.equal(count(groups(pm, "bars"), "rect"), 6);
  assert.deepEqual(groups(pm, "legend-item").map(textOf), ["precision", "recall", "F1"]);
});

test("modelComparison: bars with outside text labels and diamond markers", () => {
  const fig = modelComparison([{ model: "m1", valAcc: 0.9, testAcc: 0.89, reported: 0.91 }, { model: "m2", valAcc: 0.8, testAcc: 0.79 }]);
  const { root } = render(fig);
  assert.equal(count(groups(root, "bars"), "rect"), 4);
  assert.deepEqual(all(groups(root, "bar-text")[0], (e) => e.name === "text").map(textOf), ["0.9000", "0.8000"]);
  assert.equal(count(groups(root, "points"), "path"), 1);
});

test("intensityHistogram: bars, one step line per class, log axis", () => {
  const set = tinySet();
  const bars = render(intensityHistogram(set, { bins: 8, classNames: ["A", "B", "C"] })).root;
  assert.equal(count(groups(bars, "bars"), "rect"), 8);
  const per = render(intensityHistogram(set, { bins: 8, byClass: true, classNames: ["A", "B", "C"] })).root;
  assert.equal(all(per, (e) => e.name === "path" && hasClass(e, "line")).length, 3);
  assert.deepEqual(groups(per, "legend-item").map(textOf), ["A", "B", "C"]);
  const log = render(intensityHistogram(set, { bins: 8, logY: true, classNames: ["A", "B", "C"] })).root;
  // Empty bins have no height on a log axis; the others are drawn.
  assert.ok(count(groups(log, "bars"), "rect") >= 1);
  // A log axis over several decades gets power-of-ten ticks.
  const wide = render({ data: [{ type: "scatter", x: [1, 2, 3], y: [0.001, 1, 100] }], layout: { yaxis: { type: "log" } } }).root;
  const yTicks = all(groups(wide, "ticks").find((g) => hasClass(g, "y"))!, (e) => e.name === "text").map(textOf);
  for (const t of ["0.001", "0.01", "0.1", "1", "10", "100"]) assert.ok(yTicks.includes(t), `${t} in ${yTicks}`);
});

test("imageGrid, sampleGrid, meanImageFigure, predictionGrid: one <image> per panel, titles, red wrong predictions", () => {
  const imgs = [Uint8Array.from([0, 255, 128, 0]), Uint8Array.from([1, 2, 3, 4]), Uint8Array.from([9, 9, 9, 9])];
  const png = render(imageGrid({ images: imgs, titles: ["a", "b", "c"], columns: 2, rows: 2, cols: 2, title: "grid" })).root;
  const images = all(png, (e) => e.name === "image");
  assert.equal(images.length, 3);
  for (const im of images) {
    assert.match(im.attrs.href, /^data:image\/png;base64,/);
    assert.equal(im.attrs.width, "2");
    // Equal aspect: the same px scale on both axes.
    const m = /matrix\((\S+) 0 0 (\S+)/.exec(im.attrs.transform);
    assert.ok(m && Math.abs(Number(m[1]) - Number(m[2])) < 0.01, im.attrs.transform);
  }
  const heat = render(imageGrid({ images: imgs, titles: ["a", "b", "c"], columns: 2, rows: 2, cols: 2, encoding: "heatmap" })).root;
  assert.equal(count(groups(heat, "cells"), "rect"), 12);
  // 0 white, 255 black (reversed Greys).
  const fills = all(groups(heat, "cells")[0], (e) => e.name === "rect").map((r) => r.attrs.fill);
  assert.deepEqual(fills, ["#ffffff", "#000000", "#7f7f7f", "#ffffff"]);

  const set = tinySet();
  assert.equal(all(render(sampleGrid(set, 2, { classNames: ["A", "B", "C"] })).root, (e) => e.name === "image").length, 6);
  assert.equal(all(render(meanImageFigure(meanImagesByClass(set, 3), { classNames: ["A", "B", "C"], rows: 2, cols: 2 })).root, (e) => e.name === "image").length, 3);
  const pred = render(predictionGrid({ images: [imgs[0], imgs[1], imgs[2]], trueLabels: [0, 1, 2], predicted: [0, 2, 2], classNames: ["A", "B", "C"], rows: 2, cols: 2 })).root;
  const ann = all(pred, (e) => hasClass(e, "annotation"));
  assert.deepEqual(ann.map(textOf), ["A ✓", "B → C", "C ✓"]);
  assert.deepEqual(ann.map((a) => a.attrs.fill), ["#2a7f2a", "#d62728", "#2a7f2a"]);
});

test("parallelCoordinates: one polyline per run, coloured by score, labelled axes, colour bar", () => {
  const fig = parallelCoordinates([{ lr: 0.001, opt: "adam", score: 0.9 }, { lr: 0.01, opt: "sgd", score: 0.8 }, { lr: 0.003, opt: "adam", score: 0.85 }]);
  const { root } = render(fig);
  const lines = all(root, (e) => e.name === "polyline");
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => l.attrs.points.split(" ").length === 3));
  // Viridis: the best score is yellow, the worst purple.
  assert.deepEqual([lines[0].attrs.stroke, lines[1].attrs.stroke], ["#fde725", "#440154"]);
  for (const s of ["lr", "opt", "score", "adam", "sgd"]) assert.ok(strings(root).includes(s), s);
  assert.equal(all(root, (e) => hasClass(e, "colorbar")).length, 1);
});

// ---- generic features and guarantees

test("text is escaped: <, & and quotes in titles, names and categories", () => {
  const evil = `a < b & "c" <script>alert('x')</script>`;
  const fig: Figure = {
    data: [
      { type: "bar", name: "<b>n&m</b>", x: ["<x>", "y&z"], y: [1, 2] },
      { type: "scatter", name: "it's", x: ["<x>", "y&z"], y: [2, 1] },
    ],
    layout: { title: { text: evil }, xaxis: { title: { text: "x < 1" } } },
  };
  const { svg, root } = render(fig);
  assert.ok(!svg.includes("<script"));
  assert.ok(svg.includes("&lt;script&gt;"));
  assert.ok(strings(root).includes("x < 1"));
  assert.ok(strings(root).includes("<x>"));
  // Control characters XML cannot carry are dropped, not emitted.
  assert.doesNotThrow(() => parseXml(figureSvg({ data: [], layout: { title: { text: "bell\u0007" } } })));
});

test("size: layout width/height, else 700×450; options override; data URI round-trips", () => {
  const fig: Figure = { data: [{ type: "scatter", x: [1, 2], y: [3, 4] }], layout: {} };
  assert.match(figureSvg(fig), /viewBox="0 0 700 450"/);
  assert.match(figureSvg({ ...fig, layout: { width: 500, height: 300 } }), /viewBox="0 0 500 300"/);
  assert.match(figureSvg(fig, { width: 900, height: 600 }), /viewBox="0 0 900 600"/);
  const uri = figureSvgDataUri(fig);
  assert.ok(uri.startsWith("data:image/svg+xml;base64,"));
  assert.equal(Buffer.from(uri.slice(uri.indexOf(",") + 1), "base64").toString("utf8"), figureSvg(fig));
  // Deterministic (notebooks must not change on re-run).
  assert.equal(figureSvg(fig), figureSvg(fig));
  // An empty figure still renders (Plotly's default axes).
  render({ data: [], layout: {} });
});

test("scatter modes, dashes, step shapes, gaps, horizontal bars, error bars, histogram, annotations, log axes", () => {
  const fig: Figure = {
    data: [
      { type: "scatter", mode: "lines", name: "dotted", x: [1, 2, 3, 4], y: [1, null, 3, 4], line: { dash: "dot", shape: "hv" } },
      { type: "scatter", mode: "markers+text", name: "labelled", x: [1, 2], y: [2, 3], text: ["p", "q"], marker: { color: ["red", "blue"], symbol: "square", size: 8 } },
      { type: "scatter", mode: "text", name: "words", x: [3], y: [1], text: ["only text"] },
      { type: "bar", name: "h", orientation: "h", x: [5, 7], y: ["u", "v"] as unknown as number[], xaxis: "x2", yaxis: "y2" } satisfies BarTrace,
      { type: "histogram", name: "hist", x: [1, 2, 2, 3, 3, 3, 4], xaxis: "x3", yaxis: "y3" },
    ],
    layout: {
      title: { text: "features<br>second line" },
      xaxis: { domain: [0, 0.3], type: "log" },
      xaxis2: { domain: [0.35, 0.65], anchor: "y2" },
      yaxis2: { anchor: "x2" },
      xaxis3: { domain: [0.7, 1], anchor: "y3" },
      yaxis3: { anchor: "x3", autorange: "reversed" },
      annotations: [{ text: "note", x: 2, y: 3, xref: "x", yref: "y", showarrow: true }],
    },
  };
  const svg = figureSvg(fig);
  const root = parseXml(svg);
  assert.ok(strings(root).includes("features second line"));
  const lines = all(root, (e) => e.name === "path" && hasClass(e, "line"));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].attrs["stroke-dasharray"], "3,3");
  // The null splits the line into two runs; hv steps are H/V segments.
  assert.equal((lines[0].attrs.d.match(/M/g) ?? []).length, 2);
  assert.match(lines[0].attrs.d, /H[\d.]+V/);
  const pts = groups(root, "points")[0];
  assert.deepEqual(all(pts, (e) => e.name === "rect").map((r) => r.attrs.fill), ["red", "blue"]);
  assert.ok(strings(root).includes("p") && strings(root).includes("only text"));
  assert.equal(count(groups(root, "bars"), "rect"), 2 + 4);
  const errs = parseXml(figureSvg({ data: [{ type: "bar", x: ["a", "b"], y: [3, 4], error_y: { type: "data", array: [0.5, 1], visible: true } }], layout: {} }));
  const e = all(errs, (el) => hasClass(el, "errors"));
  assert.equal(e.length, 1);
  assert.equal((e[0].attrs.d.match(/M/g) ?? []).length, 2 * 3); // per bar: the whisker and two caps
  assert.ok(strings(root).includes("note"));
  assert.ok(strings(root).includes("u") && strings(root).includes("v"));
  assert.equal(all(root, (e) => e.name === "clipPath").length, 3);
});

test("heatmap options: named and custom colour scales, zmin/zmax clamp, numeric axes, %{z} templates", () => {
  const base: HeatmapTrace = { type: "heatmap", z: [[0, 5], [10, null]], showscale: false };
  const fills = (t: HeatmapTrace): string[] => all(render({ data: [t], layout: {} }).root, (e) => e.name === "rect" && e.attrs.fill?.startsWith("#") && e.attrs.width === "1").map((r) => r.attrs.fill);
  assert.deepEqual(fills({ ...base, colorscale: "Greys" }), ["#000000", "#808080", "#ffffff"]);
  assert.deepEqual(fills({ ...base, colorscale: [[0, "#ff0000"], [1, "#0000ff"]], zmin: 0, zmax: 5 }), ["#ff0000", "#0000ff", "#0000ff"]);
  assert.deepEqual(fills({ ...base, colorscale: "RdBu", reversescale: true }), ["#b20a1c", "#bebebe", "#050aac"]);
  const withText = render({ data: [{ ...base, texttemplate: "%{z:.1f}", x: [10, 20], y: [1, 2] }], layout: {} }).root;
  assert.deepEqual(all(groups(withText, "cell-text")[0], (e) => e.name === "text").map(textOf), ["0.0", "5.0", "10.0"]);
  const t = fig1x1();
  assert.equal(count(groups(render(t).root, "cells"), "rect"), 1);
});

function fig1x1(): Figure {
  return { data: [{ type: "heatmap", z: [[1]], colorscale: "Blues" }], layout: { title: { text: "one" } } };
}

test("sizes stay small: 10×10 confusion matrix under 40 kB, learning curves under 15 kB", () => {
  const names = Array.from({ length: 10 }, (_, i) => `class ${i}`);
  const cm = names.map((_, i) => names.map((_, j) => (i === j ? 900 : (i * 3 + j) % 7)));
  assert.ok(figureSvg(confusionHeatmap(cm, { classNames: names })).length < 40_000);
  const loss = Array.from({ length: 30 }, (_, i) => 1 / (i + 1));
  assert.ok(figureSvg(learningCurves({ loss, val_loss: loss, acc: loss, val_acc: loss })).length < 15_000);
  const s = figureSvg({ data: [{ type: "scatter", x: [0.123456789], y: [1.987654321] } satisfies ScatterTrace], layout: {} });
  assert.ok(!/="-?\d+\.\d{2,}"/.test(s), "coordinates rounded to 0.1 px");
});
