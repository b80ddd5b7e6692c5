// Draw the dashboard's charts (ECharts, vendored) from the JSON block the page embeds; the tables beside
// them carry the same figures as text. Money on the axes is abbreviated; tooltips show it in full.
(function () {
  var el = document.getElementById("chart-data");
  if (!el || !window.echarts) return;
  var plots = JSON.parse(el.textContent);
  var zh = document.documentElement.lang !== "en";
  var COLORS = {allow: "#2e8b57", warn: "#e0a800", needs_approval: "#3d7dd8", reject: "#c0392b",
                spent: "#2f6fb0", reserved: "#e0a800", available: "#b8c7d9",
                execution_rate: "#2f6fb0", time_elapsed: "#9aa5b1"};
  function money(v) {
    if (v == null) return "—";
    return "¥" + Number(v).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }
  function axisMoney(v) {
    var a = Math.abs(v);
    if (zh) { if (a >= 1e8) return (v / 1e8) + "亿"; if (a >= 1e4) return (v / 1e4) + "万"; return String(v); }
    if (a >= 1e9) return (v / 1e9) + "B"; if (a >= 1e6) return (v / 1e6) + "M"; if (a >= 1e3) return (v / 1e3) + "k";
    return String(v);
  }
  function option(p) {
    var horizontal = p.kind === "hbar";
    var stacked = p.kind === "stacked" || p.kind === "hbar";
    var fmt = p.ratio ? function (v) { return v + "%"; } : p.money ? axisMoney : null;
    var cat = {type: "category", data: p.x, axisLabel: {interval: 0, hideOverlap: true, width: horizontal ? 170 : 110, overflow: "truncate"}};
    if (!horizontal && p.x.length > 8) cat.axisLabel.rotate = 35;
    var val = {type: "value", axisLabel: fmt ? {formatter: fmt} : {}};
    var series = p.series.map(function (s) {
      return {name: s.name, type: p.kind === "line" ? "line" : "bar", data: s.data, stack: stacked ? "all" : undefined,
              itemStyle: COLORS[s.key] ? {color: COLORS[s.key]} : undefined, barMaxWidth: 36,
              emphasis: {focus: "series"}};
    });
    return {
      animation: false, grid: {left: horizontal ? 180 : 60, right: 16, top: 36, bottom: !horizontal && p.x.length > 8 ? 80 : 30, containLabel: false},
      legend: {top: 0, type: "scroll"},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, valueFormatter: function (v) {
        return p.ratio ? (v == null ? "—" : v.toFixed(1) + "%") : p.money ? money(v) : v; }},
      xAxis: horizontal ? val : cat, yAxis: horizontal ? Object.assign(cat, {inverse: true}) : val, series: series
    };
  }
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (node) {
    var p = plots[node.getAttribute("data-chart")];
    if (!p) return;
    if (p.kind === "hbar") node.style.height = Math.max(260, 34 * p.x.length + 60) + "px";
    var c = echarts.init(node, null, {renderer: "svg"});
    c.setOption(option(p));
    charts.push(c);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
