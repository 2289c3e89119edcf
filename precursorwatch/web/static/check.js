// The substance field of the notification form: checks what is typed (after a pause) and
// shows the verdict, its evidence and the structure before anything is sent.
(function () {
  "use strict";
  var field = document.querySelector("input[data-check]");
  var out = document.getElementById("substance-check");
  if (!field || !out) { return; }
  var timer = null;
  var asked = "";
  var controller = null;
  function check() {
    var value = field.value.trim();
    if (value === asked) { return; }
    asked = value;
    if (controller) { controller.abort(); }
    if (!value) { out.innerHTML = ""; return; }
    controller = new AbortController();
    out.setAttribute("aria-busy", "true");
    fetch(field.getAttribute("data-check") + "?identifier=" + encodeURIComponent(value),
          {credentials: "same-origin", headers: {"Accept": "application/json"}, signal: controller.signal})
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) {
        if (value !== asked) { return; }
        // The HTML comes from the server's own templates (escaped, SVG sanitised).
        out.innerHTML = data.html || "";
        out.setAttribute("data-verdict", data.verdict || "");
      })
      .catch(function (e) { if (e.name !== "AbortError") { out.textContent = ""; } })
      .finally(function () { out.removeAttribute("aria-busy"); });
  }
  field.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(check, 400);
  });
  field.addEventListener("change", check);
})();
