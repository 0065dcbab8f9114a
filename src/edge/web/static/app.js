// Chronicle's pages: the few things a person expects a page to do by itself.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // A page showing a new key was the answer to a POST: make a reload fetch the
  // settings page again rather than send the form twice.
  const replaceUrl = document.body.dataset.replaceUrl;
  if (replaceUrl) {
    history.replaceState(null, "", replaceUrl);
  }

  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      const status = document.getElementById("copy-status");
      field.select();
      let copied = false;
      try {
        await navigator.clipboard.writeText(field.value);
        copied = true;
      } catch {
        // No clipboard API (a page not served over https): the browser's own copy.
        copied = document.execCommand("copy");
      }
      if (status) {
        status.textContent = copied ? "Copied to the clipboard." : "Select the key and copy it.";
      }
    });
  }
});
