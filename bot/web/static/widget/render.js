/*
 * The chat panel's DOM: inside the widget's closed shadow root on another site, in a
 * plain element on /chat/. The markup is fixed text; everything that comes from the
 * server or the customer (bot texts, agent names, buttons, links) is set with
 * textContent or as a checked http(s) href, never as markup.
 */

import { sendUserMessage } from "./socket.js";
import { TYPING_TIMEOUT_MS, config, el, state, t } from "./state.js";
import { STORAGE_KEYS, saveLog, storageGet } from "./storage.js";

// The panel's markup: fixed text only (customer data is added with textContent).
const ACCOUNT_HTML =
  '<section class="account" aria-labelledby="account-heading">' +
  '<h2 id="account-heading" class="visually-hidden" data-i18n="accountHeading">Account</h2>' +
  '<div class="account-picker"><div class="field">' +
  '<label for="customer" data-i18n="customer">Demo customer</label><select id="customer" disabled></select></div>' +
  '<button id="sign-in" type="button" class="button button-primary" data-i18n="signIn" disabled>Sign in</button></div>' +
  '<div class="account-current"><span id="signed-in-as" class="signed-in-as" data-state="signed-out">Not signed in</span>' +
  '<button id="sign-out" type="button" class="button button-quiet" data-i18n="signOut" hidden>Sign out</button></div>' +
  "</section>";
const PANEL_HTML =
  '<header class="topbar"><div class="brand"><span class="brand-mark" aria-hidden="true"></span><div>' +
  '<div id="chat-title" class="title" role="heading" data-i18n="title">Billing support</div>' +
  '<p class="subtitle" data-i18n="subtitle">Help with payments, cards and past-due balances</p></div></div>' +
  '<div class="topbar-tools"><div class="field field-inline"><label for="language" data-i18n="language">Language</label>' +
  '<select id="language"><option value="en" lang="en">English</option><option value="lv" lang="lv">Latviešu</option>' +
  '<option value="zh" lang="zh-Hans">简体中文</option></select></div>' +
  '<button id="close" type="button" class="close-button" data-i18n-aria-label="close" aria-label="Close the chat" hidden>' +
  '<span aria-hidden="true">×</span></button></div></header>' +
  '<div class="chat">{account}' +
  '<p id="notice" class="notice" role="alert" hidden></p>' +
  '<div class="conversation-bar"><span id="connection" class="connection" role="status" data-state="offline">Not connected</span>' +
  '<span class="secure-hint" data-i18n="privacy">Never type your card number in the chat: we will send you a secure form.</span></div>' +
  '<div id="messages" class="messages" role="log" aria-live="polite" aria-relevant="additions" aria-label="Chat" data-i18n-aria-label="conversation" tabindex="0"></div>' +
  '<div id="typing" class="typing" aria-hidden="true" hidden><span></span><span></span><span></span></div>' +
  '<form id="composer" class="composer" autocomplete="off">' +
  '<label for="message" class="visually-hidden" data-i18n="messageLabel">Your message</label>' +
  '<textarea id="message" rows="2" maxlength="2000" placeholder="" disabled aria-describedby="composer-hint"></textarea>' +
  '<button id="send" type="submit" class="button button-primary" data-i18n="send" disabled>Send</button>' +
  '<p id="composer-hint" class="composer-hint" data-i18n="hint">Enter to send, Shift+Enter for a new line</p>' +
  "</form></div>";
const ELEMENT_IDS = ["language", "customer", "sign-in", "sign-out", "signed-in-as", "notice", "connection", "messages", "typing", "composer", "message", "send", "close", "chat-title"];

// Builds the panel into `container` and finds its elements (el.signIn is #sign-in).
export function buildPanel(container) {
  const panel = document.createElement("div");
  panel.className = "bb-panel";
  panel.innerHTML = PANEL_HTML.replace("{account}", config.mode === "demo" ? ACCOUNT_HTML : "");
  container.appendChild(panel);
  el.panel = panel;
  ELEMENT_IDS.forEach(function (id) {
    el[id.replace(/-(\w)/g, function (m, c) { return c.toUpperCase(); })] = panel.querySelector("#" + id);
  });
  el.chatTitle.setAttribute("aria-level", config.mode === "demo" ? "1" : "2");
  el.close.hidden = config.mode !== "embedded";
}

