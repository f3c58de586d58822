// The slice viewport (see slice_viewport.py for the Python side and the message protocol).
// Stage (CSS transform = pan/zoom): base canvas, one group per label (overlay + stroke preview,
// opacity on the group so preview and overlay never add up), erase preview. Above it, in screen
// space: the HUD canvas (cursor, shape in progress, crosshair) and the text decorations.
// Image coordinates: pixel (row, col) has its centre at (row, col) and covers ±0.5.

const CHANNEL = "labelstack_viewport";
const HIT_PX = 7; // screen distance that counts as "on" a vertex
const FREEHAND_PX = 5; // spacing of freehand vertices while dragging
const PREVIEW_TIMEOUT_MS = 5000; // drop a finished stroke's preview if the server never answers
const CSS = `
.ls-viewport{position:relative;overflow:hidden;background:#000;user-select:none;touch-action:none;outline:none;
  font-family:ui-sans-serif,system-ui,sans-serif;contain:layout paint}
.ls-viewport .ls-stage{position:absolute;left:0;top:0;transform-origin:0 0;will-change:transform}
.ls-viewport .ls-layer{position:absolute;left:0;top:0;width:100%;height:100%}
.ls-viewport .ls-pixels{image-rendering:pixelated}
.ls-viewport .ls-hud{position:absolute;left:0;top:0;pointer-events:none}
.ls-viewport .ls-text{position:absolute;color:#e6e6e6;font-size:12px;line-height:1.35;white-space:pre;
  pointer-events:none;text-shadow:0 0 3px #000,0 0 2px #000}
.ls-viewport .ls-letter{position:absolute;color:#f0d070;font-size:14px;font-weight:600;pointer-events:none;
  text-shadow:0 0 3px #000,0 0 2px #000}`;

function installCss() {
  if (document.getElementById("ls-viewport-css")) return;
  const style = document.createElement("style");
  style.id = "ls-viewport-css";
  style.textContent = CSS;
  document.head.appendChild(style);
}

// One socket handler per page for all viewports; it keeps NiceGUI's message-id bookkeeping.
function installChannel() {
  if (window.__lsViewportChannel) return true;
  if (!window.socket) return false;
  window.socket.on(CHANNEL, (msg) => {
    if (msg._id !== undefined) {
      if (msg._id < window.nextMessageId) return; // replayed after a reconnect, already applied
      window.nextMessageId = msg._id + 1;
    }
    getElement(msg.id)?.receive(msg.ops);
  });
  window.__lsViewportChannel = true;
  return true;
}

function rgbOf(hex) {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex || "");
  const v = m ? parseInt(m[1], 16) : 0xffffff;
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// Centripetal Catmull-Rom through closed control points (screen space), `steps` samples a segment.
function catmullRomClosed(pts, steps = 16) {
  const n = pts.length;
  if (n < 3) return pts.slice();
  const out = [];
  const knot = (a, b) => Math.max(Math.sqrt(Math.hypot(b.x - a.x, b.y - a.y)), 1e-4);
  const lerp = (a, b, ta, tb, t) => {
    const u = (t - ta) / (tb - ta);
    return { x: a.x + (b.x - a.x) * u, y: a.y + (b.y - a.y) * u };
  };
  for (let i = 0; i < n; i++) {
    const [p0, p1, p2, p3] = [pts[(i - 1 + n) % n], pts[i], pts[(i + 1) % n], pts[(i + 2) % n]];
    const t1 = knot(p0, p1), t2 = t1 + knot(p1, p2), t3 = t2 + knot(p2, p3);
    for (let k = 0; k < steps; k++) {
      const t = t1 + ((t2 - t1) * k) / steps;
      const a1 = lerp(p0, p1, 0, t1, t), a2 = lerp(p1, p2, t1, t2, t), a3 = lerp(p2, p3, t2, t3, t);
      const b1 = lerp(a1, a2, 0, t2, t), b2 = lerp(a2, a3, t1, t3, t);
      out.push(lerp(b1, b2, t1, t2, t));
    }
  }
  return out;
}

