// classicnets explainer: the page's behaviour. Plain JavaScript, no libraries, nothing fetched
// from anywhere but this server. Every number shown comes from the server's answers.
"use strict";

const $ = (id) => document.getElementById(id);
const PEN = 0.13; // pen width / canvas side: a full-height digit gets optdigits' ~5 px of 32
const MAP_PX = 84; // feature maps are drawn about this many CSS pixels wide

const state = {
  run: null,
  version: 0, // drawing changes so far
  busy: false, // a prediction is in flight
  dirty: false, // the drawing changed while it was
  drawing: false,
  last: null,
  layers: null, // the last prediction's layers
  selected: null, // the unit whose explanation is shown
  highlight: null, // what that explanation reads
};

function showStatus(message) {
  $("status").textContent = message || "";
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    return { ok: false, status: 0, data: { error: "The server cannot be reached; is it still running?" } };
  }
  let data;
  try {
    data = await response.json();
  } catch (err) {
    data = { error: `The server answered ${response.status} without a message.` };
  }
  return { ok: response.ok, status: response.status, data };
}

function fmt(value, digits = 4) {
  if (typeof value !== "number" || !isFinite(value)) return String(value);
  return String(Number(value.toPrecision(digits)));
}

// A grid cell: three significant digits, tiny values as 7.5e-5 so that columns stay narrow.
function cell(value) {
  return value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential(1) : fmt(value, 3);
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// ------------------------------------------------------------------------ tabs
const loaded = {};
function selectTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  for (const panel of document.querySelectorAll(".panel")) panel.classList.toggle("active", panel.id === name);
  if (!loaded[name]) {
    loaded[name] = true;
    if (name === "model") loadModel();
    if (name === "playground") loadPlayground();
  }
}
for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => selectTab(tab.dataset.tab));

// --------------------------------------------------------------------- drawing
const pad = $("pad");
const ctx = pad.getContext("2d");

function clearPad() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  state.version += 1;
  state.layers = null;
  state.selected = null;
  state.highlight = null;
  $("probs").textContent = "";
  $("top-class").textContent = "";
  $("layers").textContent = "";
  delete $("layers").dataset.built;
  $("explain-card").hidden = true;
  for (const id of ["native", "input"]) {
    const c = $(id);
    c.getContext("2d").clearRect(0, 0, c.width, c.height);
  }
  document.body.dataset.drawn = document.body.dataset.shown = String(state.version);
}

