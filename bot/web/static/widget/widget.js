/*
 * The billing-support chat on any page of an allowed site, with one script tag:
 *
 *   <script src="https://BOT/chat/widget.js" data-lang="lv" async></script>
 *
 * This classic script only draws the launcher button, inside a closed shadow root (the
 * page's styles do not reach in, ours do not leak out). The chat itself is a set of ES
 * modules (chat.js and what it imports, the Socket.IO client included) that this file
 * import()s from the bot's own origin when the customer first opens the chat, or at
 * once on a page where the chat was left open. The bot answers those module requests
 * with CORS headers for the sites of BOT_WIDGET_ORIGINS only (its origin allow-list): on any
 * other site the chat does not load, and the panel says so.
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
  // When the chat's modules do not load (a site not allowed, the network): chat.js's chatUnavailable.
  const UNAVAILABLE = { en: "The connection could not be started. Please reload the page.", lv: "Neizdevās izveidot savienojumu. Lūdzu, pārlādējiet lapu.", zh: "无法建立连接，请刷新页面。" };

  let chat = null; // the API chat.js mount() returns, once loaded
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
  const failed = document.createElement("p");
  failed.className = "notice load-failed";
  failed.setAttribute("role", "alert");
  failed.hidden = true;
  panel.append(failed);
  // Until the stylesheet is in, nothing of ours is drawn unstyled on the page.
  launcher.hidden = true;
  style.addEventListener("load", function () { launcher.hidden = false; });
  root.append(launcher, panel);
  shadow.append(style, root);

  function language() {
    return (settings.lang || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  }

  function label() {
    launcher.setAttribute("aria-label", LABELS[language()] || LABELS.en);
  }

  // ---------- loading the chat on demand ----------

  // The modules come from the bot's origin: a CORS request, which the bot answers for
  // allowed sites only. Their imports (the Socket.IO client too) are resolved against it.
  function loadChat() {
    if (loading) return loading;
    loading = import(base + "/chat/static/chat.js")
      .then(function (module) {
        failed.hidden = true;
        chat = module.mount({
          container: panel,
          mode: "embedded",
          base: base,
          lang: settings.lang,
          tokenProvider: settings.tokenProvider,
          onClose: function () { setOpen(false, { returnFocus: true }); },
          onActivity: function () { if (!open) launcher.querySelector(".launcher-dot").hidden = false; },
        });
        return chat;
      })
      .catch(function () {
        // The browser remembers a module that failed for this page: the next page tries again.
        loading = null;
        failed.textContent = UNAVAILABLE[language()] || UNAVAILABLE.en;
        failed.hidden = false;
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
