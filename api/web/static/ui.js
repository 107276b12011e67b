// The UI's own behaviour: the Overview chart, the graph, copy buttons. No inline scripts anywhere:
// pages carry data in <script type="application/json"> blocks and this file reads them.
"use strict";

(function () {
  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function perDayChart() {
    var box = document.getElementById("per-day-chart");
    var data = readJson("per-day-data");
    if (!box || !data || typeof uPlot === "undefined") return;
    var xs = data.map(function (d) { return Date.parse(d.day + "T00:00:00Z") / 1000; });
    var ys = data.map(function (d) { return d.memories; });
    var width = Math.max(320, box.clientWidth || 640);
    var chart = new uPlot({
      width: width, height: 220,
      scales: { x: { time: true } },
      legend: { show: false },
      series: [{}, { label: "Memories", stroke: "#1d4f91", fill: "rgba(29, 79, 145, 0.15)", width: 2 }],
      axes: [{ stroke: "#333" }, { stroke: "#333" }]
    }, [xs, ys], box);
    window.memosChart = chart;
  }

  function graph() {
    var box = document.getElementById("graph");
    var elements = readJson("graph-data");
    if (!box || !elements || typeof cytoscape === "undefined") return;
    var cy = cytoscape({
      container: box,
      elements: elements,
      style: [
        { selector: "node", style: { "label": "data(label)", "font-size": 10, "text-wrap": "ellipsis",
          "text-max-width": 120, "background-color": "#5b7fb8", "color": "#111", "text-valign": "bottom",
          "text-margin-y": 4 } },
        { selector: "node[?root]", style: { "background-color": "#b34700", "width": 36, "height": 36 } },
        { selector: "node[kind = 'episode']", style: { "shape": "round-rectangle", "background-color": "#3c8c5a" } },
        { selector: "edge", style: { "width": 1.5, "line-color": "#888", "target-arrow-color": "#888",
          "target-arrow-shape": "triangle", "curve-style": "bezier", "label": "data(label)", "font-size": 8,
          "color": "#444" } }
      ],
      layout: { name: elements.length > 40 ? "cose" : "breadthfirst", directed: true, padding: 20, animate: false }
    });
    cy.on("tap", "node", function (event) {
      var href = event.target.data("href");
      if (href) window.location.assign(href);
    });
    window.memosGraph = cy;
  }

  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        var status = document.getElementById("copy-status");
        var text = source ? source.textContent : "";
        var done = function () { if (status) status.textContent = "Copied " + button.textContent.replace(/^Copy /, "") + "."; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () {
            if (status) status.textContent = "The browser refused the clipboard; select the text and copy it.";
          });
        } else if (status) {
          status.textContent = "Select the text and copy it (this page is not a secure context).";
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    perDayChart();
    graph();
    copyButtons();
  });
})();
