// Run by the XSS suite on a loaded page with the selectors of the post
// bodies to exercise; resolves to the report xssReport decodes.
async (roots) => {
  const hits = window.__xssHits;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  if (document.readyState !== "complete") await new Promise((r) => addEventListener("load", r, { once: true }));
  await sleep(100); // images and frames that fail, autofocus, animations
  // A page inspected again (the composer) reports only what is new.
  const out = { load: hits.slice(window.__xssSeen || 0), regions: {}, late: [], elements: 0, marks: [], missing: [] };
  let seen = hits.length;

  // Following an ordinary link is not script running; keep the page.
  const stay = (e) => {
    const a = e.target.closest && e.target.closest("a[href], area[href]");
    if (a && /^(https?|mailto):$/.test(a.protocol)) e.preventDefault();
  };
  if (!window.__xssStay) {
    window.__xssStay = true;
    for (const type of ["click", "auxclick", "dblclick", "keydown", "keypress"]) document.addEventListener(type, stay, true);
  }

  const kind = (t) =>
    /^(pointer|gotpointer|lostpointer)/.test(t) ? PointerEvent :
    /^(mouse|click|dblclick|auxclick|contextmenu)/.test(t) ? MouseEvent :
    /^key/.test(t) ? KeyboardEvent :
    /^(focus|blur)/.test(t) ? FocusEvent :
    t === "wheel" ? WheelEvent :
    /^(drag|drop)/.test(t) ? DragEvent :
    /^animation/.test(t) ? AnimationEvent :
    /^transition/.test(t) ? TransitionEvent :
    /^(before)?input$/.test(t) ? InputEvent : Event;
  // What must never be in a post whether or not it ran: a handler attribute,
  // a script element, or a script or data URL in any attribute.
  const scheme = /^(javascript|vbscript|livescript|data):/i;
  const structure = (el) => {
    if (el.localName === "script") hits.push("dom: a script element");
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) hits.push("dom: " + el.localName + " has " + a.name + "=" + a.value.slice(0, 60));
      else if (scheme.test(a.value.replace(/[\u0000-\u0020\u007f-\u00a0\u1680\u180e\u2000-\u200b\u2028\u2029\u205f\u3000\ufeff]/g, "")))
        hits.push("dom: " + el.localName + " " + a.name + "=" + a.value.slice(0, 60));
    }
  };
  const extra = ["begin", "end", "repeat", "mouseenter", "mouseleave", "focusin", "focusout", "DOMActivate", "DOMFocusIn"];

  for (const sel of roots) {
    const root = document.querySelector(sel);
    if (!root) {
      out.missing.push(sel);
      continue;
    }
    let region = "";
    // Handlers run during dispatchEvent; a turn of the event loop lets what
    // they queue (a javascript: link's script) run before the next region.
    const settle = async () => {
      await sleep(0);
      if (hits.length > seen) (out.regions[region] = out.regions[region] || []).push(...hits.slice(seen));
      seen = hits.length;
    };
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.nodeType === Node.TEXT_NODE) {
        const m = /^XSSMARK(\d+)$/.exec(n.data.trim());
        if (m) {
          await settle();
          region = String(Number(m[1]));
          out.marks.push(region);
        }
        continue;
      }
      out.elements++;
      structure(n);
      if (n.scrollIntoView) n.scrollIntoView({ block: "center" });
      const types = new Set(extra);
      for (const k in n) if (k.startsWith("on")) types.add(k.slice(2));
      for (const t of types) {
        try {
          const C = kind(t);
          n.dispatchEvent(new C(t, { bubbles: false, cancelable: true }));
        } catch (_) {}
      }
      try {
        n.focus();
        n.blur();
        n.click();
      } catch (_) {}
    }
    await settle();
  }
  // What the walk set off later (a javascript: link runs in a task of its
  // own, timers, reports): wait until 50 ms pass without a hit.
  if (roots.length > 0) {
    await sleep(100);
    for (let n = -1, i = 0; n !== hits.length && i < 20; i++) {
      n = hits.length;
      await sleep(50);
    }
  }
  out.late = hits.slice(seen);
  window.__xssSeen = hits.length;
  return out;
}
