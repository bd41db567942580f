// Yunshu web UI helpers. Every action works without this file; it only adds checks as you type.
"use strict";
(function () {
  var USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  var UW = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  function usccOk(v) {
    v = v.trim().toUpperCase();
    if (v.length !== 18) return "应为 18 位";
    var s = 0;
    for (var i = 0; i < 17; i++) {
      var n = USCC.indexOf(v[i]);
      if (n < 0) return "第 " + (i + 1) + " 位字符无效";
      s += n * UW[i];
    }
    return USCC[(31 - (s % 31)) % 31] === v[17] ? "" : "校验位错误";
  }
  var RW = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  function ridOk(v) {
    v = v.trim().toUpperCase();
    if (!/^\d{17}[\dX]$/.test(v)) return "应为 17 位数字加 1 位数字或 X";
    var s = 0;
    for (var i = 0; i < 17; i++) s += (+v[i]) * RW[i];
    return "10X98765432"[s % 11] === v[17] ? "" : "校验位错误";
  }
  function mobileOk(v) {
    return /^1[3-9]\d{9}$/.test(v.trim()) ? "" : "应为 11 位手机号码";
  }
  var checks = { uscc: usccOk, rid: ridOk, mobile: mobileOk };
  document.querySelectorAll("input[data-check]").forEach(function (input) {
    var fn = checks[input.getAttribute("data-check")];
    if (!fn) return;
    var hint = document.createElement("span");
    hint.className = "hint-inline";
    input.parentNode.appendChild(hint);
    input.addEventListener("input", function () {
      var msg = input.value ? fn(input.value) : "";
      hint.textContent = msg;
      input.setCustomValidity(msg);
    });
  });
})();
