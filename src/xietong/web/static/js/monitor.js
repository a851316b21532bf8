// 监管看板: draws the panel's charts (ECharts, vendored) from its JSON data block, again after each htmx refresh;
// a click on a bar or point opens the list of cases (or the unit / matter page) behind it.
(function () {
  "use strict";
  var charts = [];
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var palette = ["#0b5cad", "#1f6f3a", "#a61b1b", "#8a5a00"];

  function base(narrow) {
    return {
      animation: !still, color: palette, textStyle: { fontFamily: "system-ui, sans-serif" },
      grid: { left: narrow ? 8 : 16, right: narrow ? 8 : 24, top: 40, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", confine: true, renderMode: "richText" }
    };
  }
  function percentAxis() { return { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }; }
  function pick(rows, key) { return rows.map(function (r) { return r[key]; }); }

  var builders = {
    trend: function (rows, narrow) {
      var o = base(narrow);
      o.legend = { data: ["申请量", "办结量", "按时办结率"], top: 0 };
      o.xAxis = { type: "category", data: pick(rows, "label") };
      o.yAxis = [{ type: "value", name: narrow ? "" : "件" }, percentAxis()];
      o.series = [
        { name: "申请量", type: "bar", data: pick(rows, "submitted"), hrefs: pick(rows, "submitted_href") },
        { name: "办结量", type: "bar", data: pick(rows, "concluded"), hrefs: pick(rows, "href") },
        { name: "按时办结率", type: "line", yAxisIndex: 1, data: pick(rows, "on_time_rate"), hrefs: pick(rows, "href"),
          tooltip: { valueFormatter: function (v) { return v == null ? "—" : v + "%"; } } }
      ];
      return o;
    },
    regions: function (rows, narrow) { return ranked(rows, narrow); },
    units: function (rows, narrow) { return ranked(rows, narrow); },
    steps: function (rows, narrow) {
      var o = base(narrow);
      var list = rows.slice().reverse();
      o.tooltip = { trigger: "axis", confine: true, renderMode: "richText", axisPointer: { type: "shadow" } };
      o.yAxis = { type: "category", data: pick(list, "name"), axisLabel: { width: narrow ? 90 : 200, overflow: "truncate" } };
      o.legend = { data: ["平均耗时（工作日）", "超时在办"], top: 0 };
      o.xAxis = [{ type: "value", name: "工作日" }, { type: "value", show: false }];
      o.series = [
        { name: "平均耗时（工作日）", type: "bar", barMaxWidth: 24, data: pick(list, "average_days"), hrefs: pick(list, "href") },
        { name: "超时在办", type: "bar", xAxisIndex: 1, barMaxWidth: 24, data: pick(list, "overdue_open"), hrefs: pick(list, "href") }
      ];
      return o;
    }
  };
  function ranked(rows, narrow) {
    var o = base(narrow);
    var list = rows.slice().reverse();
    o.legend = { data: ["按时办结率", "逾期在办"], top: 0 };
    o.tooltip = { trigger: "axis", confine: true, renderMode: "richText", axisPointer: { type: "shadow" } };
    o.xAxis = [percentAxis(), { type: "value", show: false }];
    o.yAxis = { type: "category", data: pick(list, "name"), axisLabel: { width: narrow ? 90 : 180, overflow: "truncate" } };
    o.series = [
      { name: "按时办结率", type: "bar", barMaxWidth: 24, data: pick(list, "on_time_rate"), hrefs: pick(list, "href"),
        tooltip: { valueFormatter: function (v) { return v == null ? "—" : v + "%"; } } },
      { name: "逾期在办", type: "bar", xAxisIndex: 1, barMaxWidth: 24, data: pick(list, "overdue_now"), hrefs: pick(list, "href") }
    ];
    return o;
  }

  function draw(root) {
    var block = root.querySelector ? root.querySelector("#monitor-data") : null;
    if (!block || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent);
    var narrow = window.innerWidth < 600;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var rows = data[el.getAttribute("data-chart")] || [];
      var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "canvas" });
      if (!rows.length) { chart.clear(); chart.setOption({ title: { text: "暂无数据", left: "center", top: "middle", textStyle: { color: "#4d5a68", fontSize: 14 } } }); }
      else { chart.setOption(builders[el.getAttribute("data-chart")](rows, narrow), true); }
      chart.off("click");
      chart.on("click", function (p) {
        var series = chart.getOption().series[p.seriesIndex];
        var href = series && series.hrefs && series.hrefs[p.dataIndex];
        if (href) { window.location.assign(href); }
      });
      el.setAttribute("data-drawn", "1");
      charts.push(chart);
    });
  }
  function forget(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts && window.echarts.getInstanceByDom(el);
      if (chart) { charts = charts.filter(function (c) { return c !== chart; }); chart.dispose(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "monitor-panel") { forget(event.detail.target); }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var panel = document.getElementById("monitor-panel");
    if (panel && (event.detail.elt === panel || panel.contains(event.detail.elt))) { draw(panel); }
  });
  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) { window.clearTimeout(pending); }
    pending = window.setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
  });
})();
