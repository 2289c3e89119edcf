// Small behaviours for every page; each form works without them.
(function () {
  "use strict";
  // The language switcher sends itself when a language is chosen.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // The answer form asks for a reason only with an objection.
  var answer = document.getElementById("answer-form");
  if (answer) {
    var reason = answer.querySelector("textarea[name=reason]");
    var sync = function () {
      var objection = answer.querySelector("input[name=decision][value=objection]");
      if (reason && objection) { reason.required = objection.checked; }
    };
    answer.querySelectorAll("input[name=decision]").forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  }
})();