export default {
  template: `
    <div class="ls-viewport" tabindex="0" :style="{ cursor: cursorStyle }" @contextmenu.prevent>
      <div ref="stage" class="ls-stage">
        <canvas ref="base" class="ls-layer"></canvas>
        <div v-for="label in labels || []" :key="label.id" class="ls-layer"
             :style="{ opacity: label.opacity ?? 0.5, display: label.visible === false ? 'none' : 'block' }">
          <canvas class="ls-layer ls-pixels" :ref="(el) => bindCanvas(label.id, 'overlay', el)"></canvas>
          <canvas class="ls-layer ls-pixels" :ref="(el) => bindCanvas(label.id, 'preview', el)"></canvas>
        </div>
        <canvas ref="erase" class="ls-layer ls-pixels" style="opacity:0.45"></canvas>
      </div>
      <canvas ref="hud" class="ls-hud"></canvas>
      <template v-if="orientation_letters">
        <div class="ls-letter" style="top:6px;left:50%;transform:translateX(-50%)">{{ orientation_letters.top }}</div>
        <div class="ls-letter" style="bottom:6px;left:50%;transform:translateX(-50%)">{{ orientation_letters.bottom }}</div>
        <div class="ls-letter" style="left:8px;top:50%;transform:translateY(-50%)">{{ orientation_letters.left }}</div>
        <div class="ls-letter" style="right:8px;top:50%;transform:translateY(-50%)">{{ orientation_letters.right }}</div>
      </template>
      <template v-if="corner_text">
        <div class="ls-text" style="top:6px;left:8px">{{ corner_text.tl }}</div>
        <div class="ls-text" style="top:6px;right:8px;text-align:right">{{ corner_text.tr }}</div>
        <div class="ls-text" style="bottom:6px;left:8px">{{ corner_text.bl }}</div>
        <div class="ls-text" style="bottom:6px;right:8px;text-align:right">{{ corner_text.br }}</div>
      </template>
    </div>`,
  props: {
    src: String,
    image_width: Number,
    image_height: Number,
    aspect: { type: Number, default: 1 },
    labels: Array,
    active_label: Number,
    color: String,
    tool: { type: String, default: "none" },
    mode: { type: String, default: "draw" },
    brush_radius_px: { type: Number, default: 5 },
    crosshair: Object,
    crosshair_click: { type: Boolean, default: true },
    orientation_letters: Object,
    corner_text: Object,
  },
  data() {
    return { dragKind: null, spaceDown: false };
  },
  computed: {
    cursorStyle() {
      if (this.dragKind === "pan") return "grabbing";
      if (this.spaceDown) return "grab";
      return this.tool === "brush" ? "none" : "crosshair";
    },
  },
  watch: {
    src() { this.loadBase(); },
    image_width() { this.resetImage(); },
    image_height() { this.resetImage(); },
    aspect() { this.relayout(); },
    tool() { this.shape = []; this.dirty(); },
    labels: { handler() { this.syncColours(); }, deep: true },
    crosshair: { handler() { this.dirty(); }, deep: true },
    brush_radius_px() { this.dirty(); },
    mode() { this.dirty(); },
  },
  created() {
    // plain (non-reactive) state: pixel buffers and pointer bookkeeping
    this.layers = new Map(); // label id -> {overlay: {canvas, data}, preview: {canvas, data}, rgb}
    this.eraseLayer = { canvas: null, data: null };
    this.strokes = new Map(); // stroke id -> {label, mode, radius, points, final, timer}
    this.nextStroke = 1;
    this.held = []; // batches waiting for the base image that belongs to them
    this.base = { wanted: null, shown: null, loading: false };
    this.view = { zoom: 1, panX: 0, panY: 0, fit: 1, s: 1, ox: 0, oy: 0, w: 0, h: 0 };
    this.pointer = null; // {x, y} local to the element, null when outside
    this.drag = null;
    this.shape = []; // [{row, col}] vertices of the polygon/spline in progress
    this.closing = []; // closed shapes drawn until the server's overlay arrives
    this.out = { window: null, point: null, hover: undefined, frame: 0 }; // what the next frame emits
  },
  mounted() {
    installCss();
    const el = this.$el;
    this.cleanups = [];
    const on = (target, type, fn, opts) => {
      target.addEventListener(type, fn, opts);
      this.cleanups.push(() => target.removeEventListener(type, fn, opts));
    };
    on(el, "pointerdown", (e) => this.onDown(e));
    on(el, "pointermove", (e) => this.onMove(e));
    on(el, "pointerup", (e) => this.onUp(e));
    on(el, "pointercancel", (e) => this.onUp(e));
    on(el, "pointerleave", () => this.onLeave());
    on(el, "wheel", (e) => this.onWheel(e), { passive: false });
    on(el, "dblclick", () => this.closeShape());
    on(el, "auxclick", (e) => e.preventDefault());
    on(window, "keydown", (e) => this.onKey(e, true));
    on(window, "keyup", (e) => this.onKey(e, false));
    this.resizer = new ResizeObserver(() => this.relayout());
    this.resizer.observe(el);
    const vp = this;
    el.__viewport = Object.freeze({
      imageToClient: (row, col) => vp.toClient(vp.toLocal(row, col)),
      clientToImage: (x, y) => { const r = el.getBoundingClientRect(); return vp.toImage(x - r.left, y - r.top); },
      get zoom() { return vp.view.zoom; },
      get scale() { return vp.view.s; },
      get pan() { return { x: vp.view.panX, y: vp.view.panY }; },
      get shape() { return vp.shape.map((p) => [p.row, p.col]); },
      get previews() { return [...vp.strokes.keys()]; },
      get frame() { return vp.base.shown; },
      get tool() { return vp.tool; },
      get mode() { return vp.mode; },
    });
    this.resetImage();
    this.loadBase();
    const start = () => (installChannel() ? this.$emit("ready") : setTimeout(start, 10));
    start();
  },
  beforeUnmount() {
    this.cleanups.forEach((fn) => fn());
    this.resizer.disconnect();
    cancelAnimationFrame(this.out.frame);
  },
  methods: {
    // ---- messages from the server: [{op: 'patch'|'clear'|'clear_preview', ...}] in order
    receive(ops) {
      if (this.held.length || (this.base.loading && ops.some((o) => o.op === "clear"))) {
        this.held.push(ops); // a new slice: show its overlays together with its image
        clearTimeout(this.heldTimer);
        this.heldTimer = setTimeout(() => this.releaseHeld(), 1000);
        return;
      }
      this.apply(ops);
    },
    releaseHeld() {
      clearTimeout(this.heldTimer);
      const held = this.held;
      this.held = [];
      held.forEach((ops) => this.apply(ops));
    },
    apply(ops) {
      let patched = false;
      for (const op of ops) {
        if (op.op === "patch") { this.applyPatch(op.label, op.box, op.bits); patched = true; }
        else if (op.op === "clear") this.clearOverlays(op.label);
        else if (op.op === "clear_preview") this.clearPreview(op.stroke);
      }
      if (patched && this.closing.length) { this.closing = []; this.dirty(); }
    },
    applyPatch(labelId, box, bits) {
      const [r0, c0, r1, c1] = box;
      const layer = this.layer(labelId);
      const data = this.buffer(layer.overlay);
      const bytes = bits instanceof ArrayBuffer ? new Uint8Array(bits)
        : new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
      const [R, G, B] = layer.rgb, px = data.data, W = this.W;
      let k = 0;
      for (let r = r0; r < r1; r++) {
        for (let c = c0, o = (r * W + c0) * 4; c < c1; c++, k++, o += 4) {
          if ((bytes[k >> 3] >> (7 - (k & 7))) & 1) { px[o] = R; px[o + 1] = G; px[o + 2] = B; px[o + 3] = 255; }
          else px[o + 3] = 0;
        }
      }
      this.put(layer.overlay, [r0, c0, r1, c1]);
      const detail = { label: labelId, box, t: performance.now() };
      this.$el.dispatchEvent(new CustomEvent("overlaypatch", { detail }));
    },
    clearOverlays(labelId) {
      for (const [id, layer] of this.layers) {
        if (labelId !== null && labelId !== undefined && id !== labelId) continue;
        if (layer.overlay.data) { layer.overlay.data.data.fill(0); this.put(layer.overlay, null); }
      }
      if (labelId === null || labelId === undefined) [...this.strokes.keys()].forEach((id) => this.clearPreview(id));
    },
    clearPreview(strokeId) {
      const stroke = this.strokes.get(strokeId);
      if (!stroke) return;
      clearTimeout(stroke.timer);
      this.strokes.delete(strokeId);
      const target = this.previewTarget(stroke);
      if (!target.data) return;
      target.data.data.fill(0);
      for (const other of this.strokes.values()) {
        if (this.previewTarget(other) === target) this.stampPath(other, other.points, 0, target);
      }
      this.put(target, null);
    },

    // ---- pixel layers
    layer(id) {
      let layer = this.layers.get(id);
      if (!layer) {
        layer = { overlay: { canvas: null, data: null }, preview: { canvas: null, data: null }, rgb: [255, 255, 255] };
        this.layers.set(id, layer);
        this.syncColours();
      }
      return layer;
    },
    bindCanvas(id, kind, canvas) {
      if (!canvas) return;
      const slot = this.layer(id)[kind];
      if (slot.canvas === canvas) return;
      slot.canvas = canvas;
      canvas.width = this.W;
      canvas.height = this.H;
      if (slot.data) this.put(slot, null);
    },
    buffer(slot) {
      if (!slot.data) slot.data = new ImageData(this.W, this.H);
      return slot.data;
    },
    put(slot, box) {
      if (!slot.canvas || !slot.data) return;
      if (slot.canvas.width !== this.W || slot.canvas.height !== this.H) {
        slot.canvas.width = this.W;
        slot.canvas.height = this.H;
        box = null;
      }
      const ctx = slot.canvas.getContext("2d");
      if (box) ctx.putImageData(slot.data, 0, 0, box[1], box[0], box[3] - box[1], box[2] - box[0]);
      else ctx.putImageData(slot.data, 0, 0);
    },
    syncColours() {
      for (const label of this.labels || []) {
        const layer = this.layers.get(label.id);
        if (!layer) continue;
        const rgb = rgbOf(label.color);
        if (rgb.join() === layer.rgb.join()) continue;
        layer.rgb = rgb;
        for (const slot of [layer.overlay, layer.preview]) {
          if (!slot.data) continue;
          const px = slot.data.data;
          for (let o = 0; o < px.length; o += 4) {
            if (px[o + 3]) { px[o] = rgb[0]; px[o + 1] = rgb[1]; px[o + 2] = rgb[2]; }
          }
          this.put(slot, null);
        }
      }
    },
    resetImage() {
      this.W = Math.max(1, this.image_width || 1);
      this.H = Math.max(1, this.image_height || 1);
      for (const layer of this.layers.values()) {
        for (const slot of [layer.overlay, layer.preview]) {
          slot.data = null;
          if (slot.canvas) { slot.canvas.width = this.W; slot.canvas.height = this.H; }
        }
      }
      this.eraseLayer.canvas = this.$refs.erase;
      this.eraseLayer.data = null;
      this.$refs.erase.width = this.W;
      this.$refs.erase.height = this.H;
      this.strokes.clear();
      this.shape = [];
      this.relayout(true);
    },

    // ---- base image: keep the last frame until the next one is decoded, skip frames we cannot keep up with
    loadBase() {
      const src = this.src || "";
      const url = src.startsWith("/") ? (window.path_prefix || "") + src : src;
      if (!url || url === this.base.wanted) return;
      this.base.wanted = url;
      if (!this.base.loading) this.fetchBase(url);
    },
    fetchBase(url) {
      this.base.loading = true;
      const img = new Image();
      img.src = url;
      const done = () => {
        this.base.loading = false;
        if (this.base.wanted !== url) this.fetchBase(this.base.wanted);
        else this.releaseHeld();
      };
      img.decode().then(() => {
        const canvas = this.$refs.base;
        if (canvas.width !== img.naturalWidth || canvas.height !== img.naturalHeight) {
          canvas.width = img.naturalWidth;
          canvas.height = img.naturalHeight;
        }
        canvas.getContext("2d").drawImage(img, 0, 0);
        this.base.shown = url;
        done();
      }, done);
    },

    // ---- geometry
    relayout(refit = false) {
      const v = this.view, el = this.$el;
      v.w = el.clientWidth;
      v.h = el.clientHeight;
      if (refit) { v.zoom = 1; v.panX = 0; v.panY = 0; }
      const asp = this.aspect || 1;
      v.fit = Math.min(v.w / this.W, v.h / (this.H * asp)) || 1;
      v.s = v.fit * v.zoom;
      v.ox = v.w / 2 + v.panX - (this.W * v.s) / 2;
      v.oy = v.h / 2 + v.panY - (this.H * asp * v.s) / 2;
      const stage = this.$refs.stage;
      stage.style.width = `${this.W}px`;
      stage.style.height = `${this.H * asp}px`;
      stage.style.transform = `translate(${v.ox}px, ${v.oy}px) scale(${v.s})`;
      const hud = this.$refs.hud, dpr = window.devicePixelRatio || 1;
      if (hud.width !== Math.round(v.w * dpr) || hud.height !== Math.round(v.h * dpr)) {
        hud.width = Math.round(v.w * dpr);
        hud.height = Math.round(v.h * dpr);
        hud.style.width = `${v.w}px`;
        hud.style.height = `${v.h}px`;
      }
      this.dirty();
    },
    zoomAt(factor, x, y) {
      const v = this.view;
      const zoom = Math.min(64, Math.max(0.1, v.zoom * factor));
      const s = v.fit * zoom;
      const u = (x - v.ox) / v.s, w = (y - v.oy) / v.s; // stage coordinates under the pointer stay put
      v.panX = x - u * s - v.w / 2 + (this.W * s) / 2;
      v.panY = y - w * s - v.h / 2 + (this.H * (this.aspect || 1) * s) / 2;
      v.zoom = zoom;
      this.relayout();
    },
    zoom_by(factor) { this.zoomAt(factor, this.view.w / 2, this.view.h / 2); },
    reset_view() { this.relayout(true); },
    toLocal(row, col) {
      const v = this.view;
      return { x: v.ox + (col + 0.5) * v.s, y: v.oy + (row + 0.5) * (this.aspect || 1) * v.s };
    },
    toImage(x, y) {
      const v = this.view;
      return { row: (y - v.oy) / (v.s * (this.aspect || 1)) - 0.5, col: (x - v.ox) / v.s - 0.5 };
    },
    toClient(p) {
      const r = this.$el.getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    },
    local(e) {
      const r = this.$el.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    },
    inside(q) { return q.row > -0.5 && q.col > -0.5 && q.row < this.H - 0.5 && q.col < this.W - 0.5; },

    // ---- pointer input
    onDown(e) {
      if (this.drag) return;
      this.$el.focus({ preventScroll: true });
      const p = this.local(e), q = this.toImage(p.x, p.y);
      let drag = null;
      if (e.button === 1 || (e.button === 0 && this.spaceDown)) {
        drag = { kind: "pan", x: p.x, y: p.y, panX: this.view.panX, panY: this.view.panY };
      }
      else if (e.button === 2) drag = { kind: "window", x: p.x, y: p.y };
      else if (e.button === 0 && this.tool === "brush") drag = this.startStroke(q);
      else if (e.button === 0 && (this.tool === "polygon" || this.tool === "spline")) drag = this.shapeDown(p, q);
      else if (e.button === 0 && this.tool === "none" && this.crosshair_click) {
        drag = { kind: "point" };
        this.out.point = q;
      }
      if (!drag) return;
      e.preventDefault();
      drag.pointerId = e.pointerId;
      this.drag = drag;
      this.dragKind = drag.kind;
      this.$el.setPointerCapture(e.pointerId);
      this.schedule();
    },
    onMove(e) {
      const p = this.local(e);
      this.pointer = p;
      const d = this.drag;
      if (d?.kind === "pan") {
        this.view.panX = d.panX + p.x - d.x;
        this.view.panY = d.panY + p.y - d.y;
        this.relayout();
      } else if (d?.kind === "window") {
        const w = this.out.window || (this.out.window = { dx: 0, dy: 0 });
        w.dx += p.x - d.x;
        w.dy += p.y - d.y;
        d.x = p.x;
        d.y = p.y;
      } else if (d?.kind === "stroke") {
        for (const ev of e.getCoalescedEvents?.() || [e]) {
          const c = this.local(ev), q = this.toImage(c.x, c.y);
          this.extendStroke(d.stroke, [Math.round(q.row * 100) / 100, Math.round(q.col * 100) / 100]);
        }
      } else if (d?.kind === "point") {
        this.out.point = this.toImage(p.x, p.y);
      } else if (d?.kind === "freehand") {
        const last = this.toLocal(this.shape.at(-1).row, this.shape.at(-1).col);
        if (Math.hypot(p.x - last.x, p.y - last.y) >= FREEHAND_PX) this.shape.push(this.toImage(p.x, p.y));
      } else if (d?.kind === "vertex") {
        if (Math.hypot(p.x - d.x, p.y - d.y) > 3) d.moved = true;
        if (d.moved) this.shape[d.index] = this.toImage(p.x, p.y);
      }
      this.schedule();
    },
    onUp(e) {
      const d = this.drag;
      if (!d || d.pointerId !== e.pointerId) return;
      this.drag = null;
      this.dragKind = null;
      if (this.$el.hasPointerCapture(e.pointerId)) this.$el.releasePointerCapture(e.pointerId);
      if (d.kind === "stroke") this.finishStroke(d.stroke);
      else if (d.kind === "window") this.emitWindow(true);
      else if (d.kind === "vertex" && !d.moved && d.index === 0 && d.closes) this.closeShape();
      this.dirty();
    },
    onLeave() {
      this.pointer = null;
      this.schedule();
    },
    onWheel(e) {
      e.preventDefault();
      const scale = e.deltaMode === 1 ? 33 : e.deltaMode === 2 ? 400 : 1;
      const delta = (e.deltaY || e.deltaX) * scale;
      if (e.ctrlKey || e.metaKey) {
        const p = this.local(e);
        this.zoomAt(Math.exp(-delta * 0.0015), p.x, p.y);
        return;
      }
      this.wheelAcc = (this.wheelAcc || 0) + delta;
      if (Math.abs(this.wheelAcc) < 50) return;
      const step = e.shiftKey ? 10 : 1;
      this.$emit("slice", { delta: this.wheelAcc > 0 ? step : -step });
      this.wheelAcc = 0;
    },
    onKey(e, down) {
      const t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      if (!this.pointer && document.activeElement !== this.$el) return;
      if (e.key === " ") { this.spaceDown = down; e.preventDefault(); return; }
      if (!down || (this.tool !== "polygon" && this.tool !== "spline")) return;
      if (e.key === "Enter") this.closeShape();
      else if (e.key === "Escape") this.shape = [];
      else if (e.key === "Backspace") this.shape.pop();
      else return;
      e.preventDefault();
      this.dirty();
    },

    // ---- brush: preview drawn here at once, points to the server once per frame
    startStroke(q) {
      const stroke = { id: this.nextStroke++, label: this.active_label, mode: this.mode === "erase" ? "erase" : "draw",
                       radius: this.brush_radius_px, points: [], final: false, sent: 0 };
      this.strokes.set(stroke.id, stroke);
      this.extendStroke(stroke, [Math.round(q.row * 100) / 100, Math.round(q.col * 100) / 100]);
      return { kind: "stroke", stroke };
    },
    extendStroke(stroke, point) {
      const last = stroke.points.at(-1);
      if (last && last[0] === point[0] && last[1] === point[1]) return;
      stroke.points.push(point);
      const target = this.previewTarget(stroke);
      const box = this.stampPath(stroke, stroke.points, stroke.points.length - 1, target);
      if (box) this.put(target, box);
    },
    finishStroke(stroke) {
      stroke.final = true;
      this.emitStroke(stroke);
      stroke.timer = setTimeout(() => this.clearPreview(stroke.id), PREVIEW_TIMEOUT_MS);
    },
    emitStroke(stroke) {
      const points = stroke.points.slice(stroke.sent);
      if (!points.length && !stroke.final) return;
      stroke.sent = stroke.points.length;
      this.$emit("stroke", { stroke: stroke.id, points, final: stroke.final, mode: stroke.mode, radius: stroke.radius });
    },
    previewTarget(stroke) {
      if (stroke.mode === "erase") return this.eraseLayer;
      return this.layer(stroke.label ?? -1).preview;
    },
    // Paint the capsules points[k-1] -> points[k] for k >= from (a lone point is a disk). Pixel (i, j) is
    // inside when its physical distance to the segment is <= radius (rows scaled by aspect): the
    // rule the server's rasteriser uses too, so the confirmed overlay covers the preview exactly.
    stampPath(stroke, points, from, target) {
      const px = this.buffer(target).data, W = this.W, H = this.H;
      const asp = this.aspect || 1, R = stroke.radius, R2 = R * R;
      const rgb = stroke.mode === "erase" ? [235, 235, 235] : rgbOf(this.labelColour(stroke.label));
      const box = [H, W, 0, 0];
      for (let k = Math.max(0, from); k < points.length; k++) {
        const [r1, c1] = points[k], [r0, c0] = k > 0 ? points[k - 1] : points[k];
        const ey = (r1 - r0) * asp, ex = c1 - c0, L2 = ey * ey + ex * ex;
        const i0 = Math.max(0, Math.ceil(Math.min(r0, r1) - R / asp));
        const i1 = Math.min(H - 1, Math.floor(Math.max(r0, r1) + R / asp));
        const j0 = Math.max(0, Math.ceil(Math.min(c0, c1) - R)), j1 = Math.min(W - 1, Math.floor(Math.max(c0, c1) + R));
        for (let i = i0; i <= i1; i++) {
          const dy = (i - r0) * asp;
          for (let j = j0, o = (i * W + j0) * 4; j <= j1; j++, o += 4) {
            const dx = j - c0, t = L2 > 0 ? Math.min(1, Math.max(0, (dy * ey + dx * ex) / L2)) : 0;
            const qy = dy - t * ey, qx = dx - t * ex;
            if (qy * qy + qx * qx > R2) continue;
            px[o] = rgb[0]; px[o + 1] = rgb[1]; px[o + 2] = rgb[2]; px[o + 3] = 255;
            if (i < box[0]) box[0] = i;
            if (i >= box[2]) box[2] = i + 1;
            if (j < box[1]) box[1] = j;
            if (j >= box[3]) box[3] = j + 1;
          }
        }
      }
      return box[2] > box[0] ? box : null;
    },
    labelColour(id) { return (this.labels || []).find((l) => l.id === id)?.color || this.color || "#ffffff"; },

    // ---- polygon / spline
    shapeDown(p, q) {
      const pts = this.shape;
      const near = (i) => {
        const s = this.toLocal(pts[i].row, pts[i].col);
        return Math.hypot(p.x - s.x, p.y - s.y) <= HIT_PX;
      };
      if (pts.length >= 3 && near(0)) {
        if (this.tool === "polygon") { this.closeShape(); return null; }
        return { kind: "vertex", index: 0, x: p.x, y: p.y, moved: false, closes: true };
      }
      if (this.tool === "spline") {
        const i = pts.findIndex((_, k) => near(k));
        if (i >= 0) return { kind: "vertex", index: i, x: p.x, y: p.y, moved: false, closes: false };
      }
      const last = pts.length ? this.toLocal(pts.at(-1).row, pts.at(-1).col) : null;
      if (!last || Math.hypot(p.x - last.x, p.y - last.y) > 3) pts.push(q); // the 2nd click of a double-click adds nothing
      return { kind: "freehand" };
    },
    closeShape() {
      if ((this.tool !== "polygon" && this.tool !== "spline") || this.shape.length < 3) return;
      const points = this.shape.map((v) => [Math.round(v.row * 100) / 100, Math.round(v.col * 100) / 100]);
      this.closing.push({ tool: this.tool, points: this.shape });
      setTimeout(() => { this.closing = []; this.dirty(); }, 1500);
      this.shape = [];
      this.$emit("shape", { tool: this.tool, points });
      this.dirty();
    },

    // ---- once per animation frame: batched events out, HUD redrawn
    schedule() {
      if (!this.out.frame) this.out.frame = requestAnimationFrame(() => this.frame());
    },
    dirty() { this.schedule(); },
    frame() {
      this.out.frame = 0;
      if (this.drag?.kind === "stroke") this.emitStroke(this.drag.stroke);
      this.emitWindow(false);
      if (this.out.point) {
        const q = this.out.point;
        this.out.point = null;
        this.$emit("point", { row: q.row, col: q.col });
      }
      const q = this.pointer ? this.toImage(this.pointer.x, this.pointer.y) : null;
      const hover = q && this.inside(q) ? { row: Math.round(q.row), col: Math.round(q.col) } : null;
      if (JSON.stringify(hover) !== JSON.stringify(this.out.hover)) {
        this.out.hover = hover;
        this.$emit("hover", hover);
      }
      this.drawHud();
    },
    emitWindow(final) {
      const w = this.out.window;
      if (!w && !final) return;
      this.out.window = null;
      this.$emit("window", { dx: w?.dx || 0, dy: w?.dy || 0, final });
    },
    drawHud() {
      const ctx = this.$refs.hud.getContext("2d"), dpr = window.devicePixelRatio || 1, v = this.view;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, v.w, v.h);
      const line = (pts, close, colour, width, dash = []) => {
        if (pts.length < 2) return;
        ctx.beginPath();
        pts.forEach((s, i) => (i ? ctx.lineTo(s.x, s.y) : ctx.moveTo(s.x, s.y)));
        if (close) ctx.closePath();
        ctx.setLineDash([]);
        ctx.strokeStyle = "rgba(0,0,0,0.55)";
        ctx.lineWidth = width + 2;
        ctx.stroke();
        ctx.setLineDash(dash);
        ctx.strokeStyle = colour;
        ctx.lineWidth = width;
        ctx.stroke();
        ctx.setLineDash([]);
      };
      if (this.crosshair) {
        const c = this.toLocal(this.crosshair.row, this.crosshair.col), gap = 8;
        ctx.strokeStyle = "rgba(90,200,250,0.85)";
        ctx.lineWidth = 1;
        ctx.beginPath();
        const x = Math.round(c.x) + 0.5, y = Math.round(c.y) + 0.5;
        ctx.moveTo(0, y); ctx.lineTo(x - gap, y); ctx.moveTo(x + gap, y); ctx.lineTo(v.w, y);
        ctx.moveTo(x, 0); ctx.lineTo(x, y - gap); ctx.moveTo(x, y + gap); ctx.lineTo(x, v.h);
        ctx.stroke();
      }
      const colour = this.labelColour(this.active_label);
      const outline = (tool, pts, tentative) => {
        const s = pts.map((q) => this.toLocal(q.row, q.col));
        if (tentative) s.push(tentative);
        if (tool === "spline" && s.length >= 3) line(catmullRomClosed(s), true, colour, 1.5);
        else line(s, !tentative, colour, 1.5);
        return s;
      };
      for (const shape of this.closing) outline(shape.tool, shape.points, null);
      if (this.shape.length && (this.tool === "polygon" || this.tool === "spline")) {
        const first = this.toLocal(this.shape[0].row, this.shape[0].col), p = this.pointer;
        const onFirst = p && this.shape.length >= 3 && Math.hypot(p.x - first.x, p.y - first.y) <= HIT_PX;
        const tentative = this.drag || onFirst ? null : p;
        let s;
        if (this.tool === "spline") s = outline("spline", this.shape, tentative);
        else {
          s = this.shape.map((q) => this.toLocal(q.row, q.col));
          line(s, false, colour, 1.5);
          if (tentative) {
            line([s.at(-1), tentative], false, "#ffffff", 1, [4, 3]);
            if (s.length >= 2) line([tentative, s[0]], false, "rgba(255,255,255,0.45)", 1, [2, 4]);
          }
        }
        s.slice(0, this.shape.length).forEach((p, i) => {
          ctx.fillStyle = i === 0 ? "#ffffff" : colour;
          ctx.strokeStyle = "rgba(0,0,0,0.7)";
          ctx.lineWidth = 1;
          ctx.beginPath();
          if (this.tool === "spline") ctx.arc(p.x, p.y, i === 0 ? 4 : 3, 0, 2 * Math.PI);
          else ctx.rect(p.x - (i === 0 ? 4 : 2.5), p.y - (i === 0 ? 4 : 2.5), i === 0 ? 8 : 5, i === 0 ? 8 : 5);
          ctx.fill();
          ctx.stroke();
        });
      }
      if (this.tool === "brush" && this.pointer && this.dragKind !== "pan" && !this.spaceDown) {
        const r = (this.brush_radius_px || 1) * v.s, { x, y } = this.pointer;
        ctx.beginPath();
        ctx.arc(x, y, Math.max(r, 1.5), 0, 2 * Math.PI);
        ctx.strokeStyle = "rgba(0,0,0,0.6)";
        ctx.lineWidth = 3;
        ctx.stroke();
        ctx.setLineDash(this.mode === "erase" ? [4, 3] : []);
        ctx.strokeStyle = "#ffffff";
        ctx.lineWidth = 1;
        ctx.stroke();
        ctx.setLineDash([]);
      }
    },
  },
};
