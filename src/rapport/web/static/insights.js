// Rapport insights charts, shared by /dashboards (served by the app) and the
// self-contained HTML report (`rapport report --html`, inlined with Chart.js):
// the trend with its sentiment mix and alerts, share of voice, and the
// perception gap, drawn from the figures embedded in #insights-data (the
// perception gap is fetched from its API URL when the page only names it).
(function () {
  "use strict";
  var colors = { negative: "#c0504d", neutral: "#9aa5ad", positive: "#4f8f3a", unanalysed: "#dde3e8" };
  var palette = ["#1f4e79", "#c0504d", "#4f8f3a", "#8064a2", "#d08a1c", "#2c9ca6", "#7f7f7f", "#b65c9d"];
  var rendered = { id: "insightsRendered", afterRender: function (c) { c.canvas.dataset.rendered = "true"; } };

  function options(extra) {
    var o = { animation: false, responsive: true, maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false }, plugins: { legend: { position: "bottom" } } };
    Object.keys(extra || {}).forEach(function (k) { o[k] = extra[k]; });
    return o;
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    config.plugins = [rendered];
    new Chart(canvas, config);
  }

  function label(iso, by) {
    return by === "hour" ? iso.slice(0, 13).replace("T", " ") + "h" : iso.slice(0, 10);
  }

  function trend(t) {
    var labels = t.labels.map(function (l) { return label(l, t.by); });
    var sets = ["negative", "neutral", "positive", "unanalysed"].map(function (k) {
      return { type: "bar", label: k, data: t[k], backgroundColor: colors[k], stack: "mix", yAxisID: "y" };
    });
    sets.push({ type: "line", label: "negative share %", yAxisID: "share", borderColor: "#333", pointRadius: 1,
      data: t.negative_share.map(function (x) { return x === null ? null : Math.round(x * 1000) / 10; }), spanGaps: true });
    if (t.alerts && t.alerts.some(function (x) { return x > 0; })) {
      sets.push({ type: "line", label: "alerts", yAxisID: "y", showLine: false, pointStyle: "triangle",
        pointRadius: 7, borderColor: "#d08a1c", backgroundColor: "#d08a1c",
        data: t.alerts.map(function (n, i) { return n > 0 ? t.messages[i] : null; }) });
    }
    draw("chart-insights-trend", { data: { labels: labels, datasets: sets }, options: options({
      scales: { y: { stacked: true, beginAtZero: true, title: { display: true, text: "messages per " + t.by } },
        x: { stacked: true }, share: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
        title: { display: true, text: "% negative" } } } }) });
  }

  function sov(s) {
    if (!s.series.length) { return; }
    var sets = s.series.map(function (x, i) {
      return { label: x.query + (x.kind === "brand" ? " (ours)" : ""), backgroundColor: palette[i % palette.length],
        data: x.share.map(function (v) { return v === null ? 0 : Math.round(v * 1000) / 10; }), stack: "sov" };
    });
    draw("chart-insights-sov", { type: "bar", data: { labels: s.labels.map(function (l) { return label(l, s.by); }), datasets: sets },
      options: options({ scales: { x: { stacked: true }, y: { stacked: true, min: 0, max: 100, title: { display: true, text: "% of brand + competitor mentions" } } } }) });
  }

  function perception(p) {
    var sets = [{ label: "customers (measured)", data: p.actual.map(pct), backgroundColor: palette[0] }];
    if (p.believed) { sets.push({ label: "company (believed)", data: p.believed.map(pct), backgroundColor: palette[4] }); }
    draw("chart-insights-perception", { type: "bar", data: { labels: p.labels, datasets: sets },
      options: options({ scales: { y: { beginAtZero: true, title: { display: true, text: "% of reasons" } }, x: { ticks: { autoSkip: false } } } }) });
  }

  function pct(x) { return x === null ? null : Math.round(x * 1000) / 10; }

  function perceptionFromApi(doc) {
    var labels = [], actual = [], believed = [];
    doc.gap.forEach(function (g) { labels.push(g.label); actual.push(g.actual_share); believed.push(g.believed_share); });
    return { labels: labels, actual: actual, believed: doc.believed ? believed : null };
  }

  function start() {
    var holder = document.getElementById("insights-data");
    if (!holder || typeof Chart === "undefined") { return; }
    var data = JSON.parse(holder.textContent);
    if (data.trend) { trend(data.trend); }
    if (data.sov) { sov(data.sov); }
    if (data.perception) { perception(data.perception); }
    var canvas = document.getElementById("chart-insights-perception");
    if (!data.perception && canvas && canvas.dataset.src) {
      fetch(canvas.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (doc) { perception(perceptionFromApi(doc)); })
        .catch(function (err) { var note = document.getElementById("perception-note"); if (note) { note.textContent = "Perception gap could not be loaded: " + err.message; } });
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
