/*
 * Helpers shared by the agent console (console.js) and the NLU inbox
 * (inbox.js): server calls with the CSRF header, the 401 → sign-in redirect,
 * error messages, the #notice banner, the poller and small DOM/format helpers.
 *
 * Loaded (deferred) before the page script; defines window.ConsoleCommon only.
 * Everything from the server is put on the page with textContent.
 */
(function () {
  "use strict";

  const LOGIN_URL = "/console/login";
  const LANGUAGE_NAMES = { en: "English", lv: "Latvian", zh: "Chinese (Simplified)" };

  // ---------- page setup ----------

  function readCsrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  // Looks up each id into target, keyed in camelCase ("poll-state" -> pollState).
  function collectElements(ids, target) {
    ids.forEach(function (id) {
      target[id.replace(/-(\w)/g, function (m, c) { return c.toUpperCase(); })] = document.getElementById(id);
    });
    return target;
  }

  function onReady(start) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  }

  // ---------- server calls ----------

  // Returns api(method, path, body): GET or POST with the CSRF header; resolves
  // to {ok, status, data} and never throws. A 401 calls onUnauthorized().
  function createApi(getCsrfToken, onUnauthorized) {
    return async function api(method, path, body) {
      const headers = { Accept: "application/json" };
      const options = { method: method, credentials: "same-origin", headers: headers };
      if (method !== "GET") {
        headers["Content-Type"] = "application/json";
        headers["X-CSRF-Token"] = getCsrfToken();
        options.body = JSON.stringify(body === undefined ? {} : body);
      }
      let response;
      try {
        response = await fetch(path, options);
      } catch (err) {
        return { ok: false, status: 0, data: null };
      }
      if (response.status === 401) {
        onUnauthorized();
        return { ok: false, status: 401, data: null };
      }
      let data = null;
      try {
        data = await response.json();
      } catch (err) {
        data = null;
      }
      return { ok: response.ok, status: response.status, data: data };
    };
  }

  // Stops the given pollers and leaves for the sign-in page.
  function goToLogin(pollers) {
    (pollers || []).forEach(function (poller) { poller.stop(); });
    window.location.assign(LOGIN_URL);
  }

  // The server's {error: {message}} if any, else a connection message, else
  // statusMessages[status] (optional), else fallback.
  function errorMessage(result, fallback, statusMessages) {
    const error = result && result.data && result.data.error;
    if (error && typeof error.message === "string" && error.message) return error.message;
    if (result && result.status === 0) return "The server could not be reached. Check your connection and try again.";
    if (result && statusMessages && Object.prototype.hasOwnProperty.call(statusMessages, result.status)) {
      return statusMessages[result.status];
    }
    return fallback;
  }

  // ---------- notices ----------

  // Shows the banner: message, then optional extra lines, each its own block.
  function showNotice(node, message, kind, lines) {
    node.textContent = message;
    (lines || []).forEach(function (line) {
      const extra = div("notice-line");
      extra.textContent = line;
      node.appendChild(extra);
    });
    node.setAttribute("data-kind", kind || "error");
    node.hidden = false;
  }

  function clearNotice(node) {
    node.hidden = true;
    node.replaceChildren();
  }

  // ---------- polling ----------

  // Runs a task repeatedly without overlapping runs; now() runs it at once.
  function createPoller(task, intervalMs) {
    let timer = null;
    let running = false;
    let again = false;
    let stopped = true;

    async function run() {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      clearTimeout(timer);
      timer = null;
      running = true;
      try {
        await task();
      } catch (err) {
        console.error(err); // a rendering bug must not stop the live updates
      } finally {
        running = false;
      }
      if (stopped) return;
      if (again) {
        again = false;
        run();
        return;
      }
      timer = setTimeout(run, intervalMs);
    }

    return {
      start: function () { stopped = false; run(); },
      stop: function () { stopped = true; again = false; clearTimeout(timer); timer = null; },
      now: function () { run(); },
    };
  }

  // The small live-updates dot (#poll-state).
  function showPollState(node, ok) {
    node.setAttribute("data-state", ok ? "ok" : "failing");
    node.title = ok ? "Live updates" : "Live updates paused: retrying";
  }

  // ---------- formatting ----------

  function text(value) {
    return typeof value === "string" ? value : "";
  }

  function div(className) {
    const node = document.createElement("div");
    node.className = className;
    return node;
  }

  function span(className, content) {
    const node = document.createElement("span");
    node.className = className;
    node.textContent = content;
    return node;
  }

  function languageBadge(lang) {
    const known = typeof lang === "string" && Object.prototype.hasOwnProperty.call(LANGUAGE_NAMES, lang);
    const badge = span("lang-badge", known ? lang.toUpperCase() : "?");
    badge.title = known ? LANGUAGE_NAMES[lang] : "Unknown language";
    if (known) badge.setAttribute("data-lang", lang);
    return badge;
  }

  function parseTime(iso) {
    const ms = typeof iso === "string" ? Date.parse(iso) : NaN;
    return Number.isNaN(ms) ? null : ms;
  }

  function relativeTime(iso) {
    const ms = parseTime(iso);
    if (ms === null) return "";
    const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (seconds < 10) return "just now";
    if (seconds < 60) return seconds + " s ago";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min ago";
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + " h ago";
    return Math.floor(hours / 24) + " d ago";
  }

  function absoluteTime(iso) {
    const ms = parseTime(iso);
    if (ms === null) return "unknown time";
    return new Date(ms).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
  }

  window.ConsoleCommon = Object.freeze({
    LANGUAGE_NAMES: Object.freeze(LANGUAGE_NAMES),
    readCsrfToken: readCsrfToken,
    collectElements: collectElements,
    onReady: onReady,
    createApi: createApi,
    goToLogin: goToLogin,
    errorMessage: errorMessage,
    showNotice: showNotice,
    clearNotice: clearNotice,
    createPoller: createPoller,
    showPollState: showPollState,
    text: text,
    div: div,
    span: span,
    languageBadge: languageBadge,
    parseTime: parseTime,
    relativeTime: relativeTime,
    absoluteTime: absoluteTime,
  });
})();
