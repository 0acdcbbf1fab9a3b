// Keeps a patient's answers as they type (a closed tab on the phone loses nothing):
// a change posts the form to the same address with action=save, as the "Save and
// finish later" button does, a moment after the last change.
(function () {
  "use strict";
  const form = document.querySelector("form[data-draft-form]");
  if (!form || !window.fetch) return;
  const status = document.querySelector("[data-draft-status]");
  let timer = null;

  async function save() {
    const data = new FormData(form);
    data.set("action", "save");
    try {
      const response = await fetch(window.location.href, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "threadline-draft" },
      });
      if (status) {
        status.textContent = response.ok
          ? "Your answers so far are saved."
          : "Your answers could not be saved just now; they are still on this page.";
      }
    } catch (error) {
      if (status) status.textContent = "Not saved: no connection. Your answers are still on this page.";
    }
  }

  form.addEventListener("change", function () {
    clearTimeout(timer);
    timer = setTimeout(save, 800);
  });
})();