function at(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

function stroke(from, to) {
  ctx.strokeStyle = "#fff";
  ctx.fillStyle = "#fff";
  ctx.lineWidth = PEN * pad.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  if (from[0] === to[0] && from[1] === to[1]) {
    ctx.arc(to[0], to[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
  } else {
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
  }
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  state.drawing = true;
  state.last = at(event);
  stroke(state.last, state.last);
  changed();
});
pad.addEventListener("pointermove", (event) => {
  if (!state.drawing) return;
  const point = at(event);
  stroke(state.last, point);
  state.last = point;
  changed();
});
for (const name of ["pointerup", "pointercancel"]) {
  pad.addEventListener(name, () => { state.drawing = false; });
}
$("clear").addEventListener("click", clearPad);

function changed() {
  state.version += 1;
  document.body.dataset.drawn = String(state.version);
  if (state.busy) state.dirty = true;
  else predict();
}

// One request in flight at a time; when the drawing changed meanwhile, ask again.
async function predict() {
  state.busy = true;
  state.dirty = false;
  const version = state.version;
  const image = pad.toDataURL("image/png");
  const answer = await api("/api/predict", { image });
  if (answer.ok) {
    showStatus("");
    showPrediction(answer.data);
    if (state.selected) await explain(image);
  } else {
    showStatus(answer.data.error);
  }
  state.busy = false;
  if (state.dirty) predict();
  else document.body.dataset.shown = String(version);
}

// --------------------------------------------------------------------- showing
function showPrediction(data) {
  const probs = $("probs");
  probs.textContent = "";
  for (const { class: name, p } of data.probabilities) {
    const best = name === data.top;
    probs.append(el("span", { class: best ? "best" : "" }, name));
    const bar = el("span", { class: "bar" });
    const fill = el("i");
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    bar.append(fill);
    probs.append(bar, el("span", { class: "pct" }, `${(100 * p).toFixed(1)} %`));
  }
  $("top-class").textContent = data.top;
  $("top-class").dataset.top = data.top;
  paintImage($("native"), data.native);
  paintImage($("input"), data.input, state.highlight && state.highlight.source === "input" ? state.highlight : null);
  state.layers = data.layers;
  showLayers(data.layers);
}

function paintImage(canvas, planes, highlight) {
  const [channels, height, width] = [planes.length, planes[0].length, planes[0][0].length];
  canvas.width = width;
  canvas.height = height;
  const image = canvas.getContext("2d").createImageData(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      for (let c = 0; c < 3; c++) image.data[i + c] = planes[channels === 3 ? c : 0][y][x];
      image.data[i + 3] = 255;
    }
  }
  if (highlight) mark(image, width, highlight.cells);
  canvas.getContext("2d").putImageData(image, 0, 0);
}

function mark(image, width, cells) {
  for (const [y, x] of cells) {
    const i = 4 * (y * width + x);
    image.data[i] = (image.data[i] + 255) / 2;
    image.data[i + 1] = (image.data[i + 1] + 211) / 2;
    image.data[i + 2] = (image.data[i + 2] + 61) / 2;
  }
}

// Blue below zero, red above, scaled by the layer's largest magnitude; a layer that is never
// negative goes from black to white over its range.
function colour(value, low, high) {
  if (low < 0) {
    const top = Math.max(-low, high) || 1;
    const t = Math.max(-1, Math.min(1, value / top));
    const base = t < 0 ? [33, 102, 172] : [178, 24, 43];
    const a = Math.abs(t);
    return base.map((c) => Math.round(255 + (c - 255) * a));
  }
  const t = high > low ? (value - low) / (high - low) : 0;
  const g = Math.round(255 * t);
  return [g, g, g];
}

function showLayers(layers) {
  const box = $("layers");
  if (box.dataset.built !== "yes") buildLayers(box, layers);
  for (const layer of layers) drawLayer(layer);
}

function buildLayers(box, layers) {
  box.textContent = "";
  for (const layer of layers) {
    const row = el("div", { class: "layer", "data-layer": layer.name });
    const heading = el("h3", {}, `${layer.name} `);
    let note = `${layer.type} · ${layer.shape.join("×")}`;
    if (layer.explainable) note += " · before the activation function · click a unit";
    else if (layer.after) note += ` · ${layer.after} after ${layer.type} · click a unit`;
    if (layer.maps && layer.shown_channels < layer.shape[0]) note += ` · first ${layer.shown_channels} channels`;
    heading.append(el("span", {}, note));
    row.append(heading);
    const maps = el("div", { class: "maps" });
    if (layer.maps) {
      const [height, width] = layer.shape.slice(1);
      const scale = Math.max(1, Math.floor(MAP_PX / Math.max(height, width)));
      layer.maps.forEach((_, channel) => {
        const canvas = el("canvas", { width, height, "data-channel": channel, "data-scale": scale, title: `channel ${channel}` });
        canvas.style.width = `${width * scale}px`;
        canvas.style.height = `${height * scale}px`;
        const target = layer.explainable ? layer.name : layer.after;
        if (target) {
          canvas.classList.add("clickable");
          canvas.addEventListener("click", (event) => pick(event, canvas, layer.name, target, channel, scale));
        }
        maps.append(canvas);
      });
    } else {
      const canvas = el("canvas", { class: "vector", width: layer.values.length, height: 1 });
      canvas.style.width = `${Math.min(layer.values.length * 6, 900)}px`;
      maps.append(canvas);
    }
    row.append(maps);
    box.append(row);
  }
  box.dataset.built = "yes";
}

function drawLayer(layer) {
  const row = document.querySelector(`.layer[data-layer="${CSS.escape(layer.name)}"]`);
  if (!row) return;
  const canvases = row.querySelectorAll("canvas");
  const planes = layer.maps || [[layer.values]];
  const lit = state.highlight;
  planes.forEach((plane, channel) => {
    const canvas = canvases[channel];
    const [height, width] = [plane.length, plane[0].length];
    const image = canvas.getContext("2d").createImageData(width, height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [r, g, b] = colour(plane[y][x], layer.min, layer.max);
        const i = 4 * (y * width + x);
        image.data.set([r, g, b, 255], i);
      }
    }
    if (lit && lit.source === layer.name && lit.channels.includes(channel)) mark(image, width, lit.cells);
    if (lit && lit.unit.layer === layer.name && lit.unit.channel === channel) mark(image, width, [[lit.unit.y, lit.unit.x]]);
    canvas.getContext("2d").putImageData(image, 0, 0);
  });
}

