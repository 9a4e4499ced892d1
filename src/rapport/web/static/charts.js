// Rapport dashboards: draws the charts with Chart.js (installed from npm by
// `make web-assets`, served by the app) from the figures the page embeds,
// and the sentiment chart from /api/v1/reports/sentiment.
(function () {
  "use strict";
  var palette = ["#1f4e79", "#c0504d", "#4f8f3a", "#8064a2", "#d08a1c", "#2c9ca6", "#7f7f7f", "#b65c9d"];

  var markRendered = {
    id: "rapportRendered",
    afterRender: function (chart) { chart.canvas.dataset.rendered = "true"; }
  };

  function base(extra) {
    var options = {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } }
    };
    Object.keys(extra || {}).forEach(function (k) { options[k] = extra[k]; });
    return options;
  }

  function label(iso, bucket) {
    return bucket === "hour" ? iso.slice(0, 13).replace("T", " ") + "h" : iso.slice(0, 10);
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return null; }
    config.plugins = [markRendered];
    return new Chart(canvas, config);
  }

  function volume(data) {
    var v = data.volume, sets = [];
    v.channels.forEach(function (c, i) {
      var color = palette[i % palette.length];
      sets.push({ label: c.channel + " inbound", data: c.inbound, borderColor: color, backgroundColor: color, tension: 0.2, pointRadius: 2 });
      var light = palette[(i + 4) % palette.length];
      sets.push({ label: c.channel + " outbound", data: c.outbound, borderColor: light, backgroundColor: light, borderDash: [6, 4], tension: 0.2, pointRadius: 2 });
    });
    draw("chart-volume", {
      type: "line",
      data: { labels: v.labels.map(function (l) { return label(l, v.bucket); }), datasets: sets },
      options: base({ scales: { y: { beginAtZero: true, title: { display: true, text: "messages per " + v.bucket } } } })
    });
  }

  function response(data) {
    var r = data.response;
    draw("chart-response", {
      type: "bar",
      data: { labels: r.labels, datasets: [{ label: "median minutes to answer", data: r.minutes, backgroundColor: palette[0] }] },
      options: base({ indexAxis: "y", scales: { x: { beginAtZero: true, title: { display: true, text: "minutes" } }, y: { ticks: { autoSkip: false } } } })
    });
  }

  function talk(data) {
    var t = data.talk_listen;
    var share = t.ratio.map(function (x) { return x === null ? null : Math.round(x * 1000) / 10; });
    draw("chart-talk", {
      type: "bar",
      data: {
        labels: t.labels,
        datasets: [
          { type: "bar", label: "outbound share %", data: share, backgroundColor: share.map(function (s) { return s !== null && s > t.target * 100 ? palette[1] : palette[2]; }) },
          { type: "line", label: "target " + Math.round(t.target * 100) + "%", data: t.labels.map(function () { return t.target * 100; }), borderColor: "#333", borderDash: [4, 4], pointRadius: 0 }
        ]
      },
      options: base({ scales: { x: { ticks: { autoSkip: false } }, y: { beginAtZero: true, max: 100, title: { display: true, text: "% of messages that are ours" } } } })
    });
  }

  function sentiment() {
    var canvas = document.getElementById("chart-sentiment");
    var note = document.getElementById("sentiment-note");
    if (!canvas) { return; }
    fetch(canvas.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (s) {
        if (!s.analysed_messages) {
          note.textContent = "No analysed messages in this range yet (" + s.inbound_messages +
            " inbound): sentiment appears here once the analysis service has analysed them.";
          canvas.closest(".chart-box").hidden = true;
          return;
        }
        note.textContent = s.analysed_messages + " of " + s.inbound_messages + " inbound messages analysed; mean score from -1 (negative) to +1 (positive).";
        var sets = s.channels.map(function (c, i) {
          var color = palette[i % palette.length];
          return { label: c.channel, data: c.mean_score, borderColor: color, backgroundColor: color, spanGaps: true, tension: 0.2 };
        });
        draw("chart-sentiment", {
          type: "line",
          data: { labels: s.buckets.map(function (b) { return label(b, s.bucket); }), datasets: sets },
          options: base({ scales: { y: { min: -1, max: 1, title: { display: true, text: "mean sentiment" } } } })
        });
      })
      .catch(function (err) { note.textContent = "Sentiment could not be loaded: " + err.message; });
  }

  function topics(data) {
    var t = data.topics;
    draw("chart-topics", {
      type: "bar",
      data: { labels: t.labels, datasets: [{ label: "messages", data: t.sizes, backgroundColor: palette[4 % palette.length] }] },
      options: base({ indexAxis: "y", scales: { x: { beginAtZero: true }, y: { ticks: { autoSkip: false } } } })
    });
  }

  function influencers(data) {
    var d = data.influencers;
    draw("chart-influencers", {
      type: "bar",
      data: { labels: d.labels, datasets: [{ label: "influence", data: d.scores, backgroundColor: palette[3] }] },
      options: base({ indexAxis: "y", scales: { x: { beginAtZero: true }, y: { ticks: { autoSkip: false } } } })
    });
  }

  function start() {
    var holder = document.getElementById("chart-data");
    if (!holder || typeof Chart === "undefined") { return; }
    var data = JSON.parse(holder.textContent);
    if (data.volume) { volume(data); }
    if (data.response) { response(data); }
    if (data.talk_listen) { talk(data); }
    if (data.topics) { topics(data); }
    if (data.influencers) { influencers(data); }
    sentiment();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
