// The process designer: the vendored bpmn-js modeler plus a small properties panel of our own for what xietong
// adds to BPMN (the xt namespace: assignment rules, 会签/或签, step limits) and for gateway conditions and
// default flows. The server imports and validates what is saved (catalog/drafts.py); this only edits the diagram.
(function () {
  "use strict";
  var root = document.getElementById("process-designer");
  if (!root || typeof window.BpmnJS !== "function") { return; }

  var XT = "https://xietong.dev/schema/bpmn/1";
  var CEL = "https://github.com/google/cel-spec";
  var XT_PACKAGE = {
    name: "xietong", uri: XT, prefix: "xt", xml: { tagAlias: "lowerCase" }, associations: [],
    types: [
      { name: "Assign", superClass: ["Element"], properties: [
        { name: "rule", isAttr: true, type: "String" }, { name: "post", isAttr: true, type: "String" },
        { name: "expr", isAttr: true, type: "String" },
        { name: "units", type: "Unit", isMany: true }, { name: "people", type: "Person", isMany: true }] },
      { name: "Unit", superClass: ["Element"], properties: [
        { name: "ref", isAttr: true, type: "String" }, { name: "function", isAttr: true, type: "String" },
        { name: "code", isAttr: true, type: "String" }] },
      { name: "Person", superClass: ["Element"], properties: [{ name: "code", isAttr: true, type: "String" }] },
      { name: "Multi", superClass: ["Element"], properties: [
        { name: "mode", isAttr: true, type: "String" }, { name: "ratio", isAttr: true, type: "String" }] },
      { name: "Limit", superClass: ["Element"], properties: [{ name: "days", isAttr: true, type: "String" }] },
      { name: "Extensions", superClass: ["Element"], properties: [{ name: "text", isBody: true, type: "String" }] },
      { name: "FlowFlags", isAbstract: true, "extends": ["bpmn:SequenceFlow"], properties: [
        { name: "default", isAttr: true, type: "String" }] },
      { name: "ShapeFlags", isAbstract: true, "extends": ["bpmndi:BPMNShape"], properties: [
        { name: "auto", isAttr: true, type: "String" }] }
    ]
  };
  var RULES = [["post", "某单位的岗位"], ["posts", "多个单位的同一岗位（会签/或签）"], ["applicant_leader", "申请单位分管领导"],
               ["people", "指定人员（人员编号）"], ["expression", "表达式（CEL，得出人员编号列表）"]];
  var UNIT_REFS = [["handling_unit", "办理单位"], ["applicant_unit", "申请单位"], ["function", "本区划内某职能的单位"],
                   ["unit", "指定单位（单位编码）"]];
  var MODES = [["", "一人办理"], ["all", "会签（全部通过）"], ["any", "或签（一人通过）"], ["ratio", "按比例通过"]];

  var readonly = root.hasAttribute("data-readonly");
  var modeler = new window.BpmnJS({ container: "#canvas", moddleExtensions: { xt: XT_PACKAGE } });
  var modeling = modeler.get("modeling");
  var moddle = modeler.get("moddle");
  var registry = modeler.get("elementRegistry");
  var selection = modeler.get("selection");
  var body = document.getElementById("props-body");
  var status = document.getElementById("process-status");
  var current = null;

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrf-token"] || ""; }
    catch (e) { return ""; }
  }

  // --- small DOM helpers (no innerHTML: nothing inline, nothing to escape) ---------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (attrs[k] !== null && attrs[k] !== undefined) { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }
  function field(id, label, control, hint) {
    var wrap = el("div", { "class": "field", id: "wrap-" + id }, [el("label", { "for": id, text: label }), control]);
    if (hint) { wrap.appendChild(el("p", { "class": "hint", text: hint })); }
    return wrap;
  }
  function input(id, value, attrs) {
    var node = el("input", Object.assign({ id: id, name: id }, attrs || {}));
    node.value = value || "";
    return node;
  }
  function select(id, options, value) {
    var node = el("select", { id: id, name: id }, options.map(function (o) { return el("option", { value: o[0], text: o[1] }); }));
    node.value = value || options[0][0];
    return node;
  }
  function textarea(id, value) { var node = el("textarea", { id: id, name: id, rows: "3" }); node.value = value || ""; return node; }
  function value(id) { var node = document.getElementById(id); return node ? node.value.trim() : ""; }

  // --- reading and writing the xt extension elements --------------------------------------------------------
  function extras(bo) { return (bo.extensionElements && bo.extensionElements.values) || []; }
  function extra(bo, type) { return extras(bo).filter(function (v) { return v.$type === type; })[0] || null; }

  function unitText(unit) {
    if (unit.ref === "function") { return "function:" + (unit["function"] || ""); }
    if (unit.ref === "unit") { return "unit:" + (unit.code || ""); }
    return unit.ref || "";
  }
  function unitOf(text) {
    var parts = text.split(":"), ref = parts[0].trim(), rest = parts.slice(1).join(":").trim();
    var attrs = { ref: ref };
    if (ref === "function") { attrs["function"] = rest; }
    if (ref === "unit") { attrs.code = rest; }
    return moddle.create("xt:Unit", attrs);
  }

  function taskPanel(bo) {
    var assign = extra(bo, "xt:Assign") || {};
    var units = assign.units || [];
    var first = units[0] || { ref: "handling_unit" };
    var multi = extra(bo, "xt:Multi");
    var loop = bo.loopCharacteristics;
    var limit = extra(bo, "xt:Limit");
    var mode = multi ? multi.mode : (loop ? "all" : "");
    return [
      field("p-rule", "办理人规则", select("p-rule", RULES, assign.rule || "post")),
      field("p-unit", "单位", select("p-unit", UNIT_REFS, first.ref)),
      field("p-unit-value", "职能或单位编码", input("p-unit-value", first["function"] || first.code || ""), "“本区划内某职能的单位”填职能，“指定单位”填单位编码"),
      field("p-units", "多个单位（每行一个）", textarea("p-units", units.map(unitText).join("\n")), "如 handling_unit、function:市场监管、unit:单位编码"),
      field("p-post", "岗位", input("p-post", assign.post || "")),
      field("p-people", "人员编号（逗号分隔）", input("p-people", (assign.people || []).map(function (p) { return p.code; }).join(","))),
      field("p-expr", "表达式", input("p-expr", assign.expr || "")),
      field("p-mode", "会签方式", select("p-mode", MODES, mode)),
      field("p-order", "签署顺序", select("p-order", [["parallel", "同时"], ["sequential", "依次"]], loop && loop.isSequential ? "sequential" : "parallel")),
      field("p-ratio", "通过比例（0–1）", input("p-ratio", multi && multi.ratio ? multi.ratio : "", { inputmode: "decimal" })),
      field("p-limit", "环节时限（工作日）", input("p-limit", limit ? limit.days : "", { inputmode: "numeric" }))
    ];
  }

  function applyTask(element) {
    var bo = element.businessObject;
    var rule = value("p-rule");
    var attrs = { rule: rule };
    var assignUnits = [], people = [];
    if (rule === "post" || rule === "posts") { attrs.post = value("p-post"); }
    if (rule === "post") { assignUnits = [unitOf(value("p-unit") + ":" + value("p-unit-value"))]; }
    if (rule === "posts") {
      assignUnits = value("p-units").split("\n").map(function (l) { return l.trim(); }).filter(Boolean).map(unitOf);
    }
    if (rule === "people") {
      people = value("p-people").replace(/，/g, ",").split(",").map(function (c) { return c.trim(); }).filter(Boolean)
        .map(function (code) { return moddle.create("xt:Person", { code: code }); });
    }
    if (rule === "expression") { attrs.expr = value("p-expr"); }
    var assign = moddle.create("xt:Assign", attrs);
    assign.units = assignUnits;
    assign.people = people;
    var kept = extras(bo).filter(function (v) { return ["xt:Assign", "xt:Multi", "xt:Limit"].indexOf(v.$type) < 0; });
    var values = kept.concat([assign]);
    var mode = value("p-mode");
    var props = {};
    if (mode) {
      var multiAttrs = { mode: mode };
      if (mode === "ratio") { multiAttrs.ratio = value("p-ratio"); }
      values.push(moddle.create("xt:Multi", multiAttrs));
      props.loopCharacteristics = moddle.create("bpmn:MultiInstanceLoopCharacteristics",
        { isSequential: value("p-order") === "sequential" });
    } else if (bo.loopCharacteristics) {
      props.loopCharacteristics = undefined;
    }
    if (value("p-limit")) { values.push(moddle.create("xt:Limit", { days: value("p-limit") })); }
    props.extensionElements = moddle.create("bpmn:ExtensionElements", { values: values });
    modeling.updateProperties(element, props);
  }

  function flowPanel(bo) {
    var source = bo.sourceRef;
    if (!source || source.$type !== "bpmn:ExclusiveGateway") { return []; }
    var isDefault = source["default"] === bo;
    var box = el("input", { id: "p-default", name: "p-default", type: "checkbox" });
    box.checked = isDefault;
    var condition = bo.conditionExpression ? bo.conditionExpression.body : "";
    return [
      field("p-condition", "条件（CEL，如 form.amount > 100）", input("p-condition", condition)),
      el("div", { "class": "field" }, [box, el("label", { "for": "p-default", text: " 默认出线（其他条件都不成立时走这条）" })])
    ];
  }

  function applyFlow(element) {
    var bo = element.businessObject;
    var source = bo.sourceRef;
    if (!source || source.$type !== "bpmn:ExclusiveGateway") { return; }
    var condition = value("p-condition");
    var isDefault = document.getElementById("p-default").checked;
    modeling.updateProperties(element, {
      conditionExpression: condition && !isDefault
        ? moddle.create("bpmn:FormalExpression", { body: condition, language: CEL }) : undefined
    });
    var gateway = registry.get(source.id);
    if (isDefault) { modeling.updateProperties(gateway, { "default": bo }); }
    else if (source["default"] === bo) { modeling.updateProperties(gateway, { "default": undefined }); }
  }

  function showFor(element) {
    current = element;
    body.textContent = "";
    if (!element || element.type === "bpmn:Process" || element.type === "label") {
      body.appendChild(el("p", { "class": "hint", text: "选中一个环节、网关或连线以编辑它的属性。" }));
      return;
    }
    var bo = element.businessObject;
    var kinds = { "bpmn:UserTask": "办理环节", "bpmn:ExclusiveGateway": "排他网关", "bpmn:ParallelGateway": "并行网关",
                  "bpmn:StartEvent": "开始", "bpmn:EndEvent": "结束", "bpmn:SequenceFlow": "连线" };
    body.appendChild(el("p", { "class": "meta", text: (kinds[bo.$type] || bo.$type + "（不受支持）") + " · " + bo.id }));
    var controls = [field("p-name", "名称", input("p-name", bo.name || ""))];
    if (bo.$type === "bpmn:UserTask") { controls = controls.concat(taskPanel(bo)); }
    if (bo.$type === "bpmn:SequenceFlow") { controls = controls.concat(flowPanel(bo)); }
    var form = el("form", { id: "props-form" }, controls);
    if (!readonly) { form.appendChild(el("button", { type: "submit", id: "apply-props", text: "应用" })); }
    body.appendChild(form);
    toggleTaskInputs();
  }

  function toggleTaskInputs() {
    var rule = value("p-rule");
    if (!rule) { return; }
    var unit = value("p-unit");
    var shown = {
      "wrap-p-unit": rule === "post", "wrap-p-unit-value": rule === "post" && (unit === "function" || unit === "unit"),
      "wrap-p-units": rule === "posts", "wrap-p-post": rule === "post" || rule === "posts",
      "wrap-p-people": rule === "people", "wrap-p-expr": rule === "expression",
      "wrap-p-order": value("p-mode") !== "", "wrap-p-ratio": value("p-mode") === "ratio"
    };
    Object.keys(shown).forEach(function (id) { var node = document.getElementById(id); if (node) { node.hidden = !shown[id]; } });
  }

  body.addEventListener("change", toggleTaskInputs);
  body.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!current || readonly) { return; }
    var element = current;
    var name = value("p-name");
    if ((element.businessObject.name || "") !== name) { modeling.updateProperties(element, { name: name }); }
    if (element.type === "bpmn:UserTask") { applyTask(element); }
    if (element.type === "bpmn:SequenceFlow") { applyFlow(element); }
    showFor(registry.get(element.id));
    var applied = el("p", { "class": "success", role: "status", id: "props-applied", text: "已应用（保存流程后生效）" });
    body.appendChild(applied);
  });

  modeler.get("eventBus").on("selection.changed", function (event) { showFor(event.newSelection[0] || null); });

  // --- load and save ----------------------------------------------------------------------------------------
  function showProblems(answer) {
    status.textContent = "";
    var box = el("div", { "class": answer.valid ? "success" : "notice", id: "save-result" },
      [el("strong", { text: answer.message })]);
    if (answer.problems && answer.problems.length) {
      box.appendChild(el("ul", { "class": "problems" }, answer.problems.map(function (p) {
        return el("li", { "data-element": p.element, text: p.message });
      })));
    }
    status.appendChild(box);
  }
  status.addEventListener("click", function (event) {
    var item = event.target instanceof Element && event.target.closest("[data-element]");
    var element = item && registry.get(item.getAttribute("data-element"));
    if (element) { selection.select(element); }
  });

  var save = document.getElementById("save-process");
  if (save) {
    save.addEventListener("click", function () {
      save.disabled = true;
      modeler.saveXML({ format: true }).then(function (result) {
        return fetch(root.getAttribute("data-save-url"), {
          method: "POST", credentials: "same-origin", body: result.xml,
          headers: { "Content-Type": "application/xml", "x-csrf-token": csrf() }
        });
      }).then(function (response) {
        if (response.headers.get("content-type").indexOf("json") < 0) {
          return response.text().then(function () {
            showProblems({ valid: false, message: "保存失败（" + response.status + "），请刷新后重试", problems: [] });
          });
        }
        return response.json().then(function (answer) {
          showProblems(answer);
        });
      }).catch(function () {
        showProblems({ valid: false, message: "保存失败：网络错误，请重试", problems: [] });
      }).then(function () { save.disabled = false; });
    });
  }

  fetch(root.getAttribute("data-xml-url"), { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      modeler.get("canvas").zoom("fit-viewport");
      root.setAttribute("data-ready", "");
    })
    .catch(function (error) {
      showProblems({ valid: false, message: "流程图无法打开：" + (error && error.message ? error.message : error), problems: [] });
    });
})();
