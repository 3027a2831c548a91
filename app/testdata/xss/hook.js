// Installed by the XSS suite (app/xss_browser_test.go) in every frame before
// any page script runs. Whatever a post manages to run is recorded in
// window.__xssHits of the top window (or of this frame when the top is out
// of reach) instead of acting.
(() => {
  let hits = [];
  try {
    if (window !== top && Array.isArray(top.__xssHits)) hits = top.__xssHits;
  } catch (_) {}
  Object.defineProperty(window, "__xssHits", { value: hits });
  const where = () => (window === top ? "" : " (in a frame: " + location.href.slice(0, 60) + ")");
  const record = (what) => hits.push(String(what).slice(0, 200) + where());
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = function (msg) {
      record(name + "(" + (msg === undefined ? "" : msg) + ")");
      return name === "confirm" ? false : null;
    };
  }
  window.open = function (u) {
    record("window.open(" + u + ")");
    return null;
  };
  // In report-only mode a violation is script (or style, or a frame) that
  // the CSP would have stopped but the sanitizer let through.
  addEventListener("securitypolicyviolation", (e) => {
    if (e.isTrusted) record("csp " + e.effectiveDirective + " " + e.blockedURI + " " + (e.sample || ""));
  }, true);
})();