// ------------------------------------------------------------- explaining a unit
async function pick(event, canvas, shown, layer, channel, scale) {
  const box = canvas.getBoundingClientRect();
  const x = Math.min(canvas.width - 1, Math.floor((event.clientX - box.left) / (box.width / canvas.width)));
  const y = Math.min(canvas.height - 1, Math.floor((event.clientY - box.top) / (box.height / canvas.height)));
  state.selected = { shown, layer, channel, y, x };
  await explain(pad.toDataURL("image/png"));
  $("explain-card").scrollIntoView({ block: "nearest", behavior: "smooth" });
}

async function explain(image) {
  const s = state.selected;
  const answer = await api("/api/explain", { image, layer: s.layer, channel: s.channel, y: s.y, x: s.x });
  if (!answer.ok) {
    showStatus(answer.data.error);
    return;
  }
  const e = answer.data;
  state.highlight = {
    source: e.source,
    channels: e.input_channels,
    cells: e.positions.flat().filter((p) => p !== -1),
    unit: { layer: s.shown, channel: e.channel, y: e.y, x: e.x },
  };
  showExplanation(e);
  if (state.layers) for (const layer of state.layers) drawLayer(layer);
  document.body.dataset.explained = `${e.layer}/${e.channel}/${e.y}/${e.x}/${state.version}`;
}

function numbers(matrix, padMask) {
  const table = el("table", { class: "numbers" });
  matrix.forEach((row, i) => {
    const tr = el("tr");
    row.forEach((value, j) => {
      const padded = padMask && padMask[i][j] === -1;
      tr.append(el("td", padded ? { class: "pad", title: "padding" } : {}, cell(value)));
    });
    table.append(tr);
  });
  return table;
}

function showExplanation(e) {
  const card = $("explain-card");
  card.hidden = false;
  Object.assign(card.dataset, { layer: e.layer, channel: e.channel, y: e.y, x: e.x });
  const [kh, kw] = [e.kernel[0].length, e.kernel[0][0].length];
  $("explain-title").textContent = `${e.layer}, channel ${e.channel}, unit (row ${e.y}, column ${e.x})`;
  $("explain-what").textContent = `It reads a ${kh}×${kw} window of ${e.source} ` +
    `(${e.source_shape.join("×")}) in ${e.window.length} channel${e.window.length > 1 ? "s" : ""}, ` +
    "multiplies it element by element with its kernel and adds everything and the bias. " +
    "Each row: one input channel's window ⊙ its kernel = the products. Grey cells are padding (zeros).";
  const grids = $("explain-grids");
  grids.textContent = "";
  const shown = Math.min(e.window.length, 16);
  for (let c = 0; c < shown; c++) {
    const sum = e.products[c].flat().reduce((a, b) => a + b, 0);
    const row = el("div", { class: "explain-row" });
    row.append(
      el("span", { class: "label" }, `${e.source} channel ${e.input_channels[c]}`),
      numbers(e.window[c], e.positions), el("span", { class: "op" }, "⊙"),
      numbers(e.kernel[c]), el("span", { class: "op" }, "="),
      numbers(e.products[c]), el("span", { class: "op" }, `Σ ${fmt(sum, 5)}`),
    );
    grids.append(row);
  }
  if (e.window.length > shown) {
    grids.append(el("p", { class: "small" }, `… and ${e.window.length - shown} more channels, all in the sum below.`));
  }
  $("explain-products").textContent = fmt(e.sum_products, 7);
  $("explain-bias").textContent = fmt(e.bias, 7);
  $("explain-sum").textContent = fmt(e.pre_activation, 7);
  $("explain-sum").dataset.value = String(e.pre_activation);
  $("explain-model").textContent = fmt(e.model_value, 7);
  $("explain-model").dataset.value = String(e.model_value);
  $("explain-diff").textContent = ` (in float32; difference ${fmt(e.difference, 2)})`;
  $("explain-after").textContent = e.activation
    ? `; after ${e.activation.type} (${e.activation.layer}): ${fmt(e.activation.value, 7)}.` : ".";
}

