// Per-minute charts in SVG: stacked bars (throughput) and lines (queue wait). Drawn into an
// <svg> the view keeps, so the element (and its data-* sums) survives each redraw. Colours
// come from classes in app.css (CSP allows no style attributes), sizes from the viewBox.

import { s, replace } from "./dom.js";

const HEIGHT = 180;
const LEFT = 44;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 22;

/** A round number ≥ max for the y axis (1, 2, 5 × 10^n). */
function niceCeiling(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** The drawing's width in user units: the box's own width, so text keeps its size on a phone. */
function widthOf(svg) {
  const shown = Math.round(svg.getBoundingClientRect().width);
  return shown >= 280 ? shown : 600;
}

function frame(svg, minutes, top, format) {
  const width = widthOf(svg);
  const plotWidth = width - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const y = (value) => TOP + plotHeight - (value / top) * plotHeight;
  const slot = plotWidth / Math.max(1, minutes.length);
  const parts = [];
  for (const fraction of [0, 0.5, 1]) {
    const value = top * fraction;
    parts.push(s("line", { class: "grid", x1: LEFT, x2: width - RIGHT, y1: y(value), y2: y(value) }));
    parts.push(s("text", { class: "axis", x: LEFT - 6, y: y(value) + 4, "text-anchor": "end" }, format(value)));
  }
  const count = minutes.length;
  const labels = [
    [0, `-${count} min`, "start"],
    [Math.floor(count / 2), `-${count - Math.floor(count / 2)} min`, "middle"],
    [count - 1, "now", "end"],
  ];
  for (const [index, label, anchor] of labels) {
    const x = anchor === "end" ? width - RIGHT : LEFT + index * slot + (anchor === "middle" ? slot / 2 : 0);
    parts.push(s("text", { class: "axis", x, y: HEIGHT - 6, "text-anchor": anchor }, label));
  }
  svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
  return { parts, y, slot };
}

function minuteLabel(minute) {
  return new Date(minute.start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/**
 * Stacked bars: `stack` is [[field, cssClass, label], ...] bottom first; a minute whose
 * figures are null (no server was running) is drawn as a gap marker.
 */
export function drawBars(svg, minutes, stack) {
  const top = niceCeiling(Math.max(0, ...minutes.map((m) => stack.reduce((sum, [f]) => sum + (m[f] ?? 0), 0))));
  const { parts, y, slot } = frame(svg, minutes, top, (v) => String(Math.round(v)));
  minutes.forEach((minute, index) => {
    const x = LEFT + index * slot + slot * 0.12;
    const width = Math.max(1, slot * 0.76);
    if (minute[stack[0][0]] === null || minute[stack[0][0]] === undefined) {
      parts.push(s("rect", { class: "gap", x, y: y(0) - 2, width, height: 2 }, s("title", {}, `${minuteLabel(minute)}: no data`)));
      return;
    }
    let base = 0;
    const summary = stack.map(([field, , label]) => `${minute[field] ?? 0} ${label}`).join(", ");
    for (const [field, cssClass] of stack) {
      const value = minute[field] ?? 0;
      if (value > 0) {
        parts.push(s("rect", { class: cssClass, x, y: y(base + value), width, height: y(base) - y(base + value) }));
      }
      base += value;
    }
    // An invisible full-height target per minute, so hovering anywhere in the slot shows its figures.
    parts.push(s("rect", { class: "hit", x: LEFT + index * slot, y: TOP, width: slot, height: y(0) - TOP }, s("title", {}, `${minuteLabel(minute)}: ${summary}`)));
  });
  replace(svg, parts);
}

/** Seconds as a short duration: "850 ms", "4.2 s", "3 min". */
export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value === 0) return "0";
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 120) return `${value < 10 ? value.toFixed(1) : Math.round(value)} s`;
  return `${Math.round(value / 60)} min`;
}

/**
 * Lines of one figure of a per-minute summary (`field` of `minute[source]`), e.g. the wait's
 * avg and p95; a minute without data breaks the line.
 */
export function drawLines(svg, minutes, source, lines) {
  const values = minutes.flatMap((m) => (m[source] ? lines.map(([f]) => m[source][f] ?? 0) : []));
  const top = niceCeiling(Math.max(0, ...values));
  const { parts, y, slot } = frame(svg, minutes, top, seconds);
  for (const [field, cssClass] of lines) {
    let path = "";
    let drawing = false;
    minutes.forEach((minute, index) => {
      const summary = minute[source];
      if (!summary || !summary.count) {
        drawing = false;
        return;
      }
      const x = LEFT + index * slot + slot / 2;
      path += `${drawing ? "L" : "M"}${x.toFixed(1)},${y(summary[field] ?? 0).toFixed(1)}`;
      drawing = true;
    });
    if (path) parts.push(s("path", { class: cssClass, d: path }));
  }
  minutes.forEach((minute, index) => {
    const summary = minute[source];
    const text = summary && summary.count
      ? `${minuteLabel(minute)}: ${summary.count} tasks, ` + lines.map(([f, , label]) => `${label} ${seconds(summary[f])}`).join(", ")
      : `${minuteLabel(minute)}: no tasks started`;
    if (summary && summary.count && minutes.length <= 120) {
      const x = LEFT + index * slot + slot / 2;
      parts.push(s("circle", { class: `${lines[0][1]} dot`, cx: x, cy: y(summary[lines[0][0]] ?? 0), r: 2 }));
    }
    parts.push(s("rect", { class: "hit", x: LEFT + index * slot, y: TOP, width: slot, height: y(0) - TOP }, s("title", {}, text)));
  });
  replace(svg, parts);
}
