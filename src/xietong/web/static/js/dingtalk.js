// 免登 inside the messaging app: ask its JS API for a one-time auth code and post it (docs/sso.md).
// DingTalk offers dd.runtime.permission.requestAuthCode (callbacks), 浙政钉's gdt-jsapi dd.getAuthCode (a promise).
(function () {
  "use strict";
  var box = document.getElementById("dingtalk-login");
  if (!box) { return; }
  var form = document.getElementById("dingtalk-form");
  var field = document.getElementById("dingtalk-code");
  var status = document.getElementById("dingtalk-status");
  var corpId = box.getAttribute("data-corp-id") || "";

  function submitWith(code) {
    field.value = code;
    status.textContent = "已取得免登授权码，正在登录…";
    form.submit();
  }
  function failed(reason) {
    status.textContent = "没有取得免登授权码：" + (reason || "请在浙政钉应用内打开本页") + "。";
  }

  if (field.value) { submitWith(field.value); return; }
  var dd = window.dd;
  if (!dd) { return; }
  if (typeof dd.getAuthCode === "function") {
    dd.getAuthCode({ corpId: corpId }).then(function (r) { submitWith(r.code || r.auth_code); }, function (e) {
      failed(e && (e.errorMessage || e.message));
    });
  } else if (dd.runtime && dd.runtime.permission) {
    dd.runtime.permission.requestAuthCode({
      corpId: corpId,
      onSuccess: function (r) { submitWith(r.code); },
      onFail: function (e) { failed(e && (e.errorMessage || e.message)); }
    });
  }
}());
