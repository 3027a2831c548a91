// Progressive enhancements only: every page works without this file.
"use strict";

// csrfToken is the token the page was rendered with, for fetch calls.
function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// debounce runs fn once the calls stop for ms milliseconds.
function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// Live preview: <textarea data-preview="#box"> renders into #box .preview-body
// through POST /api/v1/preview. The server returns sanitized HTML (the same
// markup.Render a saved post goes through), so it is inserted as is.
function livePreview(area) {
  const box = document.querySelector(area.dataset.preview);
  if (!box) return;
  const target = box.querySelector(".preview-body") || box;
  let seq = 0;
  const update = debounce(async () => {
    const body = area.value;
    const mine = ++seq;
    if (body.trim() === "") {
      box.hidden = true;
      return;
    }
    try {
      const res = await fetch("/api/v1/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ body }),
      });
      if (!res.ok || mine !== seq) return;
      const data = await res.json();
      target.innerHTML = data.html;
      box.hidden = false;
    } catch (_) {
      // Offline or the server refused: the Preview button still works.
    }
  }, 350);
  area.addEventListener("input", update);
}

// Similar topics: <input data-similar="#box"> lists up to five topics whose
// titles resemble the draft, from GET /api/v1/topics/similar.
function similarTopics(input) {
  const box = document.querySelector(input.dataset.similar);
  if (!box) return;
  const list = box.querySelector("ul") || box;
  let seq = 0;
  const update = debounce(async () => {
    const title = input.value.trim();
    const mine = ++seq;
    if (title.length < 4) {
      box.hidden = true;
      return;
    }
    try {
      const res = await fetch("/api/v1/topics/similar?title=" + encodeURIComponent(title), { credentials: "same-origin" });
      if (!res.ok || mine !== seq) return;
      const data = await res.json();
      const items = (data.items || []).slice(0, 5);
      list.replaceChildren(...items.map((t) => {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = t.url;
        a.textContent = t.title;
        a.target = "_blank";
        a.rel = "noopener";
        li.append(a);
        if (t.solved_post_id) {
          const tag = document.createElement("span");
          tag.className = "solved-tag";
          tag.textContent = "✓ Solved";
          li.append(" ", tag);
        }
        return li;
      }));
      box.hidden = items.length === 0;
    } catch (_) {
      // Suggestions are a nicety; ignore failures.
    }
  }, 400);
  input.addEventListener("input", update);
}

// Likes without a reload: the form still posts to /p/{id}/like when this fails.
function likeForm(form) {
  form.addEventListener("submit", async (ev) => {
    const btn = form.querySelector("button");
    if (!btn || btn.disabled) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    const liked = btn.classList.contains("liked");
    btn.disabled = true;
    try {
      const res = await fetch("/api/v1/posts/" + form.dataset.postId + "/like", {
        method: liked ? "DELETE" : "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken() },
      });
      if (!res.ok) {
        form.submit(); // let the server explain on its error page
        return;
      }
      const data = await res.json();
      const now = !liked;
      btn.classList.toggle("liked", now);
      btn.setAttribute("aria-pressed", String(now));
      btn.title = now ? "Unlike this post" : "Like this post";
      btn.querySelector(".heart").textContent = now ? "♥" : "♡";
      btn.querySelector(".like-count").textContent = String(data.like_count);
    } catch (_) {
      form.submit();
    } finally {
      btn.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.like-form")) likeForm(form);

  // Prevent double submits: disable a form's buttons once it is sent.
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", () => {
      // Later, so the clicked button's name=value (e.g. preview=1) is still sent.
      for (const b of form.querySelectorAll("button[type=submit]")) {
        setTimeout(() => { b.disabled = true; }, 0);
      }
    });
  }

  for (const area of document.querySelectorAll("textarea[data-preview]")) livePreview(area);
  for (const input of document.querySelectorAll("input[data-similar]")) similarTopics(input);

  // Ctrl/Cmd+Enter sends the form a textarea belongs to.
  for (const area of document.querySelectorAll("textarea")) {
    area.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && area.form) {
        ev.preventDefault();
        area.form.requestSubmit();
      }
    });
  }

  // A quoted or prefilled reply: put the cursor at its end.
  const reply = document.querySelector("#reply-body");
  if (reply && reply.value !== "" && location.hash === "#reply") {
    reply.focus();
    reply.setSelectionRange(reply.value.length, reply.value.length);
  }
});
