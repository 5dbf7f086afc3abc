/* streamui widget behaviour: keys, the prompt's life, resuming, the SSE fallback and
   client-observed timing. Everything the user reads arrives as htmx out-of-band swaps;
   this file only adds what HTML cannot say. No inline script anywhere, so a strict CSP
   works. */
(function () {
  "use strict";

  function widgetOf(el) { return el && el.closest ? el.closest("[data-streamui=widget]") : null; }
  function hook(widget, name) { return widget.querySelector("[data-streamui=" + name + "]"); }
  function state(widget) { var s = hook(widget, "status"); return s ? s.getAttribute("data-state") : "idle"; }

  // --- connection state: Send is disabled until the socket is open ------------------------
  // (a native form submission would reload the page and lose the prompt)
  function setConnected(widget, connected) {
    if (connected) widget.setAttribute("data-connected", ""); else widget.removeAttribute("data-connected");
    var send = hook(widget, "send");
    if (send) send.disabled = !connected;
  }

  document.addEventListener("htmx:ws:after:connection", function (event) {
    var widget = widgetOf(event.target);
    if (!widget) return;
    widget.setAttribute("data-ws-opened", "");
    setConnected(widget, true);
    // A stream still under way (after a refresh, a dropped socket or a worker hop): replay
    // its journal from the last sequence number this page applied, then follow it live.
    var status = hook(widget, "status");
    var stream = status && status.getAttribute("data-stream");
    if (stream && state(widget) === "streaming") {
      var seq = widget.getAttribute("data-stream") === stream ? Number(widget.getAttribute("data-seq") || 0) : 0;
      var socket = event.detail && event.detail.connection && event.detail.connection.socket;
      if (socket) socket.send(JSON.stringify({ action: "resume", stream: stream, after: seq }));
    }
  });

  document.addEventListener("htmx:ws:close", function (event) {
    var widget = widgetOf(event.target);
    if (!widget) return;
    setConnected(widget, false);
    if (widget.getAttribute("data-transport") === "auto" && !widget.hasAttribute("data-ws-opened")) {
      var failures = Number(widget.getAttribute("data-ws-failures") || 0) + 1;
      widget.setAttribute("data-ws-failures", String(failures));
      if (failures >= 2) useServerSentEvents(widget);
    }
  });

  document.addEventListener("submit", function (event) {
    var widget = widgetOf(event.target);
    if (widget && !widget.hasAttribute("data-connected")) event.preventDefault();
  }, true);

  // --- the SSE fallback: the same widget over plain HTTP ---------------------------------
  function useServerSentEvents(widget) {
    var clone = widget.cloneNode(true);  // a clone carries no htmx listeners of the ws transport
    clone.removeAttribute("hx-ws:connect");
    clone.setAttribute("data-transport", "sse");
    var form = hook(clone, "form");
    form.removeAttribute("hx-ws:send");
    form.setAttribute("hx-post", clone.getAttribute("data-sse-send"));
    form.setAttribute("hx-swap", "none");
    [["stop", "data-sse-stop"], ["new", "data-sse-new"]].forEach(function (pair) {
      var button = hook(clone, pair[0]);
      button.removeAttribute("hx-ws:send");
      button.removeAttribute("hx-vals");
      button.setAttribute("hx-post", clone.getAttribute(pair[1]));
      button.setAttribute("hx-swap", "none");
    });
    widget.replaceWith(clone);
    setConnected(clone, true);
    htmx.process(clone);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof WebSocket === "undefined") {
      document.querySelectorAll("[data-streamui=widget][data-transport=auto]").forEach(useServerSentEvents);
    }
  });

  // --- keys ------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    var widget = widgetOf(event.target) || document.querySelector("[data-streamui=widget]");
    if (!widget) return;
    if (event.key === "Enter" && !event.shiftKey && event.target.matches("[data-streamui=prompt]")) {
      event.preventDefault();
      if (state(widget) !== "streaming" && widget.hasAttribute("data-connected")) hook(widget, "form").requestSubmit();
    } else if (event.key === "Escape" && state(widget) === "streaming") {
      event.preventDefault();
      hook(widget, "stop").click();
    }
  });

  // Retry after a failure: the same prompt again, sent as a new stream (the user sees it as a new turn).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-streamui=retry]");
    var widget = widgetOf(button);
    if (!button || !widget || state(widget) === "streaming" || !widget.hasAttribute("data-connected")) return;
    hook(widget, "prompt").value = button.getAttribute("data-prompt") || "";
    hook(widget, "form").requestSubmit();
  });

  // "revised" marks: the original wording of a corrected phrase, one click away.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".streamui-revised-mark");
    if (!button) return;
    var original = button.nextElementSibling;
    if (original && original.classList.contains("streamui-revised-original")) {
      original.hidden = !original.hidden;
      button.setAttribute("aria-expanded", String(!original.hidden));
    }
  });

  // The "Thinking…" indicator counts seconds while reasoning streams.
  setInterval(function () {
    document.querySelectorAll("[data-streamui-ticking]").forEach(function (el) {
      var started = Number(el.getAttribute("data-started") || 0);
      if (!started) { started = performance.now(); el.setAttribute("data-started", String(started)); }
      el.textContent = ((performance.now() - started) / 1000).toFixed(1) + " s";
    });
  }, 200);

  // --- frames: sequence numbers, the prompt's life, client-observed timing ------------------
  document.addEventListener("htmx:ws:before:message:incoming", function (event) {
    var widget = widgetOf(event.target);
    var data = event.detail && event.detail.message && event.detail.message.data;
    if (!widget || typeof data !== "string") return;
    var frame;
    try { frame = JSON.parse(data); } catch (e) { return; }  // every server frame is JSON
    if (frame && frame.stream && typeof frame.seq === "number") {
      widget.setAttribute("data-stream", frame.stream);
      widget.setAttribute("data-seq", String(frame.seq));
    }
  });

  var streams = new WeakMap();

  function afterFrame(widget, report) {
    var status = hook(widget, "status");
    var current = streams.get(widget);
    var streamId = status.getAttribute("data-stream");
    var now = performance.now();
    if (state(widget) === "streaming") {
      if (!current || current.id !== streamId) {
        current = { id: streamId, start: now, marks: [], reported: false };
        streams.set(widget, current);
        hook(widget, "prompt").value = "";  // the server accepted the prompt: it is in the log now
      } else {
        current.marks.push(Math.round((now - current.start) * 100) / 100);
      }
    } else if (current && !current.reported && current.id === streamId) {
      current.reported = true;
      if (report) report({ action: "timing", stream: current.id, timings: { marks: current.marks } });
      widget.dispatchEvent(new CustomEvent("streamui:stream-end", { bubbles: true, detail: { stream: current.id, state: state(widget), marks: current.marks } }));
    }
  }

  // When each fragment landed in the DOM, reported at the end of the stream.
  document.addEventListener("htmx:ws:after:message:incoming", function (event) {
    var widget = widgetOf(event.target);
    if (!widget) return;
    var socket = event.detail && event.detail.connection && event.detail.connection.socket;
    afterFrame(widget, function (message) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    });
  });
  document.addEventListener("htmx:sse:after:message", function (event) {
    var widget = widgetOf(event.target);
    if (widget) afterFrame(widget, null);
  });
})();