export function relabelPage() {
  if (config.mode === "demo") document.title = t("title");
  el.panel.querySelectorAll("[data-i18n]").forEach(function (node) {
    node.textContent = t(node.getAttribute("data-i18n"));
  });
  el.panel.querySelectorAll("[data-i18n-aria-label]").forEach(function (node) {
    node.setAttribute("aria-label", t(node.getAttribute("data-i18n-aria-label")));
  });
  renderCustomerOptions();
  renderAccount();
  renderConnection();
  renderNotice();
  renderComposer();
  renderLog();
}

// ---------- notices ----------

export function showNotice(key, params) {
  state.notice = { key: key, params: params || null };
  renderNotice();
}

export function clearNotice() {
  state.notice = null;
  renderNotice();
}

function renderNotice() {
  if (!state.notice) {
    el.notice.hidden = true;
    el.notice.textContent = "";
    return;
  }
  el.notice.textContent = t(state.notice.key, state.notice.params);
  el.notice.hidden = false;
}

// ---------- the account, the connection, the message box ----------

export function renderCustomerOptions() {
  const select = el.customer;
  if (!select) return; // the embedded widget has no demo sign-in
  const previous = select.value || (state.customer && state.customer.id) || storageGet(localStorage, STORAGE_KEYS.customer);
  select.replaceChildren();
  if (state.customersStatus !== "ready" || state.customers.length === 0) {
    const option = document.createElement("option");
    option.value = "";
    option.textContent = state.customersStatus === "loading" ? t("loadingCustomers") : t("noCustomers");
    select.appendChild(option);
    return;
  }
  state.customers.forEach(function (customer) {
    const option = document.createElement("option");
    option.value = customer.id;
    option.textContent = customer.name + " (" + customer.id + ")";
    select.appendChild(option);
  });
  if (previous && state.customers.some(function (c) { return c.id === previous; })) {
    select.value = previous;
  }
}

export function renderAccount() {
  const signedIn = Boolean(state.customer);
  if (!el.customer) return;
  el.customer.disabled = state.customersStatus !== "ready" || state.customers.length === 0 || state.signingIn;
  el.signIn.disabled = el.customer.disabled || !el.customer.value;
  el.signIn.textContent = state.signingIn ? t("signingIn") : t("signIn");
  el.signOut.hidden = !signedIn;
  el.signedInAs.textContent = signedIn ? t("signedInAs", { name: state.customer.name, id: state.customer.id }) : t("notSignedIn");
  el.signedInAs.setAttribute("data-state", signedIn ? "signed-in" : "signed-out");
}

export function renderConnection() {
  el.connection.textContent = t(state.connection);
  el.connection.setAttribute("data-state", state.connection);
}

export function renderComposer() {
  const signedIn = Boolean(state.customer);
  el.message.disabled = !signedIn;
  el.send.disabled = !signedIn;
  el.message.placeholder = signedIn ? t("placeholder") : t("placeholderSignedOut");
  // Opened before the sign-in finished: the message box takes the focus once usable.
  if (signedIn && state.focusWhenReady) {
    state.focusWhenReady = false;
    if (el.panel.contains(el.panel.getRootNode().activeElement)) el.message.focus();
  }
}

// ---------- the conversation ----------

export function appendEntry(entry) {
  state.log.push(entry);
  saveLog();
  removePlaceholder();
  el.messages.appendChild(renderEntry(entry));
  scrollToNewest();
}

export function renderLog() {
  el.messages.replaceChildren();
  state.bubbles.clear();
  if (!state.customer) {
    el.messages.appendChild(placeholder(t(config.mode === "embedded" ? "signInOnSite" : "signInPrompt")));
    return;
  }
  if (state.log.length === 0) {
    el.messages.appendChild(placeholder(t("emptyConversation")));
    return;
  }
  const fragment = document.createDocumentFragment();
  state.log.forEach(function (entry) {
    fragment.appendChild(renderEntry(entry));
  });
  el.messages.appendChild(fragment);
  scrollToNewest();
}

function placeholder(text) {
  const p = document.createElement("p");
  p.className = "messages-placeholder";
  p.textContent = text;
  return p;
}

function removePlaceholder() {
  const existing = el.messages.querySelector(".messages-placeholder");
  if (existing) existing.remove();
}

