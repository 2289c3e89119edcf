// Small behaviours for every page; each form works without them.
(function () {
  "use strict";
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
// A file over the exchange's size limit is refused before it is sent, with the reason shown
// next to the field (the server refuses it too).
(function () {
  "use strict";
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.form.addEventListener("submit", function (event) {
      var file = input.files && input.files[0];
      var max = parseInt(input.getAttribute("data-max-bytes"), 10);
      var shown = document.getElementById(input.id + "-size-error");
      if (shown) { shown.remove(); }
      if (file && file.size > max) {
        event.preventDefault();
        var p = document.createElement("p");
        p.id = input.id + "-size-error";
        p.className = "error";
        p.setAttribute("role", "alert");
        p.textContent = input.getAttribute("data-too-large");
        input.insertAdjacentElement("afterend", p);
        input.setAttribute("aria-describedby", p.id);
        input.focus();
      }
    });
  });
})();
