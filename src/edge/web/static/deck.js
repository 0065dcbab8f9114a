// The deck viewer's present mode, and a generation page that follows its job.
"use strict";

function presentMode(count) {
  const items = Array.from(document.querySelectorAll(".slide-item"));
  const status = document.getElementById("slide-status");
  let current = 1;

  function show(number, announce) {
    current = Math.min(Math.max(number, 1), count);
    items.forEach((item, index) => {
      item.classList.toggle("current", index + 1 === current);
    });
    // The slide number in the fragment: a reload stays on this slide.
    history.replaceState(null, "", `${location.pathname}${location.search}#${current}`);
    if (announce && status) {
      status.textContent = `Slide ${current} of ${count}`;
    }
  }

  function leave() {
    const url = new URL(location.href);
    url.searchParams.delete("present");
    location.assign(`${url.pathname}${url.search}#slide-${current}`);
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    const moves = {
      ArrowRight: current + 1, ArrowDown: current + 1, PageDown: current + 1, " ": current + 1,
      ArrowLeft: current - 1, ArrowUp: current - 1, PageUp: current - 1,
      Home: 1, End: count,
    };
    if (event.key === "Escape") {
      event.preventDefault();
      leave();
    } else if (event.key in moves) {
      event.preventDefault();
      show(moves[event.key], true);
    }
  });
  // A click or tap on the slide moves on (the right half) or back (the left).
  document.querySelector(".slides").addEventListener("click", (event) => {
    if (event.target.closest("a, button, summary, details")) {
      return;
    }
    show(event.clientX > window.innerWidth / 2 ? current + 1 : current - 1, true);
  });
  const start = parseInt(location.hash.slice(1), 10);
  show(Number.isNaN(start) ? 1 : start, false);
}

function followGeneration(url) {
  const bar = document.getElementById("gen-progress");
  const status = document.getElementById("gen-status");
  async function poll() {
    try {
      const response = await fetch(url, { headers: { accept: "application/json" } });
      if (response.ok) {
        const job = await response.json();
        if (job.deck) {
          location.assign(job.deck);
          return;
        }
        bar.value = job.percent;
        bar.textContent = `${job.percent}%`;
        const text = (job.step || job.status) + (job.message ? `: ${job.message}` : "");
        if (status.textContent !== text) {
          status.textContent = text;
        }
        if (job.status === "failed") {
          return;
        }
      }
    } catch {
      // The next poll tries again: a restarting server is not the end of the job.
    }
    setTimeout(poll, 1500);
  }
  setTimeout(poll, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  const body = document.body;
  if (body.classList.contains("presenting")) {
    presentMode(parseInt(body.dataset.slides, 10) || 0);
  }
  if (body.dataset.progressUrl) {
    followGeneration(body.dataset.progressUrl);
  }
});
