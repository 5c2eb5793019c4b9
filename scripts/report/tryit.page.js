// The report's "try it" page: runs the saved `best` model with tfjs in the browser on a test image, a
// drawing or an uploaded photo; shows the top 3 classes, a Plotly bar chart of all ten probabilities and a
// saliency map (|d class score / d pixel|, the score being the top class's logit). Works from file://:
// the model, the gallery and the wasm binary come from script-loaded files (window.FMNIST_TRYIT,
// window.FMNIST_WASM_SIMD). window.fmnistTryIt exposes the state for tests.
(function () {
  "use strict";
  var S = 28;
  var N = S * S;
  var D = window.FMNIST_TRYIT;
  var tf = window.tf;
  var api = { ready: null, backend: null, last: null, error: null, classify: null };
  window.fmnistTryIt = api;
  var $ = function (id) { return document.getElementById(id); };
  var statusEl = $("tryit-status");
  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.className = "status" + (isError ? " error" : "");
  }

  // ---- The project's custom layers, inference only (same names, weights and numbers as lib's). ----
  function registerLayers() {
    var strip = function (cfg, keys) {
      var c = Object.assign({}, cfg || {});
      keys.forEach(function (k) { delete c[k]; });
      return c;
    };
    class FmnistBatchNorm extends tf.layers.Layer {
      constructor(cfg) {
        super(strip(cfg, ["momentum", "epsilon"]));
        this.momentum = cfg && cfg.momentum != null ? cfg.momentum : 0.99;
        this.epsilon = cfg && cfg.epsilon != null ? cfg.epsilon : 1e-3;
      }
      build(inputShape) {
        var shape = Array.isArray(inputShape[0]) ? inputShape[0] : inputShape;
        var c = shape[shape.length - 1];
        this.gamma = this.addWeight("gamma", [c], "float32", tf.initializers.ones());
        this.beta = this.addWeight("beta", [c], "float32", tf.initializers.zeros());
        this.movingMean = this.addWeight("moving_mean", [c], "float32", tf.initializers.zeros(), undefined, false);
        this.movingVariance = this.addWeight("moving_variance", [c], "float32", tf.initializers.ones(), undefined, false);
        this.built = true;
      }
      call(inputs) {
        var self = this;
        return tf.tidy(function () {
          var x = Array.isArray(inputs) ? inputs[0] : inputs;
          return tf.batchNorm(x, self.movingMean.read(), self.movingVariance.read(), self.beta.read(), self.gamma.read(), self.epsilon);
        });
      }
      computeOutputShape(s) { return s; }
      getConfig() { return Object.assign({}, super.getConfig(), { momentum: this.momentum, epsilon: this.epsilon }); }
    }
    FmnistBatchNorm.className = "FmnistBatchNorm";
    class FmnistPlainConv2D extends tf.layers.Layer {
      constructor(cfg) {
        super(strip(cfg, ["filters", "padding", "seed"]));
        this.filters = cfg.filters;
        this.padding = cfg.padding;
        this.seed = cfg.seed;
      }
      build(inputShape) {
        var shape = Array.isArray(inputShape[0]) ? inputShape[0] : inputShape;
        this.kernel = this.addWeight("kernel", [3, 3, shape[shape.length - 1], this.filters], "float32", tf.initializers.zeros());
        this.built = true;
      }
      call(inputs) {
        var self = this;
        return tf.tidy(function () {
          var x = Array.isArray(inputs) ? inputs[0] : inputs;
          return tf.conv2d(x, self.kernel.read(), 1, self.padding);
        });
      }
      computeOutputShape(inputShape) {
        var s = Array.isArray(inputShape[0]) ? inputShape[0] : inputShape;
        var shrink = this.padding === "valid" ? 2 : 0;
        return [s[0], s[1] == null ? null : s[1] - shrink, s[2] == null ? null : s[2] - shrink, this.filters];
      }
      getConfig() { return Object.assign({}, super.getConfig(), { filters: this.filters, padding: this.padding, seed: this.seed }); }
    }
    FmnistPlainConv2D.className = "FmnistPlainConv2D";
    class SeededDropout extends tf.layers.Layer {
      constructor(cfg) {
        super(strip(cfg, ["rate", "seed"]));
        this.rate = cfg.rate;
        this.seed = cfg.seed;
      }
      call(inputs) {
        var x = Array.isArray(inputs) ? inputs[0] : inputs;
        return tf.clone(x); // dropout is off at inference
      }
      computeOutputShape(s) { return s; }
      getConfig() { return Object.assign({}, super.getConfig(), { rate: this.rate, seed: this.seed }); }
    }
    SeededDropout.className = "SeededDropout";
    [FmnistBatchNorm, FmnistPlainConv2D, SeededDropout].forEach(function (c) { tf.serialization.registerClass(c); });
  }

  // ---- Backend: wasm (SIMD binary from a data: URL), else webgl, else cpu. ----
  async function pickBackend() {
    var tried = [];
    if (tf.wasm && window.FMNIST_WASM_SIMD_GZ) {
      try {
        var simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
        if (simd) {
          // Single-threaded: file:// pages have no SharedArrayBuffer, and only the SIMD binary is shipped.
          tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
          // tfjs fetches the binary: a data: URL is the one kind of URL a file:// page may fetch.
          var url = "data:application/wasm;base64," + bytesBase64(await gunzip(window.FMNIST_WASM_SIMD_GZ));
          tf.wasm.setWasmPaths({ "tfjs-backend-wasm.wasm": url, "tfjs-backend-wasm-simd.wasm": url, "tfjs-backend-wasm-threaded-simd.wasm": url }, true);
          if (await tf.setBackend("wasm")) { await tf.ready(); return { name: "wasm", detail: "wasm (SIMD, 1 thread)" }; }
          tried.push("wasm did not start");
        } else tried.push("no wasm SIMD in this browser");
      } catch (e) { tried.push("wasm: " + (e && e.message ? e.message : e)); }
    }
    var names = ["webgl", "cpu"];
    for (var i = 0; i < names.length; i++) {
      try {
        if (await tf.setBackend(names[i])) { await tf.ready(); return { name: names[i], detail: names[i] + " (fallback: " + tried.join("; ") + ")" }; }
      } catch (e) { /* try the next one */ }
      tried.push(names[i] + " did not start");
    }
    throw new Error("no tfjs backend could start: " + tried.join("; "));
  }

  function bytesBase64(bytes) {
    var parts = [];
    for (var i = 0; i < bytes.length; i += 0x8000) parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)));
    return btoa(parts.join(""));
  }

  /** Base64 of gzipped bytes → the bytes (the browser's own DecompressionStream: nothing is fetched). */
  async function gunzip(b64) {
    if (typeof DecompressionStream === "undefined") throw new Error("this browser has no DecompressionStream (gzip): use a recent Chrome, Edge, Firefox or Safari");
    var stream = new Blob([base64Bytes(b64)]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  function base64Bytes(b64) {
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // ---- Model, predictions and saliency ----
  var model = null;
  var lastLayer = null;
  var dense = null;

  /** The top class's logit (the last Dense layer without its softmax) as a function of the input. */
  function logits(x) {
    var h = x;
    for (var i = 0; i < model.layers.length - 1; i++) {
      if (model.layers[i].getClassName() !== "InputLayer") h = model.layers[i].apply(h);
    }
    return tf.add(tf.matMul(h, dense.kernel), dense.bias);
  }

  /** Probabilities (model.predict, as in Node) and the saliency map of the top class for 784 pixels in [0, 1]. */
  function analyse(pixels) {
    var x = tf.tensor4d(pixels, [1, S, S, 1], "float32");
    try {
      var p = model.predict(x);
      var probs = Array.from(p.dataSync());
      p.dispose();
      var top = 0;
      for (var c = 1; c < probs.length; c++) if (probs[c] > probs[top]) top = c;
      var g = tf.tidy(function () {
        var mask = tf.oneHot(tf.tensor1d([top], "int32"), probs.length).toFloat();
        var grad = tf.grad(function (inp) { return tf.sum(tf.mul(logits(inp), mask)); })(x);
        var a = tf.abs(grad).reshape([N]);
        var m = tf.max(a);
        return tf.div(a, tf.maximum(m, 1e-12));
      });
      var saliency = Array.from(g.dataSync());
      g.dispose();
      return { probs: probs, top: top, saliency: saliency };
    } finally {
      x.dispose();
    }
  }

  // ---- Output ----
  var chartDrawn = false;
  function drawGrey(canvas, pixels, overlay) {
    var small = document.createElement("canvas");
    small.width = S;
    small.height = S;
    var ctx = small.getContext("2d");
    var img = ctx.createImageData(S, S);
    for (var i = 0; i < N; i++) {
      var v = Math.round(255 * pixels[i]);
      var r = v, gr = v, b = v;
      if (overlay) {
        var s = overlay[i];
        // Dimmed input in grey, saliency in red → yellow on top.
        r = Math.min(255, Math.round(0.35 * v + 255 * Math.min(1, 1.6 * s)));
        gr = Math.min(255, Math.round(0.35 * v + 255 * Math.max(0, 1.6 * s - 0.6)));
        b = Math.round(0.35 * v);
      }
      img.data[4 * i] = r;
      img.data[4 * i + 1] = gr;
      img.data[4 * i + 2] = b;
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    var out = canvas.getContext("2d");
    out.imageSmoothingEnabled = false;
    out.clearRect(0, 0, canvas.width, canvas.height);
    out.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  function show(result, pixels, source, line) {
    var names = D.classNames;
    var order = result.probs.map(function (p, c) { return c; }).sort(function (a, b) { return result.probs[b] - result.probs[a]; });
    var top3 = order.slice(0, 3).map(function (c) { return { cls: c, name: names[c], p: result.probs[c] }; });
    $("top3").innerHTML = "";
    top3.forEach(function (t) {
      var li = document.createElement("li");
      li.textContent = t.name + " — " + (100 * t.p).toFixed(2) + "%";
      $("top3").appendChild(li);
    });
    drawGrey($("input-view"), pixels, null);
    drawGrey($("saliency-view"), pixels, result.saliency);
    $("source-line").textContent = line;
    if (window.Plotly) {
      var fig = [{
        type: "bar", x: names.slice(), y: result.probs,
        marker: { color: result.probs.map(function (p, c) { return c === result.top ? "#0969da" : "#8c959f"; }) },
        hovertemplate: "%{x}: %{y:.4f}<extra></extra>",
      }];
      var layout = { margin: { t: 10, b: 90, l: 50, r: 10 }, yaxis: { range: [0, 1], title: { text: "probability" } }, height: 320 };
      if (chartDrawn) window.Plotly.react("probs-chart", fig, layout, { displaylogo: false, responsive: true });
      else { window.Plotly.newPlot("probs-chart", fig, layout, { displaylogo: false, responsive: true }); chartDrawn = true; }
    }
    api.last = { source: source, probs: result.probs, top3: top3, saliency: result.saliency, input: Array.from(pixels), line: line };
  }

  function classify(pixels, source, line) {
    var result = analyse(pixels);
    show(result, pixels, source, line);
    return result;
  }

  // ---- Gallery ----
  var gal = D.gallery;
  var galPixels = base64Bytes(gal.pixels);
  function galleryImage(pos) {
    var px = new Float32Array(N);
    for (var i = 0; i < N; i++) px[i] = galPixels[pos * N + i] / 255;
    return px;
  }
  function pickGallery(pos) {
    var px = galleryImage(pos);
    var names = D.classNames;
    var result = analyse(px);
    var node = gal.nodeProbs[pos];
    var diff = 0;
    for (var c = 0; c < node.length; c++) diff = Math.max(diff, Math.abs(node[c] - result.probs[c]));
    var line = "Test image #" + gal.indices[pos] + " (true class: " + names[gal.labels[pos]] + "). Node predicted " + names[gal.nodeClass[pos]] +
      " when this report was built; this page's probabilities differ from Node's by at most " + diff.toExponential(1) + ".";
    show(result, px, "gallery", line);
    api.last.testIndex = gal.indices[pos];
    api.last.galleryPos = pos;
    var thumbs = $("gallery").querySelectorAll("canvas");
    for (var t = 0; t < thumbs.length; t++) thumbs[t].classList.toggle("selected", Number(thumbs[t].getAttribute("data-pos")) === pos);
  }
  function fillGallery(positions, caption) {
    var box = $("gallery");
    box.innerHTML = "";
    positions.forEach(function (pos) {
      var c = document.createElement("canvas");
      c.width = S;
      c.height = S;
      c.setAttribute("data-pos", String(pos));
      c.setAttribute("data-test-index", String(gal.indices[pos]));
      var wrong = gal.nodeClass[pos] !== gal.labels[pos];
      if (wrong) c.className = "wrong";
      c.title = "#" + gal.indices[pos] + ": " + D.classNames[gal.labels[pos]] + (wrong ? " → predicted " + D.classNames[gal.nodeClass[pos]] : "");
      var px = galleryImage(pos);
      var ctx = c.getContext("2d");
      var img = ctx.createImageData(S, S);
      for (var i = 0; i < N; i++) {
        var v = Math.round(255 * px[i]);
        img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
        img.data[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      c.addEventListener("click", function () { pickGallery(pos); });
      box.appendChild(c);
    });
    $("gallery-caption").textContent = caption;
  }
  var allPositions = gal.indices.map(function (_, i) { return i; });
  function showClass(c) {
    var pos = allPositions.filter(function (p) { return gal.labels[p] === c && gal.mistakes.indexOf(p) < 0; });
    fillGallery(pos, pos.length + " test images of class " + D.classNames[c] + " (click one)");
  }
  function showMistakes() {
    fillGallery(gal.mistakes, "The model's " + gal.mistakes.length + " most confident mistakes (of " + gal.mistakeCount + " among " +
      D.provenance.testImages + " test images); hover for true → predicted, click to see why");
  }

  // ---- Drawing and uploads: crop to the item, scale to fit 28×28, centre by mass ----
  /** Weights of an area-average resampling of n source cells onto m target cells. */
  function boxWeights(n, m) {
    var out = [];
    var scale = n / m;
    for (var j = 0; j < m; j++) {
      var a = j * scale, b = (j + 1) * scale, w = [];
      for (var i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
        var overlap = Math.min(b, i + 1) - Math.max(a, i);
        if (overlap > 1e-9) w.push([i, overlap / scale]);
      }
      out.push(w);
    }
    return out;
  }

  /** White-on-black grey levels (w × h, 0–1) → the 28×28 model input, or null when empty. */
  function toModelInput(grey, w, h) {
    var max = 0;
    for (var i = 0; i < grey.length; i++) if (grey[i] > max) max = grey[i];
    if (max <= 0) return null;
    var thr = 0.05 * max, x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (var y = 0; y < h; y++) for (var x = 0; x < w; x++) if (grey[y * w + x] > thr) {
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
    var bw = x1 - x0 + 1, bh = y1 - y0 + 1, s = S / Math.max(bw, bh);
    var tw = Math.max(1, Math.min(S, Math.round(bw * s))), th = Math.max(1, Math.min(S, Math.round(bh * s)));
    var wx = boxWeights(bw, tw), wy = boxWeights(bh, th);
    var rowsOut = new Float32Array(bh * tw);
    for (var yy = 0; yy < bh; yy++) for (var tx = 0; tx < tw; tx++) {
      var acc = 0;
      wx[tx].forEach(function (p) { acc += p[1] * grey[(y0 + yy) * w + x0 + p[0]]; });
      rowsOut[yy * tw + tx] = acc;
    }
    var small = new Float32Array(th * tw), mass = 0, mx = 0, my = 0, smax = 0;
    for (var ty = 0; ty < th; ty++) for (var tx2 = 0; tx2 < tw; tx2++) {
      var acc2 = 0;
      wy[ty].forEach(function (p) { acc2 += p[1] * rowsOut[p[0] * tw + tx2]; });
      small[ty * tw + tx2] = acc2;
      mass += acc2; mx += acc2 * (tx2 + 0.5); my += acc2 * (ty + 0.5);
      if (acc2 > smax) smax = acc2;
    }
    var clamp = function (v, lo, hi) { return Math.max(lo, Math.min(hi, v)); };
    var ox = clamp(Math.round(S / 2 - mx / mass), 0, S - tw), oy = clamp(Math.round(S / 2 - my / mass), 0, S - th);
    var out = new Float32Array(N);
    for (var py = 0; py < th; py++) for (var qx = 0; qx < tw; qx++) out[(oy + py) * S + ox + qx] = Math.min(1, small[py * tw + qx] / smax);
    return out;
  }

  var draw = $("draw");
  var dctx = draw.getContext("2d");
  function clearDrawing() {
    dctx.fillStyle = "#000";
    dctx.fillRect(0, 0, draw.width, draw.height);
  }
  var drawing = false, lastPt = null, scheduled = false;
  function drawingInput() {
    var img = dctx.getImageData(0, 0, draw.width, draw.height).data;
    var grey = new Float32Array(draw.width * draw.height);
    for (var i = 0; i < grey.length; i++) grey[i] = img[4 * i] / 255;
    return toModelInput(grey, draw.width, draw.height);
  }
  function classifyDrawing() {
    scheduled = false;
    var px = drawingInput();
    if (!px) return;
    classify(px, "draw", "Your drawing, cropped, scaled to fit and centred by mass.");
  }
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(classifyDrawing);
  }
  function point(e) {
    var r = draw.getBoundingClientRect();
    return { x: (e.clientX - r.left) * draw.width / r.width, y: (e.clientY - r.top) * draw.height / r.height };
  }
  function stroke(a, b) {
    dctx.strokeStyle = "#fff";
    dctx.fillStyle = "#fff";
    dctx.lineWidth = 18;
    dctx.lineCap = "round";
    dctx.lineJoin = "round";
    dctx.beginPath();
    dctx.moveTo(a.x, a.y);
    dctx.lineTo(b.x, b.y);
    dctx.stroke();
  }

  function uploadInput(bitmap) {
    var scale = Math.min(1, 280 / Math.max(bitmap.width, bitmap.height));
    var w = Math.max(1, Math.round(bitmap.width * scale)), h = Math.max(1, Math.round(bitmap.height * scale));
    var c = document.createElement("canvas");
    c.width = w;
    c.height = h;
    var ctx = c.getContext("2d");
    ctx.fillStyle = "#fff"; // transparent areas count as a light background
    ctx.fillRect(0, 0, w, h);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, w, h);
    var d = ctx.getImageData(0, 0, w, h).data;
    var grey = new Float32Array(w * h);
    for (var i = 0; i < grey.length; i++) grey[i] = (0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2]) / 255;
    // Background level: the median of the border pixels; a light one is inverted to dark.
    var border = [];
    for (var x = 0; x < w; x++) { border.push(grey[x]); border.push(grey[(h - 1) * w + x]); }
    for (var y = 0; y < h; y++) { border.push(grey[y * w]); border.push(grey[y * w + w - 1]); }
    border.sort(function (a, b) { return a - b; });
    var bg = border[Math.floor(border.length / 2)];
    var invert = bg > 0.5;
    if (invert) bg = 1 - bg;
    for (var k = 0; k < grey.length; k++) {
      var v = invert ? 1 - grey[k] : grey[k];
      grey[k] = bg < 1 ? Math.max(0, (v - bg) / (1 - bg)) : 0;
    }
    return { pixels: toModelInput(grey, w, h), inverted: invert, width: bitmap.width, height: bitmap.height };
  }

  async function onUpload(file) {
    try {
      var bitmap = await createImageBitmap(file);
      var r = uploadInput(bitmap);
      if (!r.pixels) { setStatus("The uploaded image is empty after removing its background."); return; }
      classify(r.pixels, "upload", "Uploaded " + file.name + " (" + r.width + "×" + r.height + ")" + (r.inverted ? ", inverted (light background)" : "") + ", cropped and resized to 28×28.");
    } catch (e) {
      setStatus("Could not read " + file.name + " as an image: " + (e && e.message ? e.message : e), true);
    }
  }

  function wireUp() {
    clearDrawing();
    draw.addEventListener("pointerdown", function (e) {
      drawing = true;
      lastPt = point(e);
      if (draw.setPointerCapture) draw.setPointerCapture(e.pointerId);
      stroke(lastPt, lastPt);
      schedule();
      e.preventDefault();
    });
    draw.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      var p = point(e);
      stroke(lastPt, p);
      lastPt = p;
      schedule();
      e.preventDefault();
    });
    var end = function () { if (drawing) { drawing = false; schedule(); } };
    draw.addEventListener("pointerup", end);
    draw.addEventListener("pointercancel", end);
    $("clear-drawing").addEventListener("click", clearDrawing);
    $("random-image").addEventListener("click", function () {
      var pos = Math.floor(Math.random() * gal.indices.length);
      $("class-filter").value = "";
      fillGallery(allPositions, "All " + allPositions.length + " gallery images; a random one picked");
      pickGallery(pos);
      var thumb = $("gallery").querySelector('canvas[data-pos="' + pos + '"]');
      if (thumb && thumb.scrollIntoView) thumb.scrollIntoView({ block: "nearest" });
    });
    $("class-filter").addEventListener("change", function (e) {
      var v = e.target.value;
      if (v === "") fillGallery(allPositions, "All " + allPositions.length + " gallery images");
      else showClass(Number(v));
    });
    $("show-mistakes").addEventListener("click", showMistakes);
    $("upload").addEventListener("change", function (e) {
      var f = e.target.files && e.target.files[0];
      if (f) onUpload(f);
    });
  }

  async function start() {
    if (!D || !tf) throw new Error("the page's scripts did not load (" + (!tf ? "assets/tf.min.js" : "tryit-model.js") + " missing?)");
    registerLayers();
    var backend = await pickBackend();
    api.backend = backend.name;
    $("backend").textContent = backend.detail;
    var weights = await gunzip(D.model.weights);
    if (weights.byteLength !== D.model.weightBytes) throw new Error("the embedded weights are damaged (" + weights.byteLength + " bytes, expected " + D.model.weightBytes + ")");
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: D.model.topology, weightSpecs: D.model.weightSpecs, weightData: weights.buffer }));
    lastLayer = model.layers[model.layers.length - 1];
    var w = lastLayer.getWeights();
    dense = { kernel: w[0], bias: w[1] };
    api.classify = function (pixels) { return analyse(Float32Array.from(pixels)); };
    wireUp();
    fillGallery(allPositions, "All " + allPositions.length + " gallery images: a few of each class, then the model's most confident mistakes (red outline). Click one.");
    pickGallery(0);
    setStatus("Model loaded: " + model.countParams().toLocaleString("en-US") + " parameters, running on " + backend.detail + ".");
  }

  api.ready = start().catch(function (e) {
    api.error = String(e && e.message ? e.message : e);
    setStatus("The model could not start: " + api.error, true);
    console.error("try-it page: " + api.error);
    throw e;
  });
})();
