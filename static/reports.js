// Kehu CRM: the reports' charts (Sales, Service). app.js loads Chart.js and then this file only on pages
// holding [data-charts], and calls KehuReports.draw after every swap of such an element. Each
// canvas carries its figures in data-chart (built by crm/reports/tables.py); the table beside it
// holds the same figures, so a failed chart loses nothing.
(function () {
  "use strict";

  // Colours with at least 3:1 contrast against white (WCAG 1.4.11), told apart by the legend too.
  var COLOURS = ["#1d4ed8", "#b45309", "#047857", "#7c3aed"];

  function formatter(spec, locale) {
    var oneDecimal = spec.kind === "days" || spec.kind === "hours" || spec.kind === "decimal";
    var options = spec.kind === "money"
      ? { style: "currency", currency: spec.currency, maximumFractionDigits: 0 }
      : spec.kind === "percent" ? { style: "percent", maximumFractionDigits: 0 }
      : { maximumFractionDigits: oneDecimal ? 1 : 0 };
    var format = new Intl.NumberFormat(locale, options);
    return function (value) { return format.format(value); };
  }

  function config(spec, locale) {
    var format = formatter(spec, locale);
    // Counts get whole-number ticks only (no "1, 1, 2, 2" from rounded halves).
    var ticks = spec.kind === "count" ? { callback: format, precision: 0 } : { callback: format };
    var valueAxis = { beginAtZero: true, ticks: ticks };
    return {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (dataset, index) {
          return { label: dataset.label, data: dataset.data, backgroundColor: COLOURS[index % COLOURS.length] };
        })
      },
      options: {
        locale: locale,
        indexAxis: spec.horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        scales: spec.horizontal ? { x: valueAxis } : { y: valueAxis },
        plugins: {
          legend: { display: spec.datasets.length > 1 },
          tooltip: {
            callbacks: {
              label: function (item) { return item.dataset.label + ": " + format(item.raw); }
            }
          }
        }
      }
    };
  }

  function draw(root) {
    var Chart = window.Chart;
    // Charts of content htmx swapped out: free them before drawing the new ones.
    Object.keys(Chart.instances).forEach(function (id) {
      var chart = Chart.instances[id];
      if (!chart.canvas.isConnected) chart.destroy();
    });
    var locale = document.documentElement.lang || "en";
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (Chart.getChart(canvas)) return;
      new Chart(canvas, config(JSON.parse(canvas.dataset.chart), locale));
      canvas.dataset.drawn = "true"; // for tests and styles: the chart is on screen
    });
  }

  window.KehuReports = { draw: draw };
})();
