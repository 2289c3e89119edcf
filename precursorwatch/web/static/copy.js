// A "copy" button copies the text of the field it names and says so; without script the
// field's text can still be selected and copied by hand.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var name = button.getAttribute("data-copy");
    var field = document.getElementById(name);
    var said = document.querySelector("[data-copy-status='" + name + "']");
    if (!field) { return; }
    button.hidden = false;
    var done = function () { if (said) { said.textContent = button.getAttribute("data-copied"); } };
    var byHand = function () {  // pages served over plain http have no clipboard API
      field.focus();
      field.select();
      try { if (document.execCommand("copy")) { done(); } } catch (e) { /* selected: copy by hand */ }
    };
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, byHand);
      } else {
        byHand();
      }
    });
  });
})();