// ------------------------------------------------------------------ playground
const pg = { steps: [], poolSteps: 0, at: 0, timer: null, playing: true, result: null, waiting: null };

function parseMatrix(text, name) {
  const rows = text.split(/[;\n]/).map((r) => r.trim()).filter((r) => r);
  return rows.map((row) => row.split(/[\s,]+/).filter((c) => c).map((cell) => {
    const value = Number(cell);
    if (!isFinite(value)) throw new Error(`${name}: '${cell}' is not a number.`);
    return value;
  }));
}

function parsePair(text) {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length === 1 && /^-?\d+$/.test(parts[0])) return Number(parts[0]);
  if (parts.length === 2 && parts.every((p) => /^-?\d+$/.test(p))) return parts.map(Number);
  return text; // the server names what is wrong with it
}

function matrixText(h, w) {
  const rows = [];
  for (let i = 0; i < h; i++) rows.push(Array.from({ length: w }, (_, j) => i * w + j).join(" "));
  return rows.join("; ");
}

function fillMatrices() {
  $("pg-input").value = matrixText(+$("pg-h").value || 1, +$("pg-w").value || 1);
  $("pg-kernel").value = matrixText(+$("pg-kh").value || 1, +$("pg-kw").value || 1);
  runPlayground();
}

function syncSizes() {
  for (const [id, h, w] of [["pg-input", "pg-h", "pg-w"], ["pg-kernel", "pg-kh", "pg-kw"]]) {
    try {
      const m = parseMatrix($(id).value, id);
      if (m.length) { $(h).value = m.length; $(w).value = m[0].length; }
    } catch (err) { /* shown when sent */ }
  }
}

async function loadPlayground() {
  const answer = await api("/api/presets");
  if (answer.ok) {
    for (const preset of answer.data) {
      const button = el("button", { "data-preset": preset.title }, preset.title);
      button.addEventListener("click", () => usePreset(preset));
      $("presets").append(button);
    }
  }
  for (const id of ["pg-padding", "pg-stride", "pg-dilation", "pg-pool", "pg-pool-size", "pg-pool-stride"]) {
    $(id).addEventListener("input", runPlayground);
  }
  for (const id of ["pg-input", "pg-kernel"]) $(id).addEventListener("input", () => { syncSizes(); runPlayground(); });
  for (const id of ["pg-h", "pg-w", "pg-kh", "pg-kw"]) $(id).addEventListener("input", fillMatrices);
  $("pg-fill").addEventListener("click", fillMatrices);
  $("pg-play").addEventListener("click", () => { pg.playing = !pg.playing; $("pg-play").textContent = pg.playing ? "Pause" : "Play"; });
  $("pg-step").addEventListener("click", () => { pg.playing = false; $("pg-play").textContent = "Play"; advance(); });
  pg.timer = setInterval(() => { if (pg.playing) advance(); }, 900);
  runPlayground();
}

function usePreset(preset) {
  const text = (m) => m.map((r) => r.join(" ")).join("; ");
  $("pg-input").value = text(preset.input);
  $("pg-kernel").value = text(preset.kernel);
  const pair = (v) => (Array.isArray(v) ? v.join(",") : String(v));
  $("pg-padding").value = pair(preset.padding);
  $("pg-stride").value = pair(preset.stride);
  $("pg-dilation").value = "1";
  $("pg-pool").value = "";
  syncSizes();
  runPlayground();
}

async function runPlayground() {
  let body;
  try {
    body = {
      input: parseMatrix($("pg-input").value, "Input X"),
      kernel: parseMatrix($("pg-kernel").value, "Kernel K"),
      padding: parsePair($("pg-padding").value),
      stride: parsePair($("pg-stride").value),
      dilation: parsePair($("pg-dilation").value),
      pool: null,
    };
  } catch (err) {
    return playgroundError(err.message);
  }
  if ($("pg-pool").value) {
    const stride = $("pg-pool-stride").value.trim();
    body.pool = { mode: $("pg-pool").value, size: parsePair($("pg-pool-size").value), stride: stride ? parsePair(stride) : null };
  }
  const asked = JSON.stringify(body);
  pg.waiting = asked;
  const answer = await api("/api/playground", body);
  if (pg.waiting !== asked) return; // a newer question is on its way
  if (!answer.ok) return playgroundError(answer.data.error);
  $("pg-error").hidden = true;
  pg.result = answer.data;
  showPlayground(answer.data);
}

