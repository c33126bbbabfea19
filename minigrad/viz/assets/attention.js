// minigrad.viz.attention_view: the attention explorer, drawn from the data in the page.
//
// One copy of this script per view, run inside its own function: it adds nothing to the
// page's globals and touches only the elements under its own root (an id no other view has),
// so several views on one page (a notebook) never interfere.  It fetches nothing.
//
// The data (minigrad/viz/attention.py): per set of maps, the tokens, and the weights as 8-bit
// codes q with one scale per row: w = q * scale / 255 (scale = the row's largest weight).  A
// causal map stores row i's first i + 1 entries only.
(function () {
  "use strict";
  var ROOT_ID = "__ROOT_ID__";
  var root = document.getElementById(ROOT_ID);
  var dataNode = document.getElementById(ROOT_ID + "-data");
  if (!root || !dataNode || root.getAttribute("data-ready")) return;
  var data = JSON.parse(dataNode.textContent);
  var FONT = window.getComputedStyle(root).fontFamily || "sans-serif";
  var MIN_LINE = 1 / 512;          // lighter lines are not drawn (invisible anyway)
  var MAX_LINES = 12000;           // with no token hovered, at most this many (the strongest)
  var HIDDEN = [236, 236, 236];    // a cell a causal query cannot see

  // --- small helpers ----------------------------------------------------------------------
  function mark(what) {              // performance marks, for measuring the opening time
    if (window.performance && performance.mark) performance.mark(ROOT_ID + ":" + what);
  }
  function el(tag, cls, parent, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function bytesOf(b64) {
    var s = window.atob(b64), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function floatsOf(b64) {
    var bytes = bytesOf(b64), view = new DataView(bytes.buffer), n = bytes.length / 4;
    var out = new Float32Array(n);
    for (var i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  function headColour(h) {          // well-separated hues, the same for head h everywhere
    var hue = (h * 137.508 + 210) % 360;
    return hslToRgb(hue / 360, 0.68, 0.45);
  }
  function hslToRgb(h, s, l) {
    function f(n) {
      var k = (n + h * 12) % 12, a = s * Math.min(l, 1 - l);
      return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
    }
    return [f(0), f(8), f(4)];
  }
  function rgb(c, alpha) {
    return alpha === undefined ? "rgb(" + c.join(",") + ")" : "rgba(" + c.join(",") + "," + alpha + ")";
  }
  // viridis, from nine stops
  var STOPS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
               [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];
  var LUT = new Uint8Array(256 * 3);
  for (var k = 0; k < 256; k++) {
    var t = k / 255 * (STOPS.length - 1), i0 = Math.min(STOPS.length - 2, Math.floor(t)), f = t - i0;
    for (var c = 0; c < 3; c++) LUT[3 * k + c] = Math.round(STOPS[i0][c] * (1 - f) + STOPS[i0 + 1][c] * f);
  }
  function colourAt(x) {            // x in [0, 1] -> [r, g, b]
    var k = Math.max(0, Math.min(255, Math.round(x * 255)));
    return [LUT[3 * k], LUT[3 * k + 1], LUT[3 * k + 2]];
  }
  function fmt(v) { return v.toFixed(4); }

  // --- the maps ---------------------------------------------------------------------------
  function prepare(set) {
    set.qb = bytesOf(set.q);
    set.sc = floatsOf(set.scales);
    set.L = set.layers.length;
    set.H = set.heads.length;
    set.mapSize = set.causal ? set.T * (set.T + 1) / 2 : set.T * set.S;
    set.rowStart = new Int32Array(set.T);
    for (var i = 0; i < set.T; i++) set.rowStart[i] = set.causal ? i * (i + 1) / 2 : i * set.S;
    set.mapMax = new Float32Array(set.L * set.H);
    for (var m = 0; m < set.L * set.H; m++) {
      var best = 0;
      for (var r = 0; r < set.T; r++) best = Math.max(best, set.sc[m * set.T + r]);
      set.mapMax[m] = best;
    }
    return set;
  }
  function rowLength(set, i) { return set.causal ? i + 1 : set.S; }
  function value(set, l, h, i, j) {  // the weight query i gives key j (null: it cannot see j)
    if (set.causal && j > i) return null;
    var m = l * set.H + h;
    return set.qb[m * set.mapSize + set.rowStart[i] + j] * set.sc[m * set.T + i] / 255;
  }

  mark("parsed");
  var sets = data.sets.map(prepare);
  mark("decoded");
  var state = { set: 0, layer: 0, heads: [], focus: 0, scale: "one", hover: null };

  function current() { return sets[state.set]; }
  function defaultHeads(set) {
    var all = [];
    for (var h = 0; h < set.H; h++) all.push(h);
    return set.H * set.T * set.S <= 50000 ? all : [0];     // 12 heads up to 64 tokens
  }
  function vmax(set, l, h) {
    return state.scale === "one" ? 1 : Math.max(set.mapMax[l * set.H + h], 1e-12);
  }

  // --- the page's parts -------------------------------------------------------------------
  root.textContent = "";
  if (data.title) el("div", "mg-title", root, data.title);
  var controls = el("div", "mg-controls", root);
  var notes = el("div", "mg-notes", root);
  var main = el("div", "mg-main", root);
  var gridBox = el("div", "mg-gridbox", main);
  el("div", "mg-section-title", gridBox, "layers × heads (click one to open it)");
  var grid = el("div", "mg-grid", gridBox);
  var headBox = el("div", "mg-headview", main);
  var headTitle = el("div", "mg-section-title", headBox);
  var linesNote = el("div", "mg-lines-note", headBox);
  var hvBody = el("div", "mg-hv-body", headBox);
  var matrixBox = el("div", "mg-matrix", main);
  var matrixTitle = el("div", "mg-section-title", matrixBox);
  var matrixWrap = el("div", "mg-matrix-wrap", matrixBox);
  var matrixCanvas = el("canvas", "mg-matrix-canvas", matrixWrap);
  var rowBand = el("div", "mg-band mg-rowband", matrixWrap);
  var colBand = el("div", "mg-band mg-colband", matrixWrap);
  var tip = el("div", "mg-tip", matrixWrap);
  var legend = el("div", "mg-legend", matrixBox);

  // controls: set, layer, heads, colour scale
  var setSelect = null;
  if (sets.length > 1) {
    var setLabel = el("label", "", controls, "maps ");
    setSelect = el("select", "mg-set", setLabel);
    sets.forEach(function (s, i) { el("option", "", setSelect, s.description || s.name).value = String(i); });
    setSelect.addEventListener("change", function () { chooseSet(parseInt(setSelect.value, 10)); });
  }
  var layerLabel = el("label", "", controls, "layer ");
  var layerSelect = el("select", "mg-layer", layerLabel);
  layerSelect.addEventListener("change", function () {
    state.layer = parseInt(layerSelect.value, 10);
    render();
  });
  var headsBox = el("span", "mg-heads", controls);
  var scaleLabel = el("label", "", controls, "colour ");
  var scaleSelect = el("select", "mg-scale", scaleLabel);
  el("option", "", scaleSelect, "0 to 1").value = "one";
  el("option", "", scaleSelect, "0 to the map's largest").value = "max";
  scaleSelect.addEventListener("change", function () {
    state.scale = scaleSelect.value;
    paintGrid();
    paintMatrix();
  });

  function buildHeadControls() {
    var set = current();
    headsBox.textContent = "";
    el("span", "", headsBox, "heads");
    for (var h = 0; h < set.H; h++) {
      (function (h) {
        var box = el("label", "mg-headbox", headsBox);
        box.setAttribute("data-head", String(h));
        var input = el("input", "", box);
        input.type = "checkbox";
        var sw = el("span", "mg-swatch", box);
        sw.style.background = rgb(headColour(set.heads[h]));
        el("span", "", box, String(set.heads[h]));
        input.addEventListener("change", function () {
          var at = state.heads.indexOf(h);
          if (input.checked && at < 0) { state.heads.push(h); state.heads.sort(function (a, b) { return a - b; }); state.focus = h; }
          if (!input.checked && at >= 0) {
            state.heads.splice(at, 1);
            if (state.focus === h && state.heads.length) state.focus = state.heads[0];
          }
          render();
        });
      })(h);
    }
    var all = el("button", "mg-all", headsBox, "all");
    all.type = "button";
    all.addEventListener("click", function () {
      state.heads = [];
      for (var h = 0; h < current().H; h++) state.heads.push(h);
      render();
    });
    var none = el("button", "mg-none", headsBox, "none");
    none.type = "button";
    none.addEventListener("click", function () { state.heads = []; render(); });
  }

  // notes: how the weights are stored, causal maps, padding, fonts
  var cjkNote = null;
  function writeNotes() {
    var set = current();
    notes.textContent = "";
    el("div", "", notes, "Head view: each query token (left) is joined to the key tokens (right) it " +
       "attends to; a line's opacity is the weight. Hover a token to see only its row (a key token: " +
       "its column). Matrix: row = query, column = key; hover a cell for its value.");
    el("div", "mg-quant", notes, "Stored in 8 bits per weight with one scale per row (w ≈ q·rowmax/255): " +
       "the largest error this introduces on this page is " + data.maxError.toPrecision(3) +
       " (at most rowmax/510 ≤ 0.00196).");
    if (set.causal) {
      el("div", "mg-causal", notes, "Causal: each token sees only itself and the tokens before it; " +
         "grey cells are what it cannot see (not zeros).");
    }
    var hidden = Math.max(set.hiddenRows, set.hiddenCols);
    if (hidden) el("div", "mg-padding", notes, hidden + " padding position" + (hidden > 1 ? "s are" : " is") + " hidden.");
    if (cjkNote) notes.appendChild(cjkNote);
  }

  // --- the grid of thumbnails ---------------------------------------------------------------
  var cells = [];
  function buildGrid() {
    var set = current();
    grid.textContent = "";
    cells = [];
    var thumbW = Math.max(24, Math.min(64, Math.floor(640 / set.H) - 6));
    var thumbH = Math.max(12, Math.min(96, Math.round(thumbW * set.T / set.S)));
    grid.style.gridTemplateColumns = "auto repeat(" + set.H + ", " + (thumbW + 4) + "px)";
    el("div", "mg-axis", grid, "");
    for (var h = 0; h < set.H; h++) el("div", "mg-axis", grid, "H" + set.heads[h]);
    for (var l = 0; l < set.L; l++) {
      el("div", "mg-axis", grid, "L" + set.layers[l]);
      for (var h2 = 0; h2 < set.H; h2++) {
        var cell = el("div", "mg-cell", grid);
        cell.setAttribute("data-layer", String(l));
        cell.setAttribute("data-head", String(h2));
        cell.title = "layer " + set.layers[l] + " · head " + set.heads[h2];
        var canvas = el("canvas", "", cell);
        canvas.width = set.S;
        canvas.height = set.T;
        canvas.style.width = thumbW + "px";
        canvas.style.height = thumbH + "px";
        cells.push(cell);
      }
    }
    paintGrid();
  }
  grid.addEventListener("click", function (event) {
    var cell = event.target.closest ? event.target.closest(".mg-cell") : null;
    if (!cell || !grid.contains(cell)) return;
    state.layer = parseInt(cell.getAttribute("data-layer"), 10);
    var h = parseInt(cell.getAttribute("data-head"), 10);
    state.heads = [h];
    state.focus = h;
    render();
  });
  function paintMap(canvas, set, l, h) {      // one pixel per (query, key), in viridis
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(set.S, set.T), px = img.data;
    var m = l * set.H + h, top = vmax(set, l, h);
    for (var i = 0; i < set.T; i++) {
      var start = m * set.mapSize + set.rowStart[i], n = rowLength(set, i);
      var factor = set.sc[m * set.T + i] / top;    // the LUT index of code q: q·scale/top
      for (var j = 0, at = 4 * i * set.S; j < set.S; j++, at += 4) {
        if (j < n) {
          var k = 3 * Math.min(255, Math.round(set.qb[start + j] * factor));
          px[at] = LUT[k]; px[at + 1] = LUT[k + 1]; px[at + 2] = LUT[k + 2];
        } else {
          px[at] = HIDDEN[0]; px[at + 1] = HIDDEN[1]; px[at + 2] = HIDDEN[2];
        }
        px[at + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }
  function paintGrid() {
    var set = current();
    cells.forEach(function (cell) {
      paintMap(cell.firstChild, set, +cell.getAttribute("data-layer"), +cell.getAttribute("data-head"));
    });
  }
  function markGrid() {
    cells.forEach(function (cell) {
      var l = +cell.getAttribute("data-layer"), h = +cell.getAttribute("data-head");
      var on = l === state.layer;
      cell.classList.toggle("mg-layer-on", on);
      cell.classList.toggle("mg-head-on", on && state.heads.indexOf(h) >= 0);
      cell.classList.toggle("mg-sel", on && h === state.focus);
    });
  }

  // --- the head view ----------------------------------------------------------------------
  var ROW = 18, LINES_W = 150, linesRatio = 1;
  var qCol, kCol, linesCanvas, qToks = [], kToks = [];
  function textWidth(texts) {
    var ctx = document.createElement("canvas").getContext("2d");
    ctx.font = "13px " + FONT;
    var w = 0;
    texts.forEach(function (s) { w = Math.max(w, ctx.measureText(s).width); });
    return Math.max(28, Math.min(150, Math.ceil(w) + 10));
  }
  function buildHeadView() {
    var set = current();
    hvBody.textContent = "";
    qCol = el("div", "mg-col mg-q", hvBody);
    linesCanvas = el("canvas", "mg-lines", hvBody);
    kCol = el("div", "mg-col mg-k", hvBody);
    var n = Math.max(set.T, set.S), ratio = linesRatio = Math.min(2, window.devicePixelRatio || 1);
    linesCanvas.width = Math.round(LINES_W * ratio);
    linesCanvas.height = Math.round(n * ROW * ratio);
    linesCanvas.style.width = LINES_W + "px";
    linesCanvas.style.height = n * ROW + "px";
    var qw = textWidth(set.rows), kw = textWidth(set.cols);
    qToks = set.rows.map(function (t, i) {
      var d = el("div", "mg-tok", qCol, t);
      d.style.height = ROW + "px"; d.style.lineHeight = ROW + "px"; d.style.width = qw + "px";
      d.setAttribute("data-side", "q"); d.setAttribute("data-i", String(i)); d.title = t + "  (query " + i + ")";
      return d;
    });
    kToks = set.cols.map(function (t, j) {
      var d = el("div", "mg-tok", kCol, t);
      d.style.height = ROW + "px"; d.style.lineHeight = ROW + "px"; d.style.width = kw + "px";
      d.setAttribute("data-side", "k"); d.setAttribute("data-i", String(j)); d.title = t + "  (key " + j + ")";
      return d;
    });
  }
  hvBody.addEventListener("mouseover", function (event) {
    var tok = event.target.closest ? event.target.closest(".mg-tok") : null;
    if (!tok || !hvBody.contains(tok)) return;
    setHover({ side: tok.getAttribute("data-side"), i: parseInt(tok.getAttribute("data-i"), 10) });
  });
  hvBody.addEventListener("mouseleave", function () { setHover(null); });

  // The lines of the head view.  A hovered token has at most a few hundred: the canvas draws
  // them.  With no token hovered there are up to heads × T × S of them (200,000 for 12 heads on
  // 128 tokens), which the canvas takes seconds to draw on a machine without a GPU; so at most
  // MAX_LINES (the strongest) are drawn, rasterised here: each line walks its long axis one
  // pixel at a time and shares each step between the two nearest pixels (Xiaolin Wu's
  // antialiasing), blended "over" what is there with alpha = its weight, into one coverage
  // buffer per head, which is then laid over the others in the head's colour.
  function rasterise(set, width, height, ratio, threshold) {
    var W = Math.round(width * ratio), Hp = Math.round(height * ratio), drawn = 0;
    var image = new ImageData(W, Hp), px = image.data, A = new Float32Array(W * Hp);
    var out = new Float32Array(W * Hp * 4);          // premultiplied r, g, b, alpha
    state.heads.forEach(function (h) {
      A.fill(0);
      for (var i = 0; i < set.T; i++) {
        var y0 = Math.round((i + 0.5) * ROW * ratio), n = rowLength(set, i);
        for (var j = 0; j < n; j++) {
          var v = value(set, state.layer, h, i, j);
          if (v < threshold) continue;
          drawn++;
          var y1 = Math.round((j + 0.5) * ROW * ratio), dy = y1 - y0, t, pos, base, f, k, a;
          if (Math.abs(dy) > W) {            // steep: one step per row of pixels
            var steps = Math.abs(dy), inc = W / steps, dir = dy > 0 ? W : -W;
            for (t = 0, pos = 0, k = y0 * W; t <= steps; t++, pos += inc, k += dir) {
              base = pos | 0; f = pos - base;
              a = v * (1 - f); A[k + base] += a * (1 - A[k + base]);
              if (base + 1 < W) { a = v * f; A[k + base + 1] += a * (1 - A[k + base + 1]); }
            }
          } else {                           // shallow: one step per column
            var slope = dy / W;
            for (t = 0, pos = y0; t < W; t++, pos += slope) {
              base = pos | 0; f = pos - base; k = base * W + t;
              a = v * (1 - f); A[k] += a * (1 - A[k]);
              if (base + 1 < Hp) { a = v * f; A[k + W] += a * (1 - A[k + W]); }
            }
          }
        }
      }
      var c = headColour(set.heads[h]);
      for (var p = 0, q = 0; p < A.length; p++, q += 4) {
        var alpha = A[p];
        if (alpha <= 0) continue;
        var keep = 1 - alpha;
        out[q] = out[q] * keep + c[0] * alpha; out[q + 1] = out[q + 1] * keep + c[1] * alpha;
        out[q + 2] = out[q + 2] * keep + c[2] * alpha; out[q + 3] = out[q + 3] * keep + alpha;
      }
    });
    for (var q2 = 0; q2 < out.length; q2 += 4) {
      var al = out[q2 + 3];
      if (al <= 0) continue;
      px[q2] = out[q2] / al; px[q2 + 1] = out[q2 + 1] / al; px[q2 + 2] = out[q2 + 2] / al; px[q2 + 3] = 255 * al;
    }
    return { image: image, drawn: drawn };
  }

  function drawLines() {
    var set = current(), ctx = linesCanvas.getContext("2d"), ratio = linesRatio;
    var height = Math.max(set.T, set.S) * ROW, hover = state.hover, drawn = 0;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, linesCanvas.width, linesCanvas.height);
    if (!hover) {                        // every line, or the MAX_LINES strongest
      var total = 0, bins = new Int32Array(1024), threshold = MIN_LINE;
      state.heads.forEach(function (h) {
        for (var i = 0; i < set.T; i++) {
          for (var j = 0, n = rowLength(set, i); j < n; j++) {
            var v = value(set, state.layer, h, i, j);
            if (v < MIN_LINE) continue;
            total++;
            bins[Math.min(1023, Math.floor(v * 1024))]++;
          }
        }
      });
      if (total > MAX_LINES) {             // the lightest bins left out, whole
        var kept = 0, b = 1023;
        while (b >= 0 && kept + bins[b] <= MAX_LINES) kept += bins[b--];
        threshold = (b + 1) / 1024;
      }
      var done = rasterise(set, LINES_W, height, ratio, threshold);
      ctx.putImageData(done.image, 0, 0);
      root.setAttribute("data-lines", String(done.drawn));
      root.setAttribute("data-lines-total", String(total));
      root.setAttribute("data-line-threshold", String(threshold));
      linesNote.textContent = done.drawn < total ? "the " + done.drawn.toLocaleString("en") +
        " strongest of " + total.toLocaleString("en") + " lines (weight ≥ " + threshold.toFixed(4) +
        "); hover a token for all of its own" : "";
      return;
    }
    linesNote.textContent = "";
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 2;
    state.heads.forEach(function (h) {
      var colour = headColour(set.heads[h]);
      var i0 = 0, i1 = set.T;
      if (hover.side === "q") { i0 = hover.i; i1 = hover.i + 1; }
      for (var i = i0; i < i1; i++) {
        var n = rowLength(set, i), j0 = 0, j1 = n;
        if (hover.side === "k") { if (hover.i >= n) continue; j0 = hover.i; j1 = hover.i + 1; }
        for (var j = j0; j < j1; j++) {
          var v = value(set, state.layer, h, i, j);
          if (v < MIN_LINE) continue;
          ctx.strokeStyle = rgb(colour, v.toFixed(4));
          ctx.beginPath();
          ctx.moveTo(0, (i + 0.5) * ROW);
          ctx.lineTo(LINES_W, (j + 0.5) * ROW);
          ctx.stroke();
          drawn++;
        }
      }
    });
    root.setAttribute("data-lines", String(drawn));
  }

  function setHover(hover) {
    state.hover = hover;
    var set = current();
    root.setAttribute("data-hover-row", hover && hover.side === "q" ? String(hover.i) : "");
    root.setAttribute("data-hover-col", hover && hover.side === "k" ? String(hover.i) : "");
    qToks.forEach(function (d, i) {
      d.classList.toggle("mg-hl", !!hover && hover.side === "q" && hover.i === i);
      d.classList.toggle("mg-cant", !!hover && hover.side === "k" && set.causal && hover.i > i);
      d.style.background = "";
    });
    kToks.forEach(function (d, j) {
      d.classList.toggle("mg-hl", !!hover && hover.side === "k" && hover.i === j);
      d.classList.toggle("mg-cant", !!hover && hover.side === "q" && set.causal && j > hover.i);
      d.style.background = "";
    });
    if (hover) {                     // the other side's tokens shaded by the weight (the strongest head)
      var others = hover.side === "q" ? kToks : qToks;
      others.forEach(function (d, x) {
        var best = 0, bestHead = -1;
        state.heads.forEach(function (h) {
          var v = hover.side === "q" ? value(set, state.layer, h, hover.i, x) : value(set, state.layer, h, x, hover.i);
          if (v !== null && v > best) { best = v; bestHead = h; }
        });
        if (bestHead >= 0) d.style.background = rgb(headColour(set.heads[bestHead]), Math.min(0.85, best).toFixed(3));
      });
    }
    drawLines();
    showBands(hover && hover.side === "q" ? hover.i : null, hover && hover.side === "k" ? hover.i : null);
  }

  // --- the matrix of one head -------------------------------------------------------------
  var geo = { cell: 8, left: 0, top: 0 };
  function buildMatrix() {
    var set = current(), n = Math.max(set.T, set.S);
    var cell = Math.max(3, Math.min(26, Math.floor(448 / n)));
    var ctx = matrixCanvas.getContext("2d");
    ctx.font = "12px " + FONT;
    var labels = cell >= 11, left = 0, top = 0, rotate = false;
    if (labels) {
      set.rows.forEach(function (t) { left = Math.max(left, ctx.measureText(t).width); });
      var colW = 0;
      set.cols.forEach(function (t) { colW = Math.max(colW, ctx.measureText(t).width); });
      rotate = colW > cell + 2;
      left = Math.min(110, Math.ceil(left) + 8);
      top = rotate ? Math.min(90, Math.ceil(colW) + 8) : 18;
    }
    geo = { cell: cell, left: left, top: top, labels: labels, rotate: rotate };
    matrixCanvas.setAttribute("data-cell", String(cell));       // for tests: where cell (i, j) is
    matrixCanvas.setAttribute("data-left", String(left));
    matrixCanvas.setAttribute("data-top", String(top));
    var ratio = window.devicePixelRatio || 1;
    var w = left + set.S * cell, h = top + set.T * cell;
    matrixCanvas.width = Math.round(w * ratio);
    matrixCanvas.height = Math.round(h * ratio);
    matrixCanvas.style.width = w + "px";
    matrixCanvas.style.height = h + "px";
  }
  function paintMatrix() {
    var set = current(), g = geo, l = state.layer, h = state.focus;
    var ctx = matrixCanvas.getContext("2d"), ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, matrixCanvas.width, matrixCanvas.height);
    var cells = document.createElement("canvas");       // one pixel per cell, then scaled up
    cells.width = set.S;
    cells.height = set.T;
    paintMap(cells, set, l, h);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(cells, g.left, g.top, set.S * g.cell, set.T * g.cell);
    if (set.causal && g.cell >= 6) {                      // hatched: what a query cannot see
      ctx.strokeStyle = "rgba(150,150,150,0.6)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (var i = 0; i < set.T; i++) {
        for (var j = i + 1; j < set.S; j++) {
          var x = g.left + j * g.cell, y = g.top + i * g.cell;
          ctx.moveTo(x, y + g.cell);
          ctx.lineTo(x + g.cell, y);
        }
      }
      ctx.stroke();
    }
    if (g.labels) {
      ctx.fillStyle = "#333";
      ctx.font = "12px " + FONT;
      ctx.textBaseline = "middle";
      ctx.textAlign = "right";
      set.rows.forEach(function (t, i) { ctx.fillText(t, g.left - 4, g.top + (i + 0.5) * g.cell, g.left - 6); });
      set.cols.forEach(function (t, j) {
        var x = g.left + (j + 0.5) * g.cell;
        if (g.rotate) {
          ctx.save();
          ctx.translate(x, g.top - 4);
          ctx.rotate(-Math.PI / 2);
          ctx.textAlign = "left";
          ctx.fillText(t, 0, 0, g.top - 6);
          ctx.restore();
        } else {
          ctx.textAlign = "center";
          ctx.fillText(t, x, g.top / 2);
        }
      });
    }
    matrixTitle.textContent = "layer " + set.layers[l] + " · head " + set.heads[h] + "  (row: query, column: key)";
    root.setAttribute("data-focus-head", String(h));
  }
  function showBands(row, col) {
    var set = current(), g = geo;
    if (row === null || row === undefined) { rowBand.style.display = "none"; }
    else {
      rowBand.style.display = "block";
      rowBand.style.left = g.left - 1 + "px"; rowBand.style.top = g.top + row * g.cell - 1 + "px";
      rowBand.style.width = set.S * g.cell + 2 + "px"; rowBand.style.height = g.cell + 2 + "px";
    }
    if (col === null || col === undefined) { colBand.style.display = "none"; }
    else {
      colBand.style.display = "block";
      colBand.style.left = g.left + col * g.cell - 1 + "px"; colBand.style.top = g.top - 1 + "px";
      colBand.style.width = g.cell + 2 + "px"; colBand.style.height = set.T * g.cell + 2 + "px";
    }
    rowBand.setAttribute("data-row", row === null || row === undefined ? "" : String(row));
    colBand.setAttribute("data-col", col === null || col === undefined ? "" : String(col));
  }
  matrixCanvas.addEventListener("mousemove", function (event) {
    var set = current(), g = geo, box = matrixCanvas.getBoundingClientRect();
    var x = event.clientX - box.left, y = event.clientY - box.top;
    var i = Math.floor((y - g.top) / g.cell), j = Math.floor((x - g.left) / g.cell);
    if (i < 0 || j < 0 || i >= set.T || j >= set.S) { hideTip(); return; }
    var v = value(set, state.layer, state.focus, i, j);
    tip.style.display = "block";
    tip.textContent = "query " + set.rows[i] + " (#" + i + ")\nkey " + set.cols[j] + " (#" + j + ")\n" +
      (v === null ? "cannot see it (causal)" : "weight " + fmt(v) + " (±" + data.maxError.toPrecision(2) + ")");
    tip.setAttribute("data-row", String(i));
    tip.setAttribute("data-col", String(j));
    tip.setAttribute("data-value", v === null ? "" : String(v));
    var tx = g.left + (j + 1) * g.cell + 8, ty = g.top + i * g.cell;
    if (tx > matrixCanvas.clientWidth - 150) tx = Math.max(0, g.left + j * g.cell - 160);
    tip.style.left = tx + "px";
    tip.style.top = ty + "px";
    showBands(i, j);
  });
  function hideTip() {
    tip.style.display = "none";
    tip.setAttribute("data-value", "");
    showBands(null, null);
  }
  matrixCanvas.addEventListener("mouseleave", hideTip);

  function drawLegend() {
    legend.textContent = "";
    el("span", "", legend, "0");
    var bar = el("canvas", "", legend);
    bar.width = 120; bar.height = 10;
    var ctx = bar.getContext("2d");
    for (var x = 0; x < 120; x++) { ctx.fillStyle = rgb(colourAt(x / 119)); ctx.fillRect(x, 0, 1, 10); }
    el("span", "", legend, state.scale === "one" ? "1" : "the map's largest weight");
    if (current().causal) {
      var hid = el("span", "mg-swatch", legend);
      hid.style.background = rgb(HIDDEN);
      hid.style.border = "1px solid #bbb";
      el("span", "", legend, "cannot see");
    }
  }

  // --- fonts: does the system have CJK glyphs? -----------------------------------------------
  // A character no font has is drawn as the fallback box ("tofu"), the same box as U+0378
  // (a code point that is not assigned).  Measure and draw a CJK token's character and U+0378:
  // the same width and the same pixels mean no font on this system has the character.
  var CJK = /[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/;
  function cjkCheck() {
    var sample = null;
    sets.forEach(function (s) {
      s.rows.concat(s.cols).forEach(function (t) { var m = !sample && t.match(CJK); if (m) sample = m[0]; });
    });
    if (!sample) { root.setAttribute("data-cjk", "none"); return; }
    var canvas = document.createElement("canvas");
    canvas.width = 64; canvas.height = 64;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.font = "40px " + FONT;
    ctx.textBaseline = "top";
    function ink(s) {
      ctx.clearRect(0, 0, 64, 64);
      ctx.fillStyle = "#000";
      ctx.fillText(s, 4, 4);
      return ctx.getImageData(0, 0, 64, 64).data;
    }
    var w = ctx.measureText(sample).width, tofuW = ctx.measureText("\u0378").width;
    var a = ink(sample), b = ink("\u0378"), same = w === tofuW;
    for (var i = 3; same && i < a.length; i += 4) if (a[i] !== b[i]) same = false;
    root.setAttribute("data-cjk", same ? "missing" : "ok");
    root.setAttribute("data-cjk-width", String(w));
    root.setAttribute("data-tofu-width", String(tofuW));
    if (same) {
      cjkNote = el("div", "mg-warn mg-cjk-note", null,
        "This system has no font with Chinese/Japanese/Korean glyphs, so tokens such as \u201c" + sample +
        "\u201d show as boxes. The page uses only the fonts installed here and fetches none: install one " +
        "(e.g. Noto Sans CJK: `apt install fonts-noto-cjk`, or your system's language support) and reload.");
    }
  }

  // --- drawing everything -------------------------------------------------------------------
  function render() {
    var set = current();
    layerSelect.value = String(state.layer);
    headsBox.querySelectorAll(".mg-headbox").forEach(function (box) {
      box.firstChild.checked = state.heads.indexOf(+box.getAttribute("data-head")) >= 0;
    });
    if (state.heads.length && state.heads.indexOf(state.focus) < 0) state.focus = state.heads[0];
    headTitle.textContent = "head view: layer " + set.layers[state.layer] + ", " +
      (state.heads.length ? state.heads.length + " head" + (state.heads.length > 1 ? "s" : "") : "no heads (pick some above)");
    root.setAttribute("data-set", String(state.set));
    root.setAttribute("data-layer", String(state.layer));
    root.setAttribute("data-heads", state.heads.join(","));
    markGrid();
    setHover(state.hover);
    paintMatrix();
    drawLegend();
  }
  function chooseSet(index) {
    state.set = index;
    var set = current();
    state.layer = 0;
    state.heads = defaultHeads(set);
    state.focus = state.heads[0] || 0;
    state.hover = null;
    layerSelect.textContent = "";
    set.layers.forEach(function (layer, l) { el("option", "", layerSelect, String(layer)).value = String(l); });
    buildHeadControls();
    writeNotes();
    buildGrid();
    mark("grid");
    buildHeadView();
    buildMatrix();
    hideTip();
    render();
    mark("drawn");
  }

  cjkCheck();
  chooseSet(0);
  // ready once the first frame with everything drawn has been produced (for tests, and the
  // opening time: milliseconds since the page started loading)
  window.requestAnimationFrame(function () {
    window.setTimeout(function () {
      root.setAttribute("data-ready-ms", String(Math.round(performance.now() * 10) / 10));
      root.setAttribute("data-ready", "1");
    }, 0);
  });
})();
