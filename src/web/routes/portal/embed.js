// Surety account portal: tells the page that frames it how tall the portal is and when
// its session has ended (docs/portal.md). Messages go only to the partner's own origin
// (data-parent-origin, or the frame's actual ancestor when it is one of the partner's
// data-frame-origins), never to "*".
(function () {
  "use strict";
  if (window.parent === window) return;
  var body = document.body;
  var origin = body.getAttribute("data-parent-origin");
  var allowed = (body.getAttribute("data-frame-origins") || "").split(" ");
  var ancestors = window.location.ancestorOrigins;
  if (ancestors && ancestors.length && allowed.indexOf(ancestors[0]) >= 0) {
    origin = ancestors[0];
  }
  if (!origin) return;
  function post(msg) {
    window.parent.postMessage(msg, origin);
  }
  var last = -1;
  function resize() {
    var h = document.documentElement.scrollHeight;
    if (h !== last) {
      last = h;
      post({ type: "surety:resize", height: h });
    }
  }
  if (body.getAttribute("data-session") === "ended") {
    post({ type: "surety:session-ended" });
  }
  if (document.readyState === "complete") resize();
  window.addEventListener("load", resize);
  window.addEventListener("resize", resize);
})();