function playgroundError(message) {
  pg.result = null;
  pg.steps = [];
  $("pg-error").hidden = false;
  $("pg-error").textContent = message;
  $("pg-sizes").textContent = "";
  for (const id of ["pg-x", "pg-k", "pg-y", "pg-p", "pg-out-shape", "pg-line"]) $(id).textContent = "";
  document.body.dataset.playground = "error";
}

function grid(matrix, padding = [0, 0], shape = null) {
  const [rows, cols] = shape || [matrix.length, matrix[0].length];
  const table = el("table", { class: "grid" });
  for (let i = 0; i < rows; i++) {
    const tr = el("tr");
    for (let j = 0; j < cols; j++) {
      const [r, c] = [i - padding[0], j - padding[1]];
      const inside = r >= 0 && c >= 0 && r < matrix.length && c < matrix[0].length;
      tr.append(el("td", inside ? {} : { class: "pad" }, inside ? fmt(matrix[r][c], 4) : "0"));
    }
    table.append(tr);
  }
  return table;
}

function showPlayground(r) {
  $("pg-formula").textContent = r.formula;
  const sizes = $("pg-sizes");
  sizes.textContent = "";
  for (const line of r.sizes) sizes.append(el("p", { class: "line" }, `convolution ${line}`));
  if (r.pool) for (const line of r.pool.sizes) sizes.append(el("p", { class: "line" }, `${r.pool.mode} pooling ${line}`));
  $("pg-x").replaceChildren(grid(r.input, r.padding, r.padded_shape));
  $("pg-k").replaceChildren(grid(r.kernel));
  $("pg-y").replaceChildren(grid(r.output));
  $("pg-out-shape").textContent = `(${r.output_shape.join("×")})`;
  $("pg-out-shape").dataset.shape = r.output_shape.join("x");
  $("pg-pool-stage").hidden = !r.pool;
  if (r.pool) {
    $("pg-p").replaceChildren(grid(r.pool.output));
    $("pg-pool-shape").textContent = `(${r.pool.output_shape.join("×")})`;
  }
  pg.steps = r.steps.map((s, i) => ({ ...s, stage: "conv", index: i }));
  if (r.pool) pg.steps.push(...r.pool.steps.map((s, i) => ({ ...s, stage: "pool", index: i })));
  pg.at = -1;
  advance();
  document.body.dataset.playground = JSON.stringify(r.output);
}

function advance() {
  if (!pg.steps.length) return;
  pg.at = (pg.at + 1) % pg.steps.length;
  const step = pg.steps[pg.at];
  const [source, target, width] = step.stage === "conv"
    ? ["pg-x", "pg-y", pg.result.output[0].length] : ["pg-y", "pg-p", pg.result.pool.output[0].length];
  for (const td of document.querySelectorAll("#playground .grid td")) td.classList.remove("hit", "now");
  const rows = $(source).querySelectorAll("tr");
  for (const [i, j] of step.cells) rows[i].children[j].classList.add("hit");
  const out = $(target).querySelectorAll("tr");
  out[Math.floor(step.index / width)].children[step.index % width].classList.add("now");
  $("pg-line").textContent = step.line;
}

// ------------------------------------------------------------------------ model
function human(count) {
  for (const [prefix, scale] of [["G", 1e9], ["M", 1e6], ["K", 1e3]]) {
    if (Math.abs(count) >= scale) return `${(count / scale).toFixed(2)} ${prefix}`;
  }
  return String(count);
}

function shapeText(shape) {
  if (!shape) return "(not called)";
  return Array.isArray(shape[0]) ? shape.map(shapeText).join(", ") : shape.join("×");
}

