/*
 * Support-agent console: the hand-off queue, one ticket's packet and live
 * transcript, and the claim / reply / hand back / close actions.
 *
 * Polling keeps it live (queue every 1.5 s, open ticket every 1 s). Everything
 * from the server, customer text above all, is put on the page with textContent.
 */
(function () {
  "use strict";

  const common = window.ConsoleCommon; // common.js, loaded first
  const { LANGUAGE_NAMES, text, div, span, languageBadge, parseTime, relativeTime, absoluteTime } = common;

  const QUEUE_POLL_MS = 1500;
  const TICKET_POLL_MS = 1000;
  const MAX_REPLY_LENGTH = 2000;
  const ROLE_LABELS = { customer: "Customer", bot: "Bot", agent: "Agent", event: "Event" };
  const REPLY_HINT = " · Enter sends, Shift+Enter adds a line";

  const el = {};

  const state = {
    csrfToken: "",
    tickets: [], // last queue from the server, newest activity first
    selectedId: null,
    selected: null, // the selected ticket, freshest copy we have
    transcript: [], // messages rendered in #transcript, in order
    transcriptKeys: [],
    drafts: new Map(), // unsent replies per ticket, kept while switching tickets
    busy: false, // an action request is in flight
    pollFailing: false,
    leaving: false, // redirecting to the login page
  };

  // ---------- server calls ----------

  // GET or POST with the CSRF header; returns {ok, status, data} and never throws.
  const api = common.createApi(function () { return state.csrfToken; }, goToLogin);

  function goToLogin() {
    if (state.leaving) return;
    state.leaving = true;
    common.goToLogin([queuePoller, ticketPoller]);
  }

  function errorMessage(result, fallback) {
    return common.errorMessage(result, fallback);
  }

  // ---------- notices ----------

  function showNotice(message, kind) {
    common.showNotice(el.notice, message, kind);
  }

  function clearNotice() {
    common.clearNotice(el.notice);
  }

  // ---------- polling ----------

  const queuePoller = common.createPoller(loadQueue, QUEUE_POLL_MS);
  const ticketPoller = common.createPoller(loadSelectedTicket, TICKET_POLL_MS);

  function setPollHealth(ok) {
    common.showPollState(el.pollState, ok);
    if (!ok && !state.pollFailing) showNotice("Lost contact with the server. Retrying…", "warning");
    if (ok && state.pollFailing && el.notice.getAttribute("data-kind") === "warning") clearNotice();
    state.pollFailing = !ok;
  }

  // ---------- queue ----------

  async function loadQueue() {
    const result = await api("GET", "/console/api/tickets");
    if (state.leaving) return;
    if (!result.ok || !result.data || !Array.isArray(result.data.tickets)) {
      setPollHealth(false);
      return;
    }
    setPollHealth(true);
    state.tickets = result.data.tickets.filter(isTicket);
    renderQueue();
    reconcileSelection();
  }

  function isTicket(ticket) {
    return ticket && typeof ticket === "object" && Number.isInteger(ticket.id);
  }

  // The open ticket left the queue (closed or handed back elsewhere): let go of it.
  function reconcileSelection() {
    if (state.selectedId === null) return;
    const fresh = findTicket(state.selectedId);
    if (!fresh) {
      const id = state.selectedId;
      deselectTicket();
      showNotice("Ticket #" + id + " is no longer open.", "info");
      return;
    }
    state.selected = Object.assign({}, state.selected || {}, fresh);
    renderTicketHeader();
    renderControls();
  }

  function findTicket(id) {
    for (let i = 0; i < state.tickets.length; i += 1) {
      if (state.tickets[i].id === id) return state.tickets[i];
    }
    return null;
  }

  function renderQueue() {
    const seen = new Set();
    state.tickets.forEach(function (ticket, index) {
      seen.add(String(ticket.id));
      let item = el.queue.querySelector('li.ticket[data-ticket-id="' + ticket.id + '"]');
      if (!item) item = createQueueItem(ticket.id);
      fillQueueItem(item, ticket);
      // Move only when out of place, so a focused item keeps focus.
      if (el.queue.children[index] !== item) el.queue.insertBefore(item, el.queue.children[index] || null);
    });
    Array.prototype.slice.call(el.queue.children).forEach(function (item) {
      if (!seen.has(item.getAttribute("data-ticket-id"))) item.remove();
    });

    const waiting = state.tickets.filter(function (t) { return t.status === "waiting"; }).length;
    el.queueCount.textContent = state.tickets.length ? state.tickets.length + " open · " + waiting + " waiting" : "";
    el.queueEmpty.hidden = state.tickets.length > 0;
    document.title = (waiting ? "(" + waiting + ") " : "") + "Agent console · Billing support";
  }

  function createQueueItem(id) {
    const item = document.createElement("li");
    item.className = "ticket";
    item.setAttribute("data-ticket-id", String(id));
    item.setAttribute("role", "option");
    item.tabIndex = -1;
    return item;
  }

  function fillQueueItem(item, ticket) {
    const packet = ticket.packet && typeof ticket.packet === "object" ? ticket.packet : {};
    const selected = ticket.id === state.selectedId;
    item.classList.toggle("waiting", ticket.status === "waiting");
    item.classList.toggle("active", ticket.status === "active");
    item.classList.toggle("mine", Boolean(ticket.mine));
    item.classList.toggle("selected", selected);
    item.setAttribute("aria-selected", selected ? "true" : "false");
    // Roving tabindex: one item in the tab order, arrows move between them;
    // an item the agent has focused keeps its place in the tab order across polls.
    const focused = document.activeElement;
    if (focused && focused !== item && el.queue.contains(focused)) item.tabIndex = -1;
    else if (focused === item) item.tabIndex = 0;
    else item.tabIndex = selected || (state.selectedId === null && el.queue.firstElementChild === item) ? 0 : -1;

    const top = div("ticket-row");
    top.appendChild(span("ticket-customer", customerName(packet)));
    top.appendChild(languageBadge(ticket.language || packet.language));
    const pastDue = packet.past_due && typeof packet.past_due.amount === "string" ? packet.past_due.amount : "";
    if (pastDue) top.appendChild(span("ticket-amount", pastDue));

    const middle = div("ticket-row");
    middle.appendChild(span("ticket-state " + (ticket.status === "waiting" ? "is-waiting" : "is-active"), queueStatusText(ticket)));
    const activity = document.createElement("time");
    activity.className = "ticket-activity";
    activity.dateTime = typeof ticket.last_activity_at === "string" ? ticket.last_activity_at : "";
    activity.textContent = relativeTime(ticket.last_activity_at);
    activity.title = absoluteTime(ticket.last_activity_at);
    middle.appendChild(activity);

    const reason = div("ticket-reason");
    reason.textContent = text(ticket.reason_text) || text(ticket.reason) || "No reason given";

    item.replaceChildren(top, middle, reason);
  }

  function queueStatusText(ticket) {
    if (ticket.status === "waiting") {
      return Number.isInteger(ticket.queue_position) ? "#" + ticket.queue_position + " in queue" : "Waiting";
    }
    if (ticket.mine) return "Active · you";
    return "Active · " + agentName(ticket.agent);
  }

  // ---------- selecting a ticket ----------

  function selectTicket(id) {
    if (state.selectedId === id) return;
    saveDraft();
    const ticket = findTicket(id);
    if (!ticket) return;
    clearNotice();
    state.selectedId = id;
    state.selected = ticket;
    state.transcript = [];
    state.transcriptKeys = [];
    el.transcript.replaceChildren();
    el.ticketEmpty.hidden = true;
    el.ticketDetail.hidden = false;
    el.ticket.setAttribute("aria-labelledby", "ticket-title");
    el.reply.value = state.drafts.get(id) || "";
    renderQueue();
    renderTicket();
    // The packet's transcript shows at once; the live one replaces it on the first poll.
    const packet = ticket.packet && typeof ticket.packet === "object" ? ticket.packet : {};
    if (Array.isArray(packet.transcript)) renderTranscript(packet.transcript);
    ticketPoller.stop();
    ticketPoller.start();
  }

  function deselectTicket() {
    saveDraft();
    ticketPoller.stop();
    state.selectedId = null;
    state.selected = null;
    state.transcript = [];
    state.transcriptKeys = [];
    el.transcript.replaceChildren();
    el.packet.replaceChildren();
    el.reply.value = "";
    el.ticketDetail.hidden = true;
    el.ticketEmpty.hidden = false;
    el.ticket.setAttribute("aria-labelledby", "ticket-heading");
    renderQueue();
  }

  function saveDraft() {
    if (state.selectedId === null) return;
    if (el.reply.value) state.drafts.set(state.selectedId, el.reply.value);
    else state.drafts.delete(state.selectedId);
  }

  async function loadSelectedTicket() {
    const id = state.selectedId;
    if (id === null) return;
    const result = await api("GET", "/console/api/tickets/" + encodeURIComponent(id));
    if (state.selectedId !== id || state.leaving) return; // switched meanwhile
    if (result.status === 404) {
      deselectTicket();
      showNotice("Ticket #" + id + " is no longer open.", "info");
      queuePoller.now();
      return;
    }
    if (!result.ok || !result.data || !isTicket(result.data.ticket)) {
      setPollHealth(false);
      return;
    }
    setPollHealth(true);
    state.selected = result.data.ticket;
    renderTicket();
    if (Array.isArray(result.data.transcript)) renderTranscript(result.data.transcript);
  }

  // ---------- the ticket view ----------

  function renderTicket() {
    renderTicketHeader();
    renderPacket();
    renderControls();
  }

  function renderTicketHeader() {
    const ticket = state.selected;
    if (!ticket) return;
    const packet = packetOf(ticket);
    el.ticketTitle.textContent = "#" + ticket.id + " · " + customerName(packet);
    el.ticketStatus.textContent = ticket.status === "waiting" ? queueStatusText(ticket) : ticket.mine ? "Active · you" : "Active · " + agentName(ticket.agent);
    el.ticketStatus.setAttribute("data-status", ticket.status === "waiting" ? "waiting" : "active");
    el.ticketMeta.textContent = "Opened " + absoluteTime(ticket.created_at) + " · last activity " + relativeTime(ticket.last_activity_at);
  }

  function renderPacket() {
    const ticket = state.selected;
    const packet = packetOf(ticket);
    const rows = [];

    const customer = packet.customer && typeof packet.customer === "object" ? packet.customer : null;
    rows.push(["Customer", customer ? customerName(packet) + " (" + text(customer.id) + ")" : "Anonymous (not signed in)"]);

    const lang = text(packet.language) || text(ticket.language);
    rows.push(["Language", lang ? (LANGUAGE_NAMES[lang] || lang) + " (" + lang + ")" : "Unknown"]);
    rows.push(["Subscription", text(packet.subscription) || "None found"]);

    const pastDue = packet.past_due && typeof packet.past_due === "object" ? packet.past_due : null;
    rows.push(["Past due", pastDue ? text(pastDue.amount) + (pastDue.due_date ? ", due " + text(pastDue.due_date) : "") : "Nothing past due", pastDue ? "emphasis" : ""]);

    rows.push(["Failing card", failingCardNode(packet)]);
    rows.push(["Already tried", triedNode(packet.tried)]);
    rows.push(["Why escalated", text(packet.escalation) || text(ticket.reason_text) || "Not stated"]);

    const fragment = document.createDocumentFragment();
    rows.forEach(function (row) {
      const wrapper = div("packet-row");
      const dt = document.createElement("dt");
      dt.textContent = row[0];
      const dd = document.createElement("dd");
      if (typeof row[1] === "string") dd.textContent = row[1];
      else dd.appendChild(row[1]);
      if (row[2]) dd.className = row[2];
      wrapper.appendChild(dt);
      wrapper.appendChild(dd);
      fragment.appendChild(wrapper);
    });
    el.packet.replaceChildren(fragment);
  }

  function failingCardNode(packet) {
    const fragment = document.createDocumentFragment();
    const card = packet.failing_card && typeof packet.failing_card === "object" ? packet.failing_card : null;
    if (!card) {
      fragment.appendChild(document.createTextNode("None on file"));
    } else {
      let label = (text(card.brand) || "Card") + (card.last4 ? " ending " + text(card.last4) : "");
      if (card.expiry) label += ", expires " + text(card.expiry);
      fragment.appendChild(span("card", label));
    }
    const reason = text(packet.decline_reason);
    if (reason) fragment.appendChild(span("decline", "Declined: " + reason));
    return fragment;
  }

  function triedNode(tried) {
    const items = Array.isArray(tried) ? tried.filter(function (x) { return typeof x === "string" && x; }) : [];
    if (items.length === 0) return document.createTextNode("Nothing yet");
    const list = document.createElement("ul");
    list.className = "tried";
    items.forEach(function (item) {
      const li = document.createElement("li");
      li.textContent = item;
      list.appendChild(li);
    });
    return list;
  }

  function renderControls() {
    const ticket = state.selected;
    if (!ticket) return;
    const mine = Boolean(ticket.mine);
    const canReply = mine && ticket.status === "active";
    el.claim.hidden = ticket.status !== "waiting";
    el.claim.disabled = state.busy;
    el.claimHint.textContent = ticket.status === "active" && !mine ? "Handled by " + agentName(ticket.agent) + "." : "";
    el.reply.disabled = !canReply;
    el.reply.placeholder = canReply ? "Write to the customer…" : ticket.status === "waiting" ? "Claim the ticket to reply" : "Only the agent handling this ticket can reply";
    el.sendReply.disabled = !canReply || state.busy;
    el.handback.hidden = !mine;
    el.close.hidden = !mine;
    el.handback.disabled = state.busy;
    el.close.disabled = state.busy;
    updateReplyCount();
  }

  function updateReplyCount() {
    el.replyCount.textContent = el.reply.value.length + " / " + MAX_REPLY_LENGTH + REPLY_HINT;
    el.replyCount.classList.toggle("over", el.reply.value.length > MAX_REPLY_LENGTH);
  }

  // ---------- transcript ----------

  function messageKey(message) {
    return [message.role, message.at, message.name || "", message.text].join("\u0000");
  }

  // Appends what is new; rebuilds only when the history itself changed.
  function renderTranscript(messages) {
    const valid = messages.filter(function (m) { return m && typeof m === "object" && typeof m.text === "string"; });
    const keys = valid.map(messageKey);
    const wasAtBottom = isScrolledToBottom(el.transcript);
    const extendsCurrent = state.transcriptKeys.length <= keys.length &&
      state.transcriptKeys.every(function (key, i) { return keys[i] === key; });

    if (extendsCurrent && keys.length === state.transcriptKeys.length) return;
    if (extendsCurrent) {
      const fragment = document.createDocumentFragment();
      valid.slice(state.transcriptKeys.length).forEach(function (m) { fragment.appendChild(transcriptLine(m)); });
      el.transcript.appendChild(fragment);
    } else {
      const fragment = document.createDocumentFragment();
      valid.forEach(function (m) { fragment.appendChild(transcriptLine(m)); });
      el.transcript.replaceChildren(fragment);
    }
    const firstRender = state.transcriptKeys.length === 0;
    state.transcript = valid;
    state.transcriptKeys = keys;
    if (wasAtBottom || firstRender || !extendsCurrent) scrollToBottom(el.transcript);
  }

  function transcriptLine(message) {
    const role = Object.prototype.hasOwnProperty.call(ROLE_LABELS, message.role) ? message.role : "event";
    const line = div("line " + role);
    const meta = div("line-meta");
    const name = text(message.name);
    meta.appendChild(span("line-role", ROLE_LABELS[role] + (name && role !== "event" ? " · " + name : "")));
    const time = document.createElement("time");
    time.className = "line-time";
    time.dateTime = typeof message.at === "string" ? message.at : "";
    time.textContent = clockTime(message.at);
    time.title = absoluteTime(message.at);
    meta.appendChild(time);
    const body = div("line-text");
    body.textContent = message.text;
    line.appendChild(meta);
    line.appendChild(body);
    return line;
  }

  function isScrolledToBottom(node) {
    return node.scrollHeight - node.scrollTop - node.clientHeight < 40;
  }

  function scrollToBottom(node) {
    node.scrollTop = node.scrollHeight;
  }

  // ---------- actions ----------

  async function runAction(work) {
    if (state.busy || state.selectedId === null) return;
    state.busy = true;
    renderControls();
    try {
      await work(state.selectedId);
    } finally {
      state.busy = false;
      renderControls();
    }
  }

  function claimTicket() {
    return runAction(async function (id) {
      const result = await api("POST", "/console/api/tickets/" + id + "/claim");
      if (result.status === 401) return;
      if (result.ok && result.data && isTicket(result.data.ticket)) {
        clearNotice();
        if (state.selectedId === id) {
          state.selected = result.data.ticket;
          renderTicket();
          el.reply.focus();
        }
      } else {
        showNotice(errorMessage(result, "The ticket could not be claimed."));
      }
      queuePoller.now();
      ticketPoller.now();
    });
  }

  function sendReply() {
    const replyText = el.reply.value.trim();
    if (!replyText) {
      showNotice("Type a reply first.");
      el.reply.focus();
      return Promise.resolve();
    }
    if (replyText.length > MAX_REPLY_LENGTH) {
      showNotice("The reply is too long: at most " + MAX_REPLY_LENGTH + " characters.");
      return Promise.resolve();
    }
    return runAction(async function (id) {
      const result = await api("POST", "/console/api/tickets/" + id + "/reply", { text: replyText });
      if (result.status === 401) return;
      if (result.ok) {
        clearNotice();
        state.drafts.delete(id);
        if (state.selectedId === id) {
          el.reply.value = "";
          const message = result.data && result.data.message;
          if (message && typeof message.text === "string") {
            renderTranscript(state.transcript.concat([message]));
          }
          scrollToBottom(el.transcript);
          el.reply.focus();
        }
      } else {
        showNotice(errorMessage(result, "The reply could not be sent."));
      }
      ticketPoller.now();
    });
  }

  // Hand back and close both end the agent's part: the ticket leaves the queue.
  function finishTicket(kind) {
    return runAction(async function (id) {
      const result = await api("POST", "/console/api/tickets/" + id + "/" + kind);
      if (result.status === 401) return;
      if (result.ok) {
        state.drafts.delete(id);
        state.tickets = state.tickets.filter(function (t) { return t.id !== id; });
        if (state.selectedId === id) {
          el.reply.value = ""; // the reply box belongs to the finished ticket
          deselectTicket();
        }
        showNotice(kind === "handback" ? "Ticket #" + id + " was handed back to the bot." : "Ticket #" + id + " was closed.", "info");
      } else {
        showNotice(errorMessage(result, kind === "handback" ? "The ticket could not be handed back." : "The ticket could not be closed."));
        ticketPoller.now();
      }
      queuePoller.now();
    });
  }

  // ---------- formatting ----------

  function packetOf(ticket) {
    return ticket && ticket.packet && typeof ticket.packet === "object" ? ticket.packet : {};
  }

  function customerName(packet) {
    const customer = packet && packet.customer && typeof packet.customer === "object" ? packet.customer : null;
    if (!customer) return "Anonymous";
    return text(customer.name) || text(customer.id) || "Anonymous";
  }

  function agentName(agent) {
    if (!agent || typeof agent !== "object") return "another agent";
    return text(agent.display_name) || text(agent.username) || "another agent";
  }

  function clockTime(iso) {
    const ms = parseTime(iso);
    if (ms === null) return "";
    const date = new Date(ms);
    const sameDay = date.toDateString() === new Date().toDateString();
    const options = sameDay ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    return date.toLocaleString("en-GB", options);
  }

  // ---------- wiring ----------

  function bindEvents() {
    el.queue.addEventListener("click", function (event) {
      const item = event.target.closest("li.ticket");
      if (item) selectTicket(Number(item.getAttribute("data-ticket-id")));
    });
    el.queue.addEventListener("keydown", onQueueKeydown);
    el.claim.addEventListener("click", claimTicket);
    el.sendReply.addEventListener("click", sendReply);
    el.handback.addEventListener("click", function () { finishTicket("handback"); });
    el.close.addEventListener("click", function () { finishTicket("close"); });
    el.reply.addEventListener("input", updateReplyCount);
    el.reply.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        if (!el.sendReply.disabled) sendReply();
      }
    });
  }

  // Listbox keys: arrows move, Enter or Space opens.
  function onQueueKeydown(event) {
    const item = event.target.closest("li.ticket");
    if (!item) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      selectTicket(Number(item.getAttribute("data-ticket-id")));
      return;
    }
    let next = null;
    if (event.key === "ArrowDown") next = item.nextElementSibling;
    else if (event.key === "ArrowUp") next = item.previousElementSibling;
    else if (event.key === "Home") next = el.queue.firstElementChild;
    else if (event.key === "End") next = el.queue.lastElementChild;
    if (next) {
      event.preventDefault();
      item.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }

  function start() {
    state.csrfToken = common.readCsrfToken();
    common.collectElements([
      "notice", "queue", "queue-count", "queue-empty", "poll-state", "ticket", "ticket-empty", "ticket-detail",
      "ticket-title", "ticket-status", "ticket-meta", "packet", "transcript", "claim", "claim-hint", "reply",
      "reply-count", "send-reply", "handback", "close",
    ], el);
    bindEvents();
    queuePoller.start();
  }

  common.onReady(start);
})();
