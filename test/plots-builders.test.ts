// Figure builders: trace types and counts, axes, titles and data shapes/values of each spec.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import {
  classDistribution, confusionHeatmap, imageGrid, intensityHistogram, learningCurves,
  matrixHeatmap, meanImageFigure, modelComparison, parallelCoordinates, perClassMetricBars,
  predictionGrid, sampleGrid, type HeatmapTrace, type ImageTrace, type ScatterTrace, type BarTrace,
} from "../lib/src/plots/index";
import { closestPairs, histogramCounts, imageStatistics, meanImagesByClass, pairwiseDistances } from "../lib/src/stats";

/** Decodes our greyscale PNG data URIs independently (chunk walk + inflate + filter-0 rows). */
function decodePngUri(uri: string): { width: number; height: number; pixels: number[] } {
  assert.ok(uri.startsWith("data:image/png;base64,"));
  const buf = Buffer.from(uri.slice("data:image/png;base64,".length), "base64");
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let off = 8;
  let width = 0, height = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("ascii", off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") { width = data.readUInt32BE(0); height = data.readUInt32BE(4); assert.equal(data[8], 8); assert.equal(data[9], 0); }
    if (type === "IDAT") idat.push(data);
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const pixels: number[] = [];
  for (let r = 0; r < height; r++) {
    assert.equal(raw[r * (width + 1)], 0);
    pixels.push(...raw.subarray(r * (width + 1) + 1, (r + 1) * (width + 1)));
  }
  return { width, height, pixels };
}

/** A tiny 2×2-pixel, 3-class set: class c has every pixel = 10*(c+1) + image number. */
function tinySet() {
  const labels = Uint8Array.from([0, 1, 2, 0, 1, 2]);
  const images = new Uint8Array(6 * 4);
  labels.forEach((y, i) => images.fill(10 * (y + 1) + i, i * 4, i * 4 + 4));
  return { images, labels, rows: 2, cols: 2 };
}

test("imageGrid: one greyscale heatmap per image, reversed, equal aspect, no ticks, titles", () => {
  const imgs = [Uint8Array.from([0, 255, 128, 0]), Uint8Array.from([1, 2, 3, 4]), Uint8Array.from([9, 9, 9, 9])];
  const fig = imageGrid({ images: imgs, titles: ["a", "b", "c"], columns: 2, rows: 2, cols: 2, title: "grid", encoding: "heatmap" });
  assert.equal(fig.data.length, 3);
  const t = fig.data as HeatmapTrace[];
  assert.ok(t.every((d) => d.type === "heatmap" && d.colorscale === "Greys" && d.reversescale === true && d.showscale === false));
  assert.deepEqual(t[0].z, [[0, 255], [128, 0]]);
  assert.deepEqual([t[0].xaxis, t[1].xaxis, t[2].xaxis], ["x", "x2", "x3"]);
  assert.equal(t[0].zmax, 255);
  assert.equal(fig.layout.title?.text, "grid");
  assert.deepEqual(fig.layout.annotations?.map((a) => a.text), ["a", "b", "c"]);
  assert.equal(fig.layout.yaxis?.autorange, "reversed");
  assert.equal(fig.layout.yaxis2?.scaleanchor, "x2");
  assert.equal(fig.layout.xaxis3?.showticklabels, false);
  // 2 columns → image 3 starts the second row: same x domain as image 1, lower y domain.
  assert.deepEqual(fig.layout.xaxis3?.domain, fig.layout.xaxis?.domain);
  assert.ok(fig.layout.yaxis3!.domain![1] < fig.layout.yaxis!.domain![0]);
  assert.throws(() => imageGrid({ images: imgs, titles: ["a"] }), /3 images but 1 titles/);
  assert.throws(() => imageGrid({ images: [Uint8Array.from([1, 2, 3])] }), /expected 28×28/);
  // Float images in [0,1] scale to zmax 1.
  assert.equal((imageGrid({ images: [Float32Array.from([0, 0.5, 1, 0.25])], rows: 2, cols: 2, encoding: "heatmap" }).data[0] as HeatmapTrace).zmax, 1);
});

test("imageGrid default encoding: one PNG image trace per image, 0 white and max black", () => {
  const fig = imageGrid({ images: [Uint8Array.from([0, 255, 128, 0, 10, 20]), Float32Array.from([0, 1, 0.5, 0.25, 1, 0])], rows: 2, cols: 3 });
  assert.deepEqual(fig.data.map((d) => d.type), ["image", "image"]);
  const a = decodePngUri((fig.data[0] as ImageTrace).source);
  assert.deepEqual([a.width, a.height], [3, 2]);
  assert.deepEqual(a.pixels, [255, 0, 127, 255, 245, 235]);
  // Float images scale by the set's maximum (255 here, since the first image has bytes > 1).
  const b = decodePngUri((fig.data[1] as ImageTrace).source);
  assert.deepEqual(b.pixels, [255, 254, 254, 255, 254, 255]);
  const f = decodePngUri((imageGrid({ images: [Float32Array.from([0, 1, 0.5, 0.25])], rows: 2, cols: 2 }).data[0] as ImageTrace).source);
  assert.deepEqual(f.pixels, [255, 0, 127, 191]);
  assert.equal(fig.layout.yaxis2?.scaleanchor, "x2");
});

test("sampleGrid picks perClass images of each class in class order", () => {
  const fig = sampleGrid(tinySet(), 2, { classNames: ["A", "B", "C"] });
  assert.equal(fig.data.length, 6);
  assert.deepEqual(fig.data.map((d) => d.name), ["A", "A", "B", "B", "C", "C"]);
  assert.deepEqual(decodePngUri((fig.data[1] as ImageTrace).source).pixels, [13, 13, 13, 13].map((v) => 255 - v));
});

test("predictionGrid marks wrong predictions in red", () => {
  const img = new Uint8Array(4);
  const fig = predictionGrid({ images: [img, img, img], trueLabels: [0, 1, 2], predicted: [0, 2, 2], classNames: ["A", "B", "C"], rows: 2, cols: 2 });
  const ann = fig.layout.annotations!;
  assert.deepEqual(ann.map((a) => a.font?.color === "#d62728"), [false, true, false]);
  assert.equal(ann[1].text, "B → C");
  assert.match(fig.layout.title!.text, /1 of 3 wrong/);
  assert.throws(() => predictionGrid({ images: [img], trueLabels: [0, 1], predicted: [0] }), /lengths must match/);
});

test("meanImagesByClass and meanImageFigure", () => {
  const set = tinySet();
  const means = meanImagesByClass(set, 3);
  // class 0 = images 0 and 3: values 10 and 13 → mean 11.5
  assert.deepEqual([...means[0]], [11.5, 11.5, 11.5, 11.5]);
  assert.deepEqual([...means[2]], [33.5, 33.5, 33.5, 33.5]);
  const fig = meanImageFigure(means, { classNames: ["A", "B", "C"], rows: 2, cols: 2 });
  assert.equal(fig.data.length, 3);
  assert.ok(fig.data.every((d) => d.type === "image"));
  assert.throws(() => meanImagesByClass(set, 4), /class 3 has no images/);
});

test("imageStatistics, pairwiseDistances, closestPairs, histogramCounts", () => {
  const s = imageStatistics({ images: Uint8Array.from([0, 0, 4, 4, 1, 1, 1, 1]), labels: Uint8Array.from([3, 5]), rows: 2, cols: 2 });
  assert.deepEqual(s.label, [3, 5]);
  assert.deepEqual(s.meanIntensity, [2, 1]);
  assert.deepEqual(s.stdIntensity, [2, 0]);
  assert.deepEqual(s.inkFraction, [0.5, 1]);
  assert.deepEqual(s.maxIntensity, [4, 1]);
  const d = pairwiseDistances([[0, 0], [3, 4], [0, 1]]);
  assert.deepEqual(d, [[0, 5, 1], [5, 0, Math.sqrt(18)], [1, Math.sqrt(18), 0]]);
  assert.deepEqual(closestPairs(d, 2), [{ a: 0, b: 2, distance: 1 }, { a: 1, b: 2, distance: Math.sqrt(18) }]);
  assert.deepEqual(histogramCounts([0, 1, 2, 3, 4], 2, 0, 4).counts, [2, 3]);
});

test("classDistribution: grouped bars, one trace per split, class names on x", () => {
  const fig = classDistribution({ train: [3, 1], validation: [1, 1], test: [2, 2] }, { classNames: ["A", "B"] });
  assert.equal(fig.layout.barmode, "group");
  assert.deepEqual(fig.data.map((d) => d.type), ["bar", "bar", "bar"]);
  assert.deepEqual(fig.data.map((d) => d.name), ["train (4)", "validation (2)", "test (4)"]);
  assert.deepEqual((fig.data[0] as BarTrace).x, ["A", "B"]);
  assert.deepEqual((fig.data[0] as BarTrace).y, [3, 1]);
  assert.equal(fig.layout.yaxis?.title?.text, "images");
  const norm = classDistribution({ train: [3, 1] }, { classNames: ["A", "B"], normalize: true });
  assert.deepEqual((norm.data[0] as BarTrace).y, [0.75, 0.25]);
  assert.throws(() => classDistribution({ train: [1] }, { classNames: ["A", "B"] }), /1 counts for 2 classes/);
});

test("intensityHistogram: overall bars sum to 1; per class one line per class", () => {
  const set = tinySet();
  const all = intensityHistogram(set, { bins: 8, classNames: ["A", "B", "C"] });
  assert.equal(all.data.length, 1);
  assert.equal(all.data[0].type, "bar");
  const y = (all.data[0] as BarTrace).y;
  assert.equal(y.length, 8);
  assert.ok(Math.abs(y.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  const per = intensityHistogram(set, { bins: 8, byClass: true, classNames: ["A", "B", "C"] });
  assert.deepEqual(per.data.map((d) => d.name), ["A", "B", "C"]);
  assert.ok(per.data.every((d) => d.type === "scatter"));
  assert.match(per.layout.xaxis!.title!.text, /pixel value/);
});

test("learningCurves: loss and accuracy panels, train vs validation", () => {
  const h = { loss: [1, 0.5, 0.4], val_loss: [1.1, 0.7, 0.6], acc: [0.6, 0.8, 0.85], val_acc: [0.55, 0.75, 0.8] };
  const fig = learningCurves(h, { title: "t" });
  const d = fig.data as ScatterTrace[];
  assert.equal(d.length, 4);
  assert.deepEqual(d.map((t) => [t.name, t.xaxis, t.yaxis]), [["train", "x", "y"], ["validation", "x", "y"], ["train", "x2", "y2"], ["validation", "x2", "y2"]]);
  assert.deepEqual(d[0].x, [1, 2, 3]);
  assert.deepEqual(d[3].y, [0.55, 0.75, 0.8]);
  assert.equal(fig.layout.yaxis?.title?.text, "loss");
  assert.equal(fig.layout.yaxis2?.title?.text, "accuracy");
  assert.equal(fig.layout.xaxis?.title?.text, "epoch");
  assert.equal(fig.layout.title?.text, "t");
  assert.equal(learningCurves({ loss: [1], acc: [0.5] }).data.length, 2);
  assert.equal(learningCurves({ ...h, bestEpoch: 2, restoredBest: true }).layout.shapes?.length, 2);
  assert.throws(() => learningCurves({ loss: [], acc: [] }), /no finished epoch/);
});

test("confusionHeatmap: counts and row-normalised panels with class names and cell text", () => {
  const m = [[8, 2], [1, 3]];
  const fig = confusionHeatmap(m, { classNames: ["A", "B"] });
  const d = fig.data as HeatmapTrace[];
  assert.equal(d.length, 2);
  assert.deepEqual(d[0].z, m);
  assert.deepEqual(d[1].z, [[0.8, 0.2], [0.25, 0.75]]);
  assert.deepEqual(d[0].x, ["A", "B"]);
  assert.deepEqual(d[0].text, [["8", "2"], ["1", "3"]]);
  assert.equal(d[0].texttemplate, "%{text}");
  assert.equal(fig.layout.yaxis?.title?.text, "true");
  assert.equal(fig.layout.xaxis?.title?.text, "predicted");
  assert.equal(fig.layout.yaxis?.autorange, "reversed");
  assert.equal(confusionHeatmap(m, { classNames: ["A", "B"], only: "counts" }).data.length, 1);
  assert.throws(() => confusionHeatmap([[1]], { classNames: ["A", "B"] }), /2×2/);
});

test("perClassMetricBars, matrixHeatmap, modelComparison, parallelCoordinates", () => {
  const bars = perClassMetricBars([{ label: "A", precision: 0.9, recall: 0.8, f1: 0.85 }, { label: "B", precision: 0.7, recall: 0.6, f1: 0.65 }]);
  assert.deepEqual(bars.data.map((d) => d.name), ["precision", "recall", "F1"]);
  assert.deepEqual((bars.data[1] as BarTrace).y, [0.8, 0.6]);
  assert.equal(bars.layout.barmode, "group");

  const mh = matrixHeatmap([[0, 2.5], [2.5, 0]], { labels: ["A", "B"], digits: 1 });
  assert.deepEqual((mh.data[0] as HeatmapTrace).text, [["0.0", "2.5"], ["2.5", "0.0"]]);

  const mc = modelComparison([{ model: "m1", valAcc: 0.9, testAcc: 0.89, reported: 0.91 }, { model: "m2", valAcc: 0.8, testAcc: 0.79 }]);
  assert.deepEqual(mc.data.map((d) => d.type), ["bar", "bar", "scatter"]);
  assert.deepEqual((mc.data[1] as BarTrace).y, [0.89, 0.79]);
  assert.deepEqual((mc.data[2] as ScatterTrace).x, ["m1"]);
  assert.equal(mc.layout.yaxis?.title?.text, "accuracy");

  const pc = parallelCoordinates([{ lr: 0.001, opt: "adam", score: 0.9 }, { lr: 0.01, opt: "sgd", score: 0.8 }]);
  const tr = pc.data[0];
  assert.equal(tr.type, "parcoords");
  if (tr.type !== "parcoords") return;
  assert.deepEqual(tr.dimensions.map((d) => d.label), ["lr", "opt", "score"]);
  assert.deepEqual(tr.dimensions[1].ticktext, ["adam", "sgd"]);
  assert.deepEqual(tr.dimensions[1].values, [0, 1]);
  assert.deepEqual(tr.line?.color, [0.9, 0.8]);
  assert.throws(() => parallelCoordinates([{ lr: 1 }]), /no numeric "score"/);
});