function renderEntry(entry) {
  switch (entry.role) {
    case "user": {
      const node = bubble(entry.redacted ? "msg user redacted" : "msg user", entry.text);
      if (entry.id) {
        node.setAttribute("data-message-id", entry.id);
        state.bubbles.set(entry.id, node);
      }
      return node;
    }
    case "bot":
      return renderBotEntry(entry);
    case "agent":
      return renderAgentEntry(entry);
    case "card":
      return renderCardFormEntry(entry);
    case "status":
      return bubble("msg status", handoffText(entry));
    default:
      return document.createDocumentFragment();
  }
}

function bubble(className, text) {
  const div = document.createElement("div");
  div.className = className;
  div.textContent = text;
  return div;
}

function renderBotEntry(entry) {
  const fragment = document.createDocumentFragment();
  fragment.appendChild(bubble("msg bot", entry.text));
  if (entry.buttons && entry.buttons.length > 0) {
    const group = document.createElement("div");
    group.className = "quick-replies";
    group.setAttribute("role", "group");
    entry.buttons.forEach(function (button, buttonIndex) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "quick-reply";
      b.textContent = button.title;
      const used = entry.chosen !== null && entry.chosen !== undefined;
      b.disabled = used;
      if (entry.chosen === buttonIndex) b.classList.add("chosen");
      b.addEventListener("click", function () { chooseQuickReply(entry, buttonIndex, group); });
      group.appendChild(b);
    });
    fragment.appendChild(group);
  }
  return fragment;
}

// A button group answers one question: after a click the whole group is spent.
function chooseQuickReply(entry, buttonIndex, group) {
  if (!entry.buttons || entry.chosen !== null || !state.customer || state.log.indexOf(entry) === -1) return;
  const button = entry.buttons[buttonIndex];
  entry.chosen = buttonIndex;
  group.querySelectorAll("button.quick-reply").forEach(function (b, i) {
    b.disabled = true;
    if (i === buttonIndex) b.classList.add("chosen");
  });
  sendUserMessage(button.payload, button.title);
  saveLog();
}

function renderAgentEntry(entry) {
  const div = document.createElement("div");
  div.className = "msg agent";
  const label = document.createElement("span");
  label.className = "msg-author";
  const name = document.createElement("strong");
  name.textContent = entry.agent;
  const role = document.createElement("span");
  role.className = "msg-author-role";
  role.textContent = " · " + t("supportAgent");
  label.appendChild(name);
  label.appendChild(role);
  const text = document.createElement("span");
  text.className = "msg-text";
  text.textContent = entry.text;
  div.appendChild(label);
  div.appendChild(text);
  return div;
}

function renderCardFormEntry(entry) {
  const div = document.createElement("div");
  div.className = "msg bot card-form";
  const expired = entry.expiresAt !== null && Date.now() > entry.expiresAt;
  if (expired) {
    div.classList.add("expired");
    div.textContent = t("cardFormExpired");
    return div;
  }
  const link = document.createElement("a");
  link.className = "card-form-link";
  link.href = withReturnPath(entry.url);
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.textContent = t("openCardForm");
  div.appendChild(link);
  if (entry.minutes) {
    const note = document.createElement("span");
    note.className = "card-form-note";
    note.textContent = t("cardFormValid", { minutes: entry.minutes });
    div.appendChild(note);
  }
  return div;
}

// The card form links back to this page once the card is saved (allowed sites only).
function withReturnPath(url) {
  try {
    const target = new URL(url);
    const here = new URL(window.location.href);
    here.hash = "";
    target.searchParams.set("return_to", here.href);
    return target.href;
  } catch (err) {
    return url;
  }
}

function handoffText(entry) {
  if (entry.status === "waiting") {
    return entry.position ? t("handoffWaiting", { position: entry.position }) : t("handoffWaitingNoPosition");
  }
  if (entry.status === "active") {
    return entry.agent ? t("handoffActive", { agent: entry.agent }) : t("handoffActiveNoName");
  }
  return t("handoffEnded");
}

function scrollToNewest() {
  el.messages.scrollTop = el.messages.scrollHeight;
}

export function showTyping() {
  el.typing.hidden = false;
  if (state.typingTimer) clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
}

export function hideTyping() {
  if (state.typingTimer) clearTimeout(state.typingTimer);
  state.typingTimer = null;
  el.typing.hidden = true;
}