function summaryTable(data) {
  const fields = {};
  for (const f of data.receptive) if (!(f.name in fields)) fields[f.name] = f;
  const table = el("table", { class: "summary" });
  const head = el("tr");
  for (const [title, num] of [["Layer"], ["Type"], ["Output shape", 1], ["Params", 1], ["MACs", 1], ["Receptive field", 1], ["Jump", 1]]) {
    head.append(el("th", num ? { class: "num" } : {}, title));
  }
  const thead = el("thead");
  thead.append(head);
  table.append(thead);
  const body = el("tbody");
  const rows = [{ name: "input", type: "", output_shape: data.input, params: 0, macs: 0 }, ...data.layers];
  for (const row of rows) {
    const f = fields[row.name];
    const tr = el("tr");
    tr.append(
      el("td", {}, row.name), el("td", {}, row.type),
      el("td", { class: "num" }, shapeText(row.output_shape)),
      el("td", { class: "num" }, row.params ? row.params.toLocaleString("en-US") : "–"),
      el("td", { class: "num" }, row.macs ? human(row.macs) : "–"),
      el("td", { class: "num" }, f && f.receptive_field ? f.receptive_field.join("×") : "–"),
      el("td", { class: "num" }, f && f.jump ? f.jump.join("×") : "–"),
    );
    body.append(tr);
  }
  table.append(body);
  const foot = el("tfoot");
  const total = el("tr");
  total.append(el("td", {}, "total"), el("td"), el("td"),
    el("td", { class: "num", "data-total-params": data.total_params }, data.total_params.toLocaleString("en-US")),
    el("td", { class: "num" }, human(data.total_macs)), el("td"), el("td"));
  foot.append(total);
  table.append(foot);
  return table;
}

async function loadModel() {
  const own = await api("/api/model");
  if (!own.ok) return showStatus(own.data.error);
  const m = own.data;
  $("model-name").textContent = `${m.model}${m.data ? ` on ${m.data}` : ""}`;
  const where = m.source.split(/[\\/]/).slice(-2).join("/"); // the run's folder and checkpoint
  $("model-what").title = m.source;
  $("model-what").textContent = `${where} · input ${m.input.join("×")} · MACs are per image; ` +
    "the receptive field is the side of the input patch one output cell sees, the jump the input " +
    "pixels between neighbouring cells.";
  $("model-table").replaceChildren(summaryTable(m));
  const list = await api("/api/architectures");
  if (!list.ok) return showStatus(list.data.error);
  const select = $("arch-select");
  const families = {};
  for (const item of list.data) (families[item.family] = families[item.family] || []).push(item);
  for (const [family, items] of Object.entries(families)) {
    const group = el("optgroup", { label: family });
    for (const item of items) group.append(el("option", { value: item.name }, `${item.name}${item.year ? ` (${item.year})` : ""}`));
    select.append(group);
  }
  if (list.data.some((item) => item.name === m.model)) select.value = m.model;
  select.addEventListener("change", showArchitecture);
  showArchitecture();
}

async function showArchitecture() {
  const name = $("arch-select").value;
  const answer = await api(`/api/architecture?name=${encodeURIComponent(name)}`);
  if (!answer.ok) return showStatus(answer.data.error);
  const a = answer.data;
  $("arch-what").textContent = `${a.family}${a.year ? `, ${a.year}` : ""}${a.paper ? ` · ${a.paper}` : ""} · ` +
    `at its native input ${a.input.join("×")}, ${a.total_params.toLocaleString("en-US")} parameters, ${human(a.total_macs)} MACs.`;
  $("arch-table").replaceChildren(summaryTable(a));
  document.body.dataset.architecture = name;
}

// ------------------------------------------------------------------------ start
(async function start() {
  clearPad();
  const run = await api("/api/run");
  if (!run.ok) return showStatus(run.data.error);
  state.run = run.data;
  $("run-title").textContent = `· ${run.data.model}${run.data.data ? ` on ${run.data.data}` : ""}`;
  $("preparation").textContent = `How a drawing becomes the input: ${run.data.preparation}`;
  const side0 = run.data.native_side;
  $("native-caption").textContent = `as ${run.data.data || "the data"} stores images (${side0}×${side0})`;
  const side = run.data.input_shape[2];
  $("input-caption").textContent = `the model's input (${side}×${side})`;
  document.body.dataset.started = "yes";
})();
