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
    if (!widget) return;
    if (!widget.hasAttribute("data-connected")) { event.preventDefault(); return; }
    beforeSend(widget);
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
    restoreSettings(clone);
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
    var frame, first = data.charAt(0);
    if (first >= "0" && first <= "9") {
      // The tail's own markup appended into the last output's open path, its depth the digit: each
      // step the last element child, whatever its tag (streamui.wire_payload). htmx swaps nothing.
      frame = { h: data.slice(1), p: new Array(Number(first) + 1).join(" *") };
      event.detail.message.data = "{}";
    } else if (first !== "{" && first !== "\"") {
      // A text append and nothing else, sent as the text itself (streamui.wire.payload). htmx is handed
      // an empty JSON object instead, so it swaps nothing and still reports the frame as landed.
      frame = { a: data };
      event.detail.message.data = "{}";
    } else {
      try { frame = JSON.parse(data); } catch (e) { return; }  // every other server frame is JSON
    }
    if (typeof frame === "string") frame = { a: frame };  // a text append as a JSON string (streamui.wire)
    if (!frame || typeof frame !== "object") return;
    var compact = frame.content === undefined && ["a", "h", "z", "r", "f", "F", "g", "k", "s"].some(function (key) { return frame[key] !== undefined; });
    if (typeof frame.seq === "number") {
      if (typeof frame.stream === "string") widget.setAttribute("data-stream", frame.stream);
      widget.setAttribute("data-seq", String(frame.seq));
    } else if (compact && typeof frame.stream === "string") {
      // A compact frame that names a new stream without `seq` is its first entry (streamui.wire).
      widget.setAttribute("data-stream", frame.stream);
      widget.setAttribute("data-seq", "1");
    } else if (compact) {
      // A compact frame without `seq` is the journal entry after the last one (streamui.wire).
      widget.setAttribute("data-seq", String(Number(widget.getAttribute("data-seq") || 0) + 1));
    }
    try { applyCompact(widget, frame); } catch (e) { if (window.console) console.error("streamui: frame", e); }
  });

  // --- compact frames (streamui/wire.py): u, a, h, z, r, figures, k, s, before htmx swaps `content` ---
  var appendTargets = new WeakMap();  // widget -> the selector its text appends go to

  // `OUT tag tag` (streamui.wire's `p` and `q`): `#OUT-tail > tag:last-child > ...`, or null.
  var lastOutputs = new WeakMap();  // widget -> the output its last q, p, o or r named (streamui.wire)

  // An output a frame names (a number: that message's, fragments.output_id), or the last one named when
  // it leaves it out (`""`, a path starting with a space).
  function outputOf(widget, named) {
    if (/^\d+$/.test(named)) named = messageId(widget, named) + "-out";
    if (named) lastOutputs.set(widget, named);
    return lastOutputs.get(widget) || "";
  }

  // A message's id (fragments.turn_id), spelled as the turn template's placeholder is.
  function messageId(widget, id) {
    var template = hook(widget, "turn-template");
    var placeholder = (template && template.getAttribute("data-placeholder")) || "su-m0";
    return placeholder.replace(/\d+$/, "") + Number(id);
  }

  // The status line's text for a state (fragments.STATUS_TEXT, the widget's data-status-labels).
  var labels = new WeakMap();
  function statusLabel(widget, state) {
    if (!labels.has(widget)) {
      var parsed = {};
      try { parsed = JSON.parse(widget.getAttribute("data-status-labels") || "{}") || {}; } catch (e) { /* none */ }
      labels.set(widget, parsed);
    }
    var known = labels.get(widget);
    return Object.prototype.hasOwnProperty.call(known, state) ? String(known[state]) : state;
  }

  function tailPath(widget, path) {
    var steps = path.split(" ");
    steps[0] = outputOf(widget, steps[0]);
    if (!/^[\w-]+$/.test(steps[0]) || !steps.slice(1).every(function (t) { return /^([a-z][a-z0-9]*|\*)$/.test(t); })) return null;
    return "#" + steps[0] + "-tail" + steps.slice(1).map(function (t) { return " > " + t + ":last-child"; }).join("");
  }

  function applyCompact(widget, frame) {
    if (Array.isArray(frame.u)) appendTurn(widget, frame.u);
    if (typeof frame.t === "string") appendTargets.set(widget, frame.t);
    if (typeof frame.q === "string") appendTargets.set(widget, tailPath(widget, frame.q));
    if (typeof frame.a === "string" && frame.a) {
      var selector = appendTargets.get(widget);
      // The selector is looked up now, as htmx would for `beforeend:SELECTOR`; the text is a text
      // node, never parsed as HTML.
      if (selector) document.querySelectorAll(selector).forEach(function (el) { el.appendChild(document.createTextNode(frame.a)); });
    }
    if (typeof frame.h === "string" && typeof frame.p === "string") {
      // The server's own markup (as htmx's `beforeend:#OUT-tail > tag:last-child > ...` would insert it).
      var path = tailPath(widget, frame.p);
      if (path) document.querySelectorAll(path).forEach(function (el) { el.insertAdjacentHTML("beforeend", frame.h); });
    }
    if (typeof frame.z === "number") freezeTail(outputOf(widget, typeof frame.o === "string" ? frame.o : ""), frame.z);
    if (Array.isArray(frame.r) && /^[\w-]*$/.test(String(frame.r[0]))) {
      // The server's own markup in place of the tail's (htmx's innerHTML swap of fragments.replace_tail).
      var tail = document.getElementById(outputOf(widget, String(frame.r[0])) + "-tail");
      if (tail) tail.innerHTML = String(frame.r[1]);
    }
    if (Array.isArray(frame.F)) {
      // A socket's first figures: the server's <dl> from the widget's template, as htmx's outerHTML swap
      // of fragments.figures leaves it (without hx-swap-oob), holding these values in its order.
      var shown = hook(widget, "figures"), template = widget.querySelector("template[data-streamui=figures-template]");
      if (shown && template && template.content) {
        var dl = template.content.firstElementChild.cloneNode(true);
        dl.removeAttribute("hx-swap-oob");
        dl.querySelectorAll("dd[data-figure]").forEach(function (dd, i) {
          if (i < frame.F.length && String(frame.F[i])) dd.textContent = String(frame.F[i]);
        });
        shown.replaceWith(dl);
      }
    }
    if (Array.isArray(frame.g)) {
      // Changed figures by position in the template's order (null: unchanged).
      var order = widget.querySelector("template[data-streamui=figures-template]");
      var keys = order && order.content ? [].map.call(order.content.querySelectorAll("dd[data-figure]"),
        function (dd) { return dd.getAttribute("data-figure"); }) : [];
      var delta = {};
      frame.g.forEach(function (value, i) { if (value !== null && i < keys.length) delta[keys[i]] = value; });
      frame.f = delta;
    }
    if (frame.f && typeof frame.f === "object") {
      var figures = hook(widget, "figures");
      if (figures) Object.keys(frame.f).forEach(function (key) {
        var dd = figures.querySelector("dd[data-figure=\"" + CSS.escape(key) + "\"]");
        if (dd) dd.textContent = String(frame.f[key]);
      });
    }
    if (Array.isArray(frame.k)) {
      // An answer's mark: what htmx's outerHTML swap of fragments.replace_mark leaves.
      // A number names the message (its trailing empty title and label left out).
      var mark = document.getElementById(typeof frame.k[0] === "number" ? messageId(widget, frame.k[0]) + "-mark" : String(frame.k[0]));
      if (mark) {
        mark.setAttribute("data-status", String(frame.k[1]));
        mark.setAttribute("title", String(frame.k[2] || ""));
        mark.textContent = String(frame.k[3] || "");
      }
    }
    if (Array.isArray(frame.s)) {
      // The status line, as fragments.status draws it; the label is the server's text.
      var status = hook(widget, "status");
      if (status) {
        status.setAttribute("data-state", String(frame.s[0]));
        // 0: the frame's own stream, which the widget holds (data-stream, set from `stream` above).
        status.setAttribute("data-stream", frame.s[1] === 0 ? (widget.getAttribute("data-stream") || "") : String(frame.s[1]));
        status.textContent = typeof frame.s[2] === "string" ? frame.s[2] : statusLabel(widget, String(frame.s[0]));
      }
    }
  }

  // The answer to `send` (streamui.wire's `u`): the error cleared, the conversation kept, and the
  // turn shell the server rendered into the widget's <template> cloned with the two message ids;
  // the prompt goes in as text, never parsed as HTML.
  function appendTurn(widget, turn) {
    var template = hook(widget, "turn-template"), log = hook(widget, "log");
    if (!template || !log || !template.content) throw new Error("no turn template");
    var box = hook(widget, "error");
    if (box) {
      while (box.firstChild) box.removeChild(box.firstChild);
      box.removeAttribute("data-humanized");
    }
    // A prompt or conversation left out (null, absent) is the one this widget sent.
    var conversation = document.getElementById(widget.id + "-conversation");
    if (conversation && typeof turn[3] === "string") { conversation.setAttribute("value", turn[3]); conversation.value = turn[3]; }
    var placeholder = template.getAttribute("data-placeholder");
    var shell = template.content.cloneNode(true);
    var turns = [].filter.call(shell.childNodes, function (n) { return n.nodeType === 1; });
    [turn[0], turn[1]].forEach(function (id, i) {
      var root = turns[i], real = messageId(widget, id);
      [root].concat([].slice.call(root.querySelectorAll("[id]"))).forEach(function (el) {
        var old = el.id;
        if (old === placeholder || old.indexOf(placeholder + "-") === 0) el.id = real + old.slice(placeholder.length);
      });
    });
    turns[0].querySelector(".streamui-text").textContent = typeof turn[2] === "string" ? turn[2] : (sentPrompts.get(widget) || "");
    log.appendChild(shell);
  }

  // Frozen blocks the tail already shows: its first `count` elements (and the whitespace between and
  // after them, up to the next element) move into the blocks, the very DOM appending their HTML makes.
  function freezeTail(outputId, count) {
    var tail = document.getElementById(outputId + "-tail"), blocks = document.getElementById(outputId + "-blocks");
    if (!tail || !blocks) return;
    var moved = 0;
    while (tail.firstChild) {
      if (tail.firstChild.nodeType === 1) {
        if (moved === count) break;
        moved++;
      }
      blocks.appendChild(tail.firstChild);
    }
  }

  var streams = new WeakMap();

  function afterFrame(widget, report) {
    var status = hook(widget, "status");
    var current = streams.get(widget);
    var streamId = status.getAttribute("data-stream");
    var now = performance.now();
    quietOutputs(widget);
    labelFigures(widget);
    humanizeError(widget);
    if (state(widget) === "streaming") {
      if (!current || current.id !== streamId) {
        current = { id: streamId, start: now, marks: [], reported: false };
        streams.set(widget, current);
        hook(widget, "prompt").value = "";  // the server accepted the prompt: it is in the log now
        streamStarted(widget);
      } else {
        current.marks.push(Math.round((now - current.start) * 100) / 100);
      }
      follow(widget);
    } else if (current && !current.reported && current.id === streamId) {
      current.reported = true;
      streamEnded(widget, state(widget));
      follow(widget);
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

  // --- the page follows the answer ----------------------------------------------------------
  // While an answer streams, the newest text is kept just above the sticky dock, unless the
  // user scrolled up to read: then it stays put and "Jump to latest" brings it back.
  var following = new WeakMap();
  var expectedScroll = null;

  function hiddenBelow(widget) {
    var log = hook(widget, "log"), dock = hook(widget, "dock");
    if (!log || !dock) return 0;
    return log.getBoundingClientRect().bottom - dock.getBoundingClientRect().top;
  }

  function scrollToLatest(widget) {
    var below = hiddenBelow(widget);
    if (below > 1) {
      expectedScroll = window.scrollY + below + 8;
      window.scrollBy({ top: below + 8, left: 0, behavior: "instant" });
    }
    updateJump(widget);
  }

  function updateJump(widget) {
    var jump = hook(widget, "jump");
    if (jump) jump.hidden = following.get(widget) !== false || hiddenBelow(widget) <= 40;
  }

  function follow(widget) {
    if (following.get(widget) === false) updateJump(widget); else scrollToLatest(widget);
  }

  window.addEventListener("scroll", function () {
    var programmatic = expectedScroll !== null && Math.abs(window.scrollY - expectedScroll) < 3;
    expectedScroll = null;
    document.querySelectorAll("[data-streamui=widget]").forEach(function (widget) {
      if (!programmatic) following.set(widget, hiddenBelow(widget) <= 40);
      updateJump(widget);
    });
  }, { passive: true });

  document.addEventListener("click", function (event) {
    var jump = event.target.closest && event.target.closest("[data-streamui=jump]");
    var widget = widgetOf(jump);
    if (!jump || !widget) return;
    following.set(widget, true);
    scrollToLatest(widget);
  });

  // --- screen readers: the status line speaks, the streaming text does not -------------------
  function quietOutputs(widget) {
    widget.querySelectorAll("[data-streamui=output][aria-live=polite]").forEach(function (el) {
      el.setAttribute("aria-live", "off");
    });
  }

  function announce(widget, text) {
    var region = hook(widget, "announce");
    if (region) region.textContent = text;
  }

  // --- live figures: reset when an answer starts, each explained ----------------------------
  function labelFigures(widget) {
    var figures = hook(widget, "figures");
    if (!figures) return;
    figures.querySelectorAll("dd[data-figure]").forEach(function (dd) {
      var help = widget.querySelector("[data-help=" + dd.getAttribute("data-figure") + "]");
      if (help && dd.parentNode) dd.parentNode.title = help.textContent;
    });
  }

  function resetFigures(widget) {
    var figures = hook(widget, "figures");
    if (!figures) return;
    figures.querySelectorAll("dd[data-figure]").forEach(function (dd) {
      if (dd.getAttribute("data-figure") !== "strategy") dd.textContent = "–";
    });
    figures.setAttribute("data-reset", "");
  }

  // --- the reasoning timer ----------------------------------------------------------------
  function stopThinking(widget, how) {
    widget.querySelectorAll("[data-streamui-ticking]").forEach(function (el) {
      var started = Number(el.getAttribute("data-started") || 0);
      var seconds = started ? (performance.now() - started) / 1000 : 0;
      var summary = el.closest("summary");
      if (summary) summary.textContent = "Thought for " + seconds.toFixed(1) + " s (" + how + ")";
      else el.removeAttribute("data-streamui-ticking");
    });
  }

  var sentPrompts = new WeakMap();  // widget -> the prompt it last sent, which `u` may leave out

  function beforeSend(widget) {
    var prompt = hook(widget, "prompt");
    if (prompt) sentPrompts.set(widget, prompt.value);
    following.set(widget, true);
    resetFigures(widget);
    var stall = hook(widget, "stall-next");
    var control = hook(widget, "stall-control");
    var upstream = hook(widget, "upstream");
    if (stall && stall.checked && control && upstream && !control.hidden) {
      // The next answer only: the stall profile, beside passthrough so the difference shows.
      widget.setAttribute("data-restore-upstream", upstream.value);
      upstream.value = control.getAttribute("data-stall-upstream");
      var compare = hook(widget, "compare"), strategy = hook(widget, "strategy");
      if (compare && !compare.value) compare.value = "passthrough";
      if (strategy && (strategy.value === "passthrough" || strategy.value === "auto")) strategy.value = "adaptive";
      stall.checked = false;
    }
  }

  function streamStarted(widget) {
    following.set(widget, true);
    var restore = widget.getAttribute("data-restore-upstream");
    if (restore) {
      hook(widget, "upstream").value = restore;
      widget.removeAttribute("data-restore-upstream");
      syncSettings(widget);
    }
    announce(widget, "Answering…");
  }

  function streamEnded(widget, how) {
    if (how !== "done") stopThinking(widget, how);
    announce(widget, how === "done" ? "Answer complete." : "Answer " + how + ".");
  }

  // --- settings: linked pickers, kept across reloads -----------------------------------------
  function storageKey(widget, name) { return (widget.getAttribute("data-storage-key") || "streamui:") + ":" + name; }

  function store(widget, name, value) {
    try { window.localStorage.setItem(storageKey(widget, name), value); } catch (e) { /* private mode */ }
  }

  function stored(widget, name) {
    try { return window.localStorage.getItem(storageKey(widget, name)); } catch (e) { return null; }
  }

  function selectedText(select) {
    var option = select.options[select.selectedIndex];
    return option ? option.textContent.trim() : "";
  }

  function syncSettings(widget) {
    var upstream = hook(widget, "upstream"), output = hook(widget, "output-mode");
    var json = output && output.value === "json";
    widget.querySelectorAll("[data-text-only]").forEach(function (field) {
      var select = field.querySelector("select");
      if (json) field.setAttribute("data-disabled", ""); else field.removeAttribute("data-disabled");
      if (select) { select.disabled = !!json; select.title = json ? "Not used for JSON output (widgets are not smoothed)" : ""; }
    });
    var control = hook(widget, "stall-control");
    if (control) control.hidden = !(upstream && /^simulated:stall/.test(upstream.value)) || !!json;
    var note = hook(widget, "simulated-note");
    if (note && upstream) note.hidden = !/^(simulated|trace):/.test(upstream.value);
    var summary = hook(widget, "settings-summary");
    if (summary) {
      var parts = [];
      ["upstream", "output-mode", "strategy", "compare", "policy"].forEach(function (name) {
        var select = hook(widget, name);
        if (select && !select.disabled && select.value) parts.push((name === "compare" ? "vs " : "") + selectedText(select));
      });
      summary.textContent = parts.join(" · ");
    }
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    var widget = widgetOf(select);
    if (!widget || !select.matches || !select.matches("select[data-persist]")) return;
    var output = hook(widget, "output-mode");
    if (select.matches("[data-streamui=upstream]") && output) {
      // The json profile speaks JSON: show it as widgets (and back to text when leaving it).
      if (select.value === "simulated:json") { output.value = "json"; widget.setAttribute("data-auto-json", ""); }
      else if (widget.hasAttribute("data-auto-json")) { output.value = "text"; widget.removeAttribute("data-auto-json"); }
      store(widget, "output", output.value);
    }
    if (select === output) widget.removeAttribute("data-auto-json");
    store(widget, select.name, select.value);
    syncSettings(widget);
  });

  function restoreSettings(widget) {
    widget.querySelectorAll("select[data-persist]").forEach(function (select) {
      var value = stored(widget, select.name);
      if (value !== null && [].some.call(select.options, function (o) { return o.value === value; })) select.value = value;
    });
    var upstream = hook(widget, "upstream"), output = hook(widget, "output-mode");
    if (upstream && output && upstream.value === "simulated:json" && output.value === "json") widget.setAttribute("data-auto-json", "");
    var settings = hook(widget, "settings");
    if (settings) {
      // Open on a wide screen, folded to one line on a phone, then as the user left it.
      var open = stored(widget, "settings-open");
      settings.open = open === null ? window.matchMedia("(min-width: 700px)").matches : open === "1";
    }
    syncSettings(widget);
    quietOutputs(widget);
    labelFigures(widget);
  }

  document.addEventListener("toggle", function (event) {
    var settings = event.target;
    var widget = widgetOf(settings);
    if (widget && settings.matches && settings.matches("[data-streamui=settings]")) store(widget, "settings-open", settings.open ? "1" : "0");
  }, true);

  function restoreAll() { document.querySelectorAll("[data-streamui=widget]").forEach(restoreSettings); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", restoreAll); else restoreAll();

  // --- errors a person understands: the sentence first, the technical detail one click away ---
  var ERROR_SENTENCES = [
    [/connection to the model server was lost|closed the stream before it finished/i, "The model server closed the connection before the answer finished."],
    [/could not connect to the model server/i, "Could not reach the model server."],
    [/sent nothing for too long/i, "The model server stopped responding."],
    [/model server reported an error/i, "The model server reported an error."],
    [/site's LLM code failed/i, "The site's model code failed."]
  ];

  function humanizeError(widget) {
    var box = hook(widget, "error");
    if (!box || box.hasAttribute("data-humanized") || !box.firstChild || box.firstChild.nodeType !== 3) return;
    var raw = box.firstChild.nodeValue;
    var match = ERROR_SENTENCES.filter(function (pair) { return pair[0].test(raw); })[0];
    if (!match) return;
    box.setAttribute("data-humanized", "");
    var sentence = document.createElement("span");
    sentence.className = "streamui-error-text";
    sentence.textContent = (/interrupted/i.test(raw) ? "The answer was interrupted. " : "") + match[1];
    var details = document.createElement("details");
    var summary = document.createElement("summary");
    summary.textContent = "Technical detail";
    var pre = document.createElement("code");
    pre.textContent = raw.trim();
    details.appendChild(summary);
    details.appendChild(pre);
    box.replaceChild(sentence, box.firstChild);
    box.appendChild(details);
  }
})();
