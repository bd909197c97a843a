// The office console's only script: Telegram Mini App sign-in, and small conveniences.
// Everything works without it but the Mini App sign-in (its data is in the URL's fragment,
// which only a script can read).
(function () {
  "use strict";

  function launchData() {
    var fragment = window.location.hash.slice(1);
    if (!fragment) return null;
    return new URLSearchParams(fragment).get("tgWebAppData");
  }

  function signIn(box, initData) {
    box.querySelector(".signing-in").hidden = false;
    var body = new URLSearchParams({ init_data: initData, next: box.dataset.next });
    fetch(box.dataset.endpoint, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (answer) { return [response.ok, answer]; });
    }).then(function (result) {
      if (result[0] && result[1].ok) {
        window.location.replace(result[1].next);
      } else {
        throw new Error("refused");
      }
    }).catch(function () {
      box.querySelector(".signing-in").hidden = true;
      box.querySelector(".refused").hidden = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("sign-in");
    var initData = launchData();
    if (box && initData) signIn(box, initData);
    // a reply template: its filled text into the form's text box, to be read and changed
    // before sending (without the script, "Use" asks the server for the page so filled)
    document.querySelectorAll("form.use-template").forEach(function (picker) {
      picker.addEventListener("submit", function (event) {
        var option = picker.elements.template.selectedOptions[0];
        var box = picker.parentElement.querySelector("form[method=post] textarea[name=text]");
        if (!option || !box) return;
        event.preventDefault();
        box.value = option.dataset.text;
        box.focus();
      });
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
})();
