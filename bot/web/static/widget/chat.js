/*
 * The chat panel of the billing-support bot: one code for the demo page (/chat/, through
 * demo.js) and for the widget that other sites embed with one script tag (widget.js,
 * which imports this module from the bot when the customer first opens the chat).
 *
 * `mount(options)` builds the panel inside `options.container` (a shadow root's element
 * for the embedded widget, a plain element on /chat/). The customer's token comes from
 * the demo sign-in (mode "demo") or from the embedding page's own backend through
 * `options.tokenProvider` (mode "embedded"). Socket.IO carries the chat to Rasa, and
 * the rendered conversation is kept per customer in localStorage, so a reload, or
 * another page of the same site, shows it again. The concerns live in their own
 * modules (state.js lists them); this one starts them and wires the panel's events.
 */

import { loadDemoCustomers, pickInitialLanguage, setLanguage, signIn, signOut } from "./account.js";
import { buildPanel, clearNotice, renderAccount } from "./render.js";
import { sendUserMessage } from "./socket.js";
import { TOKEN_REFRESH_MARGIN_MS, config, el, state } from "./state.js";
import { STORAGE_KEYS, storageGet } from "./storage.js";
import { normalizeLanguage } from "./texts.js";
import { refreshToken } from "./token.js";

function submitComposer() {
  if (el.send.disabled) return;
  const text = el.message.value;
  if (sendUserMessage(text)) {
    el.message.value = "";
    el.message.focus();
  }
}

function bindEvents() {
  el.language.addEventListener("change", function () {
    setLanguage(el.language.value, { persist: true });
  });
  if (el.customer) {
    el.customer.addEventListener("change", renderAccount);
    el.signIn.addEventListener("click", function () {
      if (el.customer.value) signIn(el.customer.value, { automatic: false });
    });
    el.signOut.addEventListener("click", signOut);
  }
  el.composer.addEventListener("submit", function (event) {
    event.preventDefault();
    submitComposer();
  });
  el.message.addEventListener("keydown", function (event) {
    // isComposing: Enter also confirms a Chinese IME candidate and must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submitComposer();
    }
  });
  if (config.mode === "embedded") {
    el.close.addEventListener("click", function () { if (config.onClose) config.onClose(); });
    el.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !event.isComposing && config.onClose) {
        event.preventDefault();
        config.onClose();
      }
    });
  }
  // Timers are throttled in background tabs; check the token when the tab comes back.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && state.customer && Date.now() > state.tokenExpiresAt - TOKEN_REFRESH_MARGIN_MS) {
      refreshToken();
    }
  });
}

let mounted = false;

// options: container (element), mode ("demo" | "embedded"), base (the bot's origin,
// "" for its own pages), lang, tokenProvider, onClose, onActivity. Returns the API.
export function mount(options) {
  if (mounted) return api;
  mounted = true;
  Object.keys(config).forEach(function (key) {
    if (options && options[key] !== undefined) config[key] = options[key];
  });
  buildPanel(options.container);
  const initial = pickInitialLanguage();
  state.lang = initial.lang;
  state.langExplicit = initial.explicit;
  bindEvents();
  setLanguage(state.lang, { persist: false });

  if (config.mode === "embedded") {
    signIn(null, { automatic: true });
    return api;
  }
  const remembered = storageGet(localStorage, STORAGE_KEYS.customer);
  const customersLoaded = loadDemoCustomers();
  if (remembered) {
    signIn(remembered, { automatic: true });
  }
  customersLoaded.then(function () {
    // Keep the notice honest: a failed list does not matter once signed in.
    if (state.customer && state.notice && state.notice.key === "customersFailed") clearNotice();
  });
  return api;
}

// What the launcher (widget.js) calls once the panel is mounted.
const api = {
  // The embedding page's way to the customer's token (async () => token or null).
  setTokenProvider: function (provider) {
    config.tokenProvider = typeof provider === "function" ? provider : null;
    if (mounted && config.mode === "embedded") signIn(null, { automatic: true });
  },
  setLanguage: function (lang) {
    const normalized = normalizeLanguage(lang);
    if (!normalized) return;
    config.lang = normalized;
    if (mounted) setLanguage(normalized, { persist: false });
  },
  // The site signed its customer out: the conversation is forgotten on this browser.
  signOut: function () {
    if (mounted) signOut();
  },
  // Focus for a panel that was just opened: the message box, else the conversation.
  focus: function () {
    if (!mounted) return;
    if (!el.message.disabled) {
      el.message.focus();
      return;
    }
    el.messages.focus();
    state.focusWhenReady = true;
  },
};
