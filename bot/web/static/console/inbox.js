/*
 * NLU inbox: customer messages the bot was unsure about (low confidence, not
 * understood, or led to a hand-off). A trainer adds each one as an example of
 * the right intent, or dismisses it.
 *
 * Polls every 5 s and after each action. Everything from the server, customer
 * text above all, is put on the page with textContent.
 */
(function () {
  "use strict";

  const common = window.ConsoleCommon; // common.js, loaded first
  const { LANGUAGE_NAMES, text, div, span, languageBadge, relativeTime, absoluteTime } = common;

  const POLL_MS = 5000;
  const PAGE_TITLE = "NLU inbox · Billing support";
  const REASON_TEXT = { low_confidence: "low confidence", fallback: "not understood", handoff: "led to a handoff" };
  const EMPTY_ALL = "Nothing to review. Messages the bot was unsure about appear here automatically.";

  const el = {};

  const state = {
    csrfToken: "",
    lang: "", // "" means all languages
    items: [], // last list from the server, in its order
    intents: [],
    intentsKey: null, // the intents the selects were built from
    rows: new Map(), // item id -> its <tr>
    busy: new Set(), // item ids with an action in flight
    version: 0, // bumped on each local change, so older poll answers are dropped
    loaded: false,
    forbidden: false,
    pollFailing: false,
    noticeSource: null, // "poll" | "forbidden" | "action"
    leaving: false, // redirecting to the login page
  };

  // ---------- server calls ----------

  // GET or POST with the CSRF header; returns {ok, status, data} and never throws.
  const api = common.createApi(function () { return state.csrfToken; }, goToLogin);

  function goToLogin() {
    if (state.leaving) return;
    state.leaving = true;
    common.goToLogin([poller]);
  }

  function errorMessage(result, fallback) {
    return common.errorMessage(result, fallback, { 403: "You are not allowed to do this." });
  }

  // ---------- notices ----------

  // kind: "error" (default, role=alert), "info" or "warning" (role=status).
  // lines: optional extra lines (e.g. warnings), each its own block.
  function showNotice(message, kind, source, lines) {
    const k = kind || "error";
    el.notice.setAttribute("role", k === "error" ? "alert" : "status");
    common.showNotice(el.notice, message, k, lines);
    state.noticeSource = source || "action";
  }

  function clearNotice() {
    common.clearNotice(el.notice);
    state.noticeSource = null;
  }

  // ---------- polling ----------

  const poller = common.createPoller(loadInbox, POLL_MS);

  function setPollHealth(ok) {
    common.showPollState(el.pollState, ok);
    if (!ok && !state.pollFailing) showNotice("Lost contact with the server. Retrying…", "warning", "poll");
    if (ok && state.pollFailing && state.noticeSource === "poll") clearNotice();
    state.pollFailing = !ok;
  }

  // ---------- loading ----------

  async function loadInbox() {
    const lang = state.lang;
    const version = state.version;
    const path = "/console/api/inbox" + (lang ? "?lang=" + encodeURIComponent(lang) : "");
    const result = await api("GET", path);
    if (state.leaving) return;
    // The filter changed or an item was labelled meanwhile: this answer is stale.
    if (lang !== state.lang || version !== state.version) return;

    if (result.status === 403) {
      setPollHealth(true);
      // Said once, not re-announced on every poll.
      if (!state.forbidden || state.noticeSource !== "forbidden") {
        showNotice(errorMessage(result, "You need the trainer role to use the NLU inbox."), "error", "forbidden");
      }
      state.forbidden = true;
      state.items = [];
      render();
      return;
    }
    if (!result.ok || !result.data || !Array.isArray(result.data.items)) {
      setPollHealth(false);
      return;
    }
    setPollHealth(true);
    if (state.forbidden) {
      state.forbidden = false;
      if (state.noticeSource === "forbidden") clearNotice();
    }
    state.loaded = true;
    state.items = result.data.items.filter(isItem);
    if (Array.isArray(result.data.intents)) {
      state.intents = result.data.intents.filter(function (x) { return typeof x === "string" && x; });
    }
    render();
  }

  function isItem(item) {
    return item && typeof item === "object" && Number.isInteger(item.id) && typeof item.text === "string";
  }

  // ---------- rendering ----------

  function render() {
    const intentsKey = JSON.stringify(state.intents);
    const intentsChanged = intentsKey !== state.intentsKey;
    state.intentsKey = intentsKey;

    const seen = new Set();
    state.items.forEach(function (item, index) {
      seen.add(item.id);
      let row = state.rows.get(item.id);
      if (!row) {
        row = createRow(item);
        state.rows.set(item.id, row);
      } else if (intentsChanged) {
        fillIntentSelect(row.querySelector("select.intent-select"), item, row.querySelector("select.intent-select").value);
      }
      fillRow(row, item);
      // Move only when out of place, so a focused control keeps focus.
      if (el.inboxItems.children[index] !== row) el.inboxItems.insertBefore(row, el.inboxItems.children[index] || null);
    });
    state.rows.forEach(function (row, id) {
      if (!seen.has(id)) removeRow(id);
    });
    renderCount();
  }

  function renderCount() {
    const n = state.items.length;
    if (state.forbidden) {
      el.inboxCount.textContent = "";
    } else if (!state.loaded) {
      el.inboxCount.textContent = "Loading…";
    } else {
      el.inboxCount.textContent = n === 1 ? "1 message to review" : n + " messages to review";
    }
    const showEmpty = n === 0 && (state.loaded || state.forbidden);
    el.inboxEmpty.hidden = !showEmpty;
    if (showEmpty) {
      if (state.forbidden) el.inboxEmptyText.textContent = "The NLU inbox is not available to your account.";
      else if (state.lang) el.inboxEmptyText.textContent = "Nothing to review in " + languageName(state.lang) + ".";
      else el.inboxEmptyText.textContent = EMPTY_ALL;
    }
    document.title = (n ? "(" + n + ") " : "") + PAGE_TITLE;
  }

  function createRow(item) {
    const row = document.createElement("tr");
    row.className = "inbox-item";
    row.setAttribute("data-item-id", String(item.id));

    const textCell = document.createElement("td");
    textCell.className = "text";
    const langCell = cell("lang");
    const reasonCell = cell("reason");
    const predictionCell = cell("prediction");
    const timeCell = cell("when");

    const actionCell = cell("actions");
    const actions = div("inbox-actions");
    const select = document.createElement("select");
    select.className = "intent-select";
    select.setAttribute("aria-label", "Intent for this message");
    fillIntentSelect(select, item, null);
    const label = button("label btn btn-primary", "Add as example");
    const dismiss = button("dismiss btn btn-quiet", "Dismiss");
    actions.appendChild(select);
    actions.appendChild(label);
    actions.appendChild(dismiss);
    actionCell.appendChild(actions);

    row.appendChild(textCell);
    row.appendChild(langCell);
    row.appendChild(reasonCell);
    row.appendChild(predictionCell);
    row.appendChild(timeCell);
    row.appendChild(actionCell);
    return row;
  }

  // Updates the read-only cells; the select keeps whatever the trainer picked.
  function fillRow(row, item) {
    const cells = row.children;
    if (cells[0].textContent !== item.text) cells[0].textContent = item.text;

    cells[1].replaceChildren(languageBadge(item.language));

    const reason = text(item.reason);
    const reasonNode = span("reason-tag", Object.prototype.hasOwnProperty.call(REASON_TEXT, reason) ? REASON_TEXT[reason] : reason || "unknown");
    if (reason) reasonNode.setAttribute("data-reason", reason);
    cells[2].replaceChildren(reasonNode);

    const predicted = text(item.predicted_intent);
    const prediction = document.createDocumentFragment();
    prediction.appendChild(span("predicted-intent" + (predicted ? "" : " is-none"), predicted || "none"));
    const confidence = percent(item.confidence);
    if (confidence) {
      prediction.appendChild(document.createTextNode(" "));
      prediction.appendChild(span("confidence", confidence));
    }
    cells[3].replaceChildren(prediction);

    const time = document.createElement("time");
    time.className = "item-time";
    time.dateTime = text(item.created_at);
    time.textContent = relativeTime(item.created_at) || "unknown";
    time.title = absoluteTime(item.created_at);
    cells[4].replaceChildren(time);

    const busy = state.busy.has(item.id);
    row.classList.toggle("is-busy", busy);
    row.querySelectorAll("button").forEach(function (b) { b.disabled = busy; });
    row.querySelector("select.intent-select").disabled = busy;
  }

  // Options are the API's intents; the predicted one is preselected when it is
  // among them, otherwise a "Choose…" placeholder is shown first.
  function fillIntentSelect(select, item, keep) {
    const predicted = text(item.predicted_intent);
    let value = "";
    if (keep && state.intents.indexOf(keep) !== -1) value = keep;
    else if (predicted && state.intents.indexOf(predicted) !== -1) value = predicted;

    const options = [];
    if (!value) {
      const placeholder = document.createElement("option");
      placeholder.value = "";
      placeholder.textContent = state.intents.length ? "Choose an intent…" : "No intents available";
      placeholder.disabled = true;
      placeholder.selected = true;
      options.push(placeholder);
    }
    state.intents.forEach(function (intent) {
      const option = document.createElement("option");
      option.value = intent;
      option.textContent = intent;
      if (intent === value) option.selected = true;
      options.push(option);
    });
    select.replaceChildren.apply(select, options);
    select.value = value;
  }

  // Removes a row; if focus was inside it, hands focus to a neighbour.
  function removeRow(id) {
    const row = state.rows.get(id);
    state.rows.delete(id);
    if (!row) return;
    const hadFocus = row.contains(document.activeElement);
    const neighbour = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    if (hadFocus) {
      const target = neighbour ? neighbour.querySelector("select.intent-select") : null;
      (target || el.langFilter).focus();
    }
  }

  // ---------- actions ----------

  async function runAction(id, work) {
    if (state.busy.has(id)) return;
    const focused = document.activeElement;
    state.busy.add(id);
    refreshRow(id);
    try {
      await work();
    } finally {
      state.busy.delete(id);
      refreshRow(id);
      // Disabling the clicked button dropped focus; give it back if the row stayed.
      const row = state.rows.get(id);
      if (row && focused && row.contains(focused) && (document.activeElement === document.body || !document.activeElement)) {
        focused.focus();
      }
    }
  }

  function refreshRow(id) {
    const row = state.rows.get(id);
    const item = findItem(id);
    if (row && item) fillRow(row, item);
  }

  function findItem(id) {
    for (let i = 0; i < state.items.length; i += 1) {
      if (state.items[i].id === id) return state.items[i];
    }
    return null;
  }

  // The item is done: drop it at once, and ignore poll answers from before.
  function forgetItem(id) {
    state.version += 1;
    state.items = state.items.filter(function (item) { return item.id !== id; });
    removeRow(id);
    renderCount();
  }

  function labelItem(id, select) {
    const intent = select.value;
    if (!intent) {
      showNotice("Choose an intent first.");
      select.focus();
      return Promise.resolve();
    }
    return runAction(id, async function () {
      const result = await api("POST", "/console/api/inbox/" + encodeURIComponent(id) + "/label", { intent: intent });
      if (result.status === 401) return;
      if (result.ok) {
        const data = result.data && typeof result.data === "object" ? result.data : {};
        const files = [];
        (Array.isArray(data.added) ? data.added : []).forEach(function (added) {
          const file = added && text(added.file);
          if (file && files.indexOf(file) === -1) files.push(file);
        });
        const warnings = (Array.isArray(data.warnings) ? data.warnings : []).filter(function (w) { return typeof w === "string" && w; });
        const message = files.length ? "Added to " + files.join(", ") : "Added as an example of " + intent + ".";
        showNotice(message, warnings.length ? "warning" : "info", "action", warnings);
        forgetItem(id);
      } else {
        showNotice(errorMessage(result, "The example could not be added."));
        if (result.status === 404) forgetItem(id);
      }
      poller.now();
    });
  }

  function dismissItem(id) {
    return runAction(id, async function () {
      const result = await api("POST", "/console/api/inbox/" + encodeURIComponent(id) + "/dismiss", {});
      if (result.status === 401) return;
      if (result.ok) {
        showNotice("Message dismissed.", "info");
        forgetItem(id);
      } else {
        showNotice(errorMessage(result, "The message could not be dismissed."));
        if (result.status === 404) forgetItem(id);
      }
      poller.now();
    });
  }

  function changeFilter() {
    const lang = el.langFilter.value;
    if (lang === state.lang) return;
    state.lang = lang;
    state.version += 1;
    state.loaded = false;
    state.items = [];
    render(); // clears the other language's rows while the new list loads
    poller.now();
  }

  // ---------- formatting ----------

  function cell(className) {
    const node = document.createElement("td");
    node.className = className;
    return node;
  }

  function button(className, label) {
    const node = document.createElement("button");
    node.type = "button";
    node.className = className;
    node.textContent = label;
    return node;
  }

  function languageName(lang) {
    return Object.prototype.hasOwnProperty.call(LANGUAGE_NAMES, lang) ? LANGUAGE_NAMES[lang] : lang;
  }

  function percent(value) {
    if (typeof value !== "number" || !Number.isFinite(value)) return "";
    return Math.round(Math.min(1, Math.max(0, value)) * 100) + "%";
  }

  // ---------- wiring ----------

  function bindEvents() {
    el.langFilter.addEventListener("change", changeFilter);
    el.inboxItems.addEventListener("click", function (event) {
      const target = event.target instanceof Element ? event.target.closest("button") : null;
      if (!target || target.disabled) return;
      const row = target.closest("tr.inbox-item");
      if (!row) return;
      const id = Number(row.getAttribute("data-item-id"));
      if (!Number.isInteger(id)) return;
      if (target.classList.contains("label")) labelItem(id, row.querySelector("select.intent-select"));
      else if (target.classList.contains("dismiss")) dismissItem(id);
    });
  }

  function start() {
    state.csrfToken = common.readCsrfToken();
    common.collectElements(["notice", "lang-filter", "inbox", "inbox-items", "inbox-empty", "inbox-empty-text", "inbox-count", "poll-state"], el);
    // A link (the insights page's) may name the language: ?lang=lv
    const asked = new URLSearchParams(window.location.search).get("lang");
    if (asked && Object.prototype.hasOwnProperty.call(LANGUAGE_NAMES, asked)) el.langFilter.value = asked;
    state.lang = el.langFilter.value || ""; // a browser may restore the last choice
    bindEvents();
    poller.start();
  }

  common.onReady(start);
})();
