/*
 * The billing-support chat on any page of an allowed site, with one script tag:
 *
 *   <script src="https://BOT/chat/widget.js" data-lang="lv" async></script>
 *
 * This file only draws the launcher button, inside a closed shadow root (the page's
 * styles do not reach in, ours do not leak out). The chat itself (chat.js, the
 * Socket.IO client and the styles) is loaded from the bot when the customer first
 * opens the chat, or at once on a page where the chat was left open.
 *
 * The page tells the chat who its customer is by handing it their token, signed by
 * the site's own backend (README, "Embedding the chat"):
 *
 *   window.BillingBot.setTokenProvider(async () => (await fetch("/chat-token")).text());
 *
 * The provider is called again a minute before each token expires; resolving to
 * null means nobody is signed in. Commands given before this file has loaded are
 * queued: window.BillingBot = window.BillingBot || []; BillingBot.push(["setLanguage", "lv"]).
 * Attributes: data-lang (en, lv, zh), data-position ("left" for the left corner).
 */
(function () {
  "use strict";

  const OPEN_KEY = "bb.widget.open";
  const script = document.currentScript;
  if (!script || (window.BillingBot && window.BillingBot.version)) return; // loaded twice
  const base = new URL(script.src, window.location.href).origin;
  const queued = Array.isArray(window.BillingBot) ? window.BillingBot : [];
  const settings = { lang: script.getAttribute("data-lang"), tokenProvider: null };
  const LABELS = { en: "Billing support chat", lv: "Norēķinu atbalsta saruna", zh: "账单客服对话" };

  let chat = null; // the BillingBotChat API once loaded
  let loading = null;
  let open = false;

  function storageGet(key) {
    try {
      return window.sessionStorage.getItem(key);
    } catch (err) {
      return null;
    }
  }

  function storageSet(key, value) {
    try {
      if (value === null) window.sessionStorage.removeItem(key);
      else window.sessionStorage.setItem(key, value);
    } catch (err) {
      /* not kept across pages; nothing else to do */
    }
  }

  // ---------- the host element and its shadow root ----------

  // A custom element name: the page's `div`, `section`... rules do not match it, and
  // the inline `all: initial` beats the rest (`*`, attribute selectors, !important).
  const host = document.createElement("billing-bot-chat");
  // Through the CSSOM: a page whose CSP has no 'unsafe-inline' refuses style attributes.
  host.style.setProperty("all", "initial", "important");
  const shadow = host.attachShadow({ mode: "closed" });
  const root = document.createElement("div");
  root.className = "bb-root";
  if (script.getAttribute("data-position") === "left") root.setAttribute("data-position", "left");
  const style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = base + "/chat/static/widget.css";
  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "bb-panel");
  launcher.innerHTML = '<span class="launcher-icon" aria-hidden="true"></span><span class="launcher-dot" hidden></span>';
  const panel = document.createElement("div");
  panel.id = "bb-panel";
  panel.className = "panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "chat-title");
  panel.hidden = true;
  // Until the stylesheet is in, nothing of ours is drawn unstyled on the page.
  launcher.hidden = true;
  style.addEventListener("load", function () { launcher.hidden = false; });
  root.append(launcher, panel);
  shadow.append(style, root);

  function label() {
    const lang = (settings.lang || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
    launcher.setAttribute("aria-label", LABELS[lang] || LABELS.en);
  }

  // ---------- loading the chat on demand ----------

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      const tag = document.createElement("script");
      tag.src = src;
      tag.async = true;
      tag.onload = resolve;
      tag.onerror = reject;
      document.head.appendChild(tag);
    });
  }

  function loadChat() {
    if (loading) return loading;
    // The Socket.IO client defines window.io: the page's own `io`, if it has one, is put back.
    const pagesIo = Object.prototype.hasOwnProperty.call(window, "io") ? window.io : undefined;
    let io = null;
    loading = loadScript(base + "/chat/static/socket.io.min.js")
      .then(function () {
        io = window.io;
        if (pagesIo === undefined) delete window.io;
        else window.io = pagesIo;
        return loadScript(base + "/chat/static/chat.js");
      })
      .then(function () {
        chat = window.BillingBotChat.mount({
          container: panel,
          mode: "embedded",
          base: base,
          io: io,
          lang: settings.lang,
          tokenProvider: settings.tokenProvider,
          onClose: function () { setOpen(false, { returnFocus: true }); },
          onActivity: function () { if (!open) launcher.querySelector(".launcher-dot").hidden = false; },
        });
        return chat;
      })
      .catch(function () {
        loading = null; // a later click tries again
        launcher.disabled = false;
      });
    return loading;
  }

  // how.focus: move focus into the chat (the customer opened it); how.returnFocus:
  // back to the button (the customer closed it). A page that opens with the chat
  // left open keeps its own focus.
  function setOpen(value, how) {
    const options = how || {};
    open = value;
    panel.hidden = !value;
    launcher.setAttribute("aria-expanded", value ? "true" : "false");
    root.toggleAttribute("data-open", value);
    storageSet(OPEN_KEY, value ? "1" : null);
    if (value) {
      launcher.querySelector(".launcher-dot").hidden = true;
      loadChat().then(function () { if (open && chat && options.focus) chat.focus(); });
    } else if (options.returnFocus) {
      launcher.focus();
    }
  }

  launcher.addEventListener("click", function () { setOpen(!open, { focus: true }); });
  // Hovering or tabbing to the button starts the download before the click.
  launcher.addEventListener("pointerenter", loadChat, { once: true });
  launcher.addEventListener("focus", loadChat, { once: true });

  // ---------- the page's API ----------

  const api = {
    version: "1",
    setTokenProvider: function (provider) {
      settings.tokenProvider = typeof provider === "function" ? provider : null;
      if (chat) chat.setTokenProvider(settings.tokenProvider);
    },
    setLanguage: function (lang) {
      settings.lang = lang;
      label();
      if (chat) chat.setLanguage(lang);
    },
    open: function () { setOpen(true, { focus: true }); },
    close: function () { setOpen(false); },
    // Call when the customer signs out of the site: the chat forgets the conversation.
    signOut: function () {
      if (chat) chat.signOut();
      setOpen(false);
    },
    push: function (command) {
      if (Array.isArray(command) && typeof api[command[0]] === "function" && command[0] !== "push") {
        api[command[0]].apply(null, command.slice(1));
      }
    },
  };
  window.BillingBot = api;
  queued.forEach(api.push);
  label();

  function attach() {
    document.body.appendChild(host);
    if (storageGet(OPEN_KEY) === "1") setOpen(true); // open on the previous page
    document.dispatchEvent(new CustomEvent("billingbot:ready"));
  }

  if (document.body) attach();
  else document.addEventListener("DOMContentLoaded", attach);
})();
