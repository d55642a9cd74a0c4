/*
 * The chat panel of the billing-support bot: one code for the demo page (/chat/)
 * and for the widget that other sites embed with one script tag (widget.js).
 *
 * `window.BillingBotChat.mount(options)` builds the panel inside `options.container`
 * (a shadow root's element for the embedded widget, a plain element on /chat/).
 * The customer's token comes from the demo sign-in (mode "demo") or from the
 * embedding page's own backend through `options.tokenProvider` (mode "embedded"),
 * asked again a minute before the token expires. Socket.IO carries the chat to
 * Rasa, and the rendered conversation is kept per customer in localStorage so a
 * reload, or another page of the same site, shows it again. Everything coming from the server is shown through
 * textContent only: bot texts, agent names and buttons are data, never markup.
 *
 * A customer's own message is kept only once the server says how it stored it
 * (`message_stored`): a message holding card data comes back masked, its bubble
 * shows the masked text, and only that is written to localStorage. The session id
 * is kept with the secret the server handed out for it (session_confirm), which
 * rejoining needs. Signing out removes what the page kept for that customer.
 */
(function () {
  "use strict";

  const SUPPORTED_LANGUAGES = ["en", "lv", "zh"];
  const STORAGE_KEYS = {
    language: "bb.lang",
    customer: "bb.customer",
    token: "bb.token",
    tokenExpiresAt: "bb.token.expires_at",
    tokenCustomer: "bb.token.customer",
    sessionPrefix: "bb.session.",
    sessionSecretPrefix: "bb.session_secret.",
    logPrefix: "bb.log.",
  };
  const API = {
    customers: "/chat/api/demo-customers",
    token: "/chat/api/demo-token",
  };
  // Set by mount(): where the bot is, how the customer's token is obtained, callbacks.
  const config = {
    base: "",
    mode: "demo", // demo | embedded
    root: null,
    io: null,
    tokenProvider: null,
    lang: null,
    onClose: null,
    onActivity: null,
  };
  const MAX_LOG_ENTRIES = 300;
  const MAX_QUICK_REPLIES = 20;
  const MAX_MESSAGE_LENGTH = 2000;
  const TOKEN_REFRESH_MARGIN_MS = 60 * 1000;
  const TOKEN_RETRY_MS = 15 * 1000;
  const REQUEST_TIMEOUT_MS = 15 * 1000;
  const TYPING_TIMEOUT_MS = 20 * 1000;
  // Rasa answers session_request with a uuid4 hex; anything odd is not stored.
  const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;
  const SESSION_SECRET_PATTERN = /^[A-Za-z0-9_-]{16,256}$/;
  const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
  const HANDOFF_STATUSES = ["waiting", "active", "ended"];

  const TEXTS = {
    en: {
      title: "Billing support",
      subtitle: "Help with payments, cards and past-due balances",
      language: "Language",
      accountHeading: "Account",
      customer: "Demo customer",
      loadingCustomers: "Loading…",
      noCustomers: "No demo customers",
      signIn: "Sign in",
      signOut: "Sign out",
      signingIn: "Signing in…",
      signedInAs: "Signed in as {name} ({id})",
      notSignedIn: "Not signed in",
      demoDisabled: "Demo sign-in is turned off on this server, so the chat cannot be used here.",
      customersFailed: "The list of demo customers could not be loaded. Please reload the page.",
      signInFailed: "Sign-in did not work. Please try again.",
      sessionExpired: "Your sign-in has expired. Please sign in again.",
      chatUnavailable: "The connection could not be started. Please reload the page.",
      privacy: "Never type your card number in the chat: we will send you a secure form.",
      conversation: "Chat",
      signInPrompt: "Sign in to chat with billing support.",
      emptyConversation: "Ask about a declined payment, an expired card or a past-due balance.",
      messageLabel: "Your message",
      placeholder: "Type your message…",
      placeholderSignedOut: "Sign in to start chatting",
      send: "Send",
      hint: "Enter to send, Shift+Enter for a new line",
      offline: "Not connected",
      connecting: "Connecting…",
      connected: "Connected",
      reconnecting: "Reconnecting…",
      supportAgent: "support agent",
      openCardForm: "Open the secure card form",
      cardFormValid: "The link can be used once and is valid for {minutes} min.",
      cardFormExpired: "This card form link has expired. Ask in the chat for a new one.",
      handoffWaiting: "Waiting for a support agent (place in queue: {position})",
      handoffWaitingNoPosition: "Waiting for a support agent",
      handoffActive: "{agent} from support joined the chat",
      handoffActiveNoName: "A support agent joined the chat",
      handoffEnded: "You are chatting with the assistant again",
      close: "Close the chat",
      signInOnSite: "Sign in to your account to chat with billing support.",
      tokenFailed: "We could not confirm your sign-in. Please reload the page.",
    },
    lv: {
      title: "Norēķinu atbalsts",
      subtitle: "Palīdzība ar maksājumiem, kartēm un nokavētiem maksājumiem",
      language: "Valoda",
      accountHeading: "Konts",
      customer: "Demonstrācijas klients",
      loadingCustomers: "Notiek ielāde…",
      noCustomers: "Nav demonstrācijas klientu",
      signIn: "Pierakstīties",
      signOut: "Izrakstīties",
      signingIn: "Notiek pierakstīšanās…",
      signedInAs: "Konts: {name} ({id})",
      notSignedIn: "Nav veikta pierakstīšanās",
      demoDisabled: "Šajā serverī demonstrācijas pierakstīšanās ir izslēgta, tāpēc sarunu šeit nevar sākt.",
      customersFailed: "Neizdevās ielādēt demonstrācijas klientu sarakstu. Lūdzu, pārlādējiet lapu.",
      signInFailed: "Pierakstīties neizdevās. Lūdzu, mēģiniet vēlreiz.",
      sessionExpired: "Jūsu sesija ir beigusies. Lūdzu, pierakstieties vēlreiz.",
      chatUnavailable: "Neizdevās izveidot savienojumu. Lūdzu, pārlādējiet lapu.",
      privacy: "Nekad nerakstiet kartes numuru sarunā – mēs jums nosūtīsim drošu veidlapu.",
      conversation: "Saruna",
      signInPrompt: "Pierakstieties, lai sāktu sarunu ar norēķinu atbalstu.",
      emptyConversation: "Jautājiet par noraidītu maksājumu, karti, kurai beidzies derīguma termiņš, vai nokavētu maksājumu.",
      messageLabel: "Jūsu ziņa",
      placeholder: "Rakstiet savu ziņu…",
      placeholderSignedOut: "Pierakstieties, lai sāktu sarunu",
      send: "Sūtīt",
      hint: "Enter – nosūtīt, Shift+Enter – jauna rinda",
      offline: "Nav savienojuma",
      connecting: "Notiek savienošana…",
      connected: "Savienots",
      reconnecting: "Notiek savienojuma atjaunošana…",
      supportAgent: "atbalsta speciālists",
      openCardForm: "Atvērt drošo kartes veidlapu",
      cardFormValid: "Saiti var izmantot vienu reizi, un tā ir derīga {minutes} min.",
      cardFormExpired: "Saite uz kartes veidlapu vairs nav derīga. Palūdziet sarunā jaunu saiti.",
      handoffWaiting: "Gaidām atbalsta speciālistu (vieta rindā: {position})",
      handoffWaitingNoPosition: "Gaidām atbalsta speciālistu",
      handoffActive: "{agent} no atbalsta dienesta pievienojās sarunai",
      handoffActiveNoName: "Sarunai pievienojās atbalsta speciālists",
      handoffEnded: "Jūs atkal sarakstāties ar norēķinu palīgu",
      close: "Aizvērt sarunu",
      signInOnSite: "Pierakstieties savā kontā, lai sāktu sarunu ar norēķinu atbalstu.",
      tokenFailed: "Neizdevās apstiprināt jūsu pierakstīšanos. Lūdzu, pārlādējiet lapu.",
    },
    zh: {
      title: "账单客服",
      subtitle: "付款、银行卡及逾期款项相关帮助",
      language: "语言",
      accountHeading: "账户",
      customer: "演示客户",
      loadingCustomers: "正在加载……",
      noCustomers: "暂无演示客户",
      signIn: "登录",
      signOut: "退出登录",
      signingIn: "正在登录……",
      signedInAs: "已登录：{name}（{id}）",
      notSignedIn: "未登录",
      demoDisabled: "此服务器已关闭演示登录，无法在此开始对话。",
      customersFailed: "无法加载演示客户列表，请刷新页面。",
      signInFailed: "登录失败，请重试。",
      sessionExpired: "登录已过期，请重新登录。",
      chatUnavailable: "无法建立连接，请刷新页面。",
      privacy: "请勿在对话中输入卡号，我们会向您发送安全表单。",
      conversation: "对话",
      signInPrompt: "登录后即可与账单客服对话。",
      emptyConversation: "您可以咨询扣款被拒、银行卡过期或逾期款项等问题。",
      messageLabel: "您的消息",
      placeholder: "请输入消息……",
      placeholderSignedOut: "登录后即可开始对话",
      send: "发送",
      hint: "按 Enter 发送，Shift+Enter 换行",
      offline: "未连接",
      connecting: "正在连接……",
      connected: "已连接",
      reconnecting: "正在重新连接……",
      supportAgent: "客服",
      openCardForm: "打开银行卡安全表单",
      cardFormValid: "此链接仅可使用一次，{minutes} 分钟内有效。",
      cardFormExpired: "此银行卡表单链接已过期，请在对话中重新获取。",
      handoffWaiting: "正在等待客服接入（排队位置：{position}）",
      handoffWaitingNoPosition: "正在等待客服接入",
      handoffActive: "客服 {agent} 已加入对话",
      handoffActiveNoName: "客服已加入对话",
      handoffEnded: "现在由账单助手为您服务",
      close: "关闭对话",
      signInOnSite: "请先登录您的账户，再与账单客服对话。",
      tokenFailed: "无法确认您的登录状态，请刷新页面。",
    },
  };

  const el = {};

  const state = {
    lang: "en",
    langExplicit: false,
    customersStatus: "loading", // loading | ready | disabled | failed
    customers: [],
    customer: null, // {id, name, language} while signed in
    token: null,
    tokenExpiresAt: 0,
    refreshTimer: null,
    refreshing: null,
    signInSeq: 0,
    signingIn: false,
    socket: null,
    sessionId: null,
    sessionConfirmed: false,
    everConfirmed: false,
    connection: "offline",
    pending: [], // messages typed before the session is confirmed
    log: [],
    bubbles: new Map(), // message id -> the bubble showing the customer's message
    handoff: null, // last handoff status seen, to decide on the typing dots
    notice: null, // {key, params} so the notice is relabelled with the page
    typingTimer: null,
    focusWhenReady: false, // the panel was opened while the sign-in was under way
  };

  // ---------- small helpers ----------

  function t(key, params) {
    const table = TEXTS[state.lang] || TEXTS.en;
    let text = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : TEXTS.en[key] || key;
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (match, name) {
        return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match;
      });
    }
    return text;
  }

  // Storage can be unavailable (private mode, quotas): the chat still works without it.
  function storageGet(storage, key) {
    try {
      return storage.getItem(key);
    } catch (err) {
      return null;
    }
  }

  function storageSet(storage, key, value) {
    try {
      storage.setItem(key, value);
    } catch (err) {
      /* not persisted; nothing else to do */
    }
  }

  function storageRemove(storage, key) {
    try {
      storage.removeItem(key);
    } catch (err) {
      /* ignore */
    }
  }

  function cleanString(value, maxLength) {
    if (typeof value !== "string") return "";
    return value.length > maxLength ? value.slice(0, maxLength) : value;
  }

  // Only http(s) links are ever rendered; javascript:, data: and friends are dropped.
  function safeHttpUrl(value) {
    if (typeof value !== "string" || value.length > 2048) return null;
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (err) {
      return null;
    }
  }

  function normalizeLanguage(value) {
    if (typeof value !== "string") return null;
    const lower = value.toLowerCase();
    if (SUPPORTED_LANGUAGES.indexOf(lower) !== -1) return lower;
    if (lower.indexOf("lv") === 0) return "lv";
    if (lower.indexOf("zh") === 0) return "zh";
    if (lower.indexOf("en") === 0) return "en";
    return null;
  }

  async function requestJson(method, url, body) {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    const options = {
      method: method,
      credentials: "omit", // the chat uses no cookies
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined,
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    try {
      const response = await fetch(config.base + url, options);
      let data = null;
      try {
        data = await response.json();
      } catch (err) {
        data = null;
      }
      return { ok: response.ok, status: response.status, data: data };
    } catch (err) {
      return { ok: false, status: 0, data: null }; // network error or timeout
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  // ---------- language ----------

  function pickInitialLanguage() {
    const fromQuery = config.mode === "demo" ? normalizeLanguage(new URLSearchParams(window.location.search).get("lang")) : null;
    if (fromQuery && SUPPORTED_LANGUAGES.indexOf(fromQuery) !== -1) {
      return { lang: fromQuery, explicit: true };
    }
    // The customer's own choice in the menu, then the embedding page's data-lang.
    const stored = storageGet(localStorage, STORAGE_KEYS.language);
    if (stored && SUPPORTED_LANGUAGES.indexOf(stored) !== -1) {
      return { lang: stored, explicit: true };
    }
    const fromPage = normalizeLanguage(config.lang);
    if (fromPage) return { lang: fromPage, explicit: true };
    const browserLanguages = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    for (let i = 0; i < browserLanguages.length; i += 1) {
      const lang = normalizeLanguage(browserLanguages[i]);
      if (lang) return { lang: lang, explicit: false };
    }
    return { lang: "en", explicit: false };
  }

  function setLanguage(lang, options) {
    if (SUPPORTED_LANGUAGES.indexOf(lang) === -1) return;
    state.lang = lang;
    if (options && options.persist) {
      state.langExplicit = true;
      storageSet(localStorage, STORAGE_KEYS.language, lang);
      keepLangParamInSync(lang);
    }
    if (config.mode === "demo") document.documentElement.lang = lang;
    el.panel.setAttribute("lang", lang === "zh" ? "zh-Hans" : lang);
    el.language.value = lang;
    relabelPage();
  }

  // A ?lang= in the address would otherwise override the choice on the next reload.
  function keepLangParamInSync(lang) {
    if (config.mode !== "demo") return;
    const url = new URL(window.location.href);
    if (url.searchParams.has("lang") && url.searchParams.get("lang") !== lang) {
      url.searchParams.set("lang", lang);
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
  }

  function relabelPage() {
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

  function showNotice(key, params) {
    state.notice = { key: key, params: params || null };
    renderNotice();
  }

  function clearNotice() {
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

  // ---------- demo customers and sign-in ----------

  async function loadDemoCustomers() {
    const result = await requestJson("GET", API.customers);
    if (result.status === 404) {
      state.customersStatus = "disabled";
      showNotice("demoDisabled");
    } else if (!result.ok || !result.data || !Array.isArray(result.data.customers)) {
      state.customersStatus = "failed";
      if (!state.customer) showNotice("customersFailed");
    } else {
      state.customersStatus = "ready";
      state.customers = result.data.customers
        .filter(function (c) { return c && typeof c.id === "string" && c.id; })
        .map(function (c) {
          return {
            id: cleanString(c.id, 100),
            name: cleanString(c.name, 120) || c.id,
            language: normalizeLanguage(c.language),
          };
        });
    }
    renderCustomerOptions();
    renderAccount();
  }

  function renderCustomerOptions() {
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

  function renderAccount() {
    const signedIn = Boolean(state.customer);
    if (!el.customer) return;
    el.customer.disabled = state.customersStatus !== "ready" || state.customers.length === 0 || state.signingIn;
    el.signIn.disabled = el.customer.disabled || !el.customer.value;
    el.signIn.textContent = state.signingIn ? t("signingIn") : t("signIn");
    el.signOut.hidden = !signedIn;
    el.signedInAs.textContent = signedIn ? t("signedInAs", { name: state.customer.name, id: state.customer.id }) : t("notSignedIn");
    el.signedInAs.setAttribute("data-state", signedIn ? "signed-in" : "signed-out");
  }

  function findKnownCustomer(id) {
    for (let i = 0; i < state.customers.length; i += 1) {
      if (state.customers[i].id === id) return state.customers[i];
    }
    return null;
  }

  async function signIn(customerId, options) {
    const automatic = Boolean(options && options.automatic);
    const seq = ++state.signInSeq;
    state.signingIn = true;
    renderAccount();
    const result = await obtainToken(customerId);
    if (seq !== state.signInSeq) return; // a newer sign-in or a sign-out won
    state.signingIn = false;

    let tokenData = result.tokenData;
    if (!tokenData && automatic && result.status === 0 && config.mode === "demo") {
      tokenData = storedTokenFor(customerId); // offline reload: reuse a still-valid token
    }
    if (!tokenData && config.mode === "embedded") {
      // Nobody is signed in on the site (any more), or its backend did not answer.
      if (state.customer) signOut();
      if (result.status === 0) {
        showNotice("tokenFailed");
        scheduleSignInRetry();
      }
      renderLog();
      renderComposer();
      return;
    }
    if (!tokenData) {
      // An unknown or retired customer is forgotten; a network failure is not their fault.
      if (automatic && result.status >= 400 && result.status < 500) {
        storageRemove(localStorage, STORAGE_KEYS.customer);
      }
      // "Demo sign-in is off" says more than "sign-in failed": keep it if it is shown.
      if (!state.notice || state.notice.key !== "demoDisabled") {
        showNotice(state.customersStatus === "disabled" ? "demoDisabled" : "signInFailed");
      }
      renderAccount();
      return;
    }

    const known = findKnownCustomer(customerId);
    const customer = {
      id: tokenData.customer.id || customerId,
      name: tokenData.customer.name || (known && known.name) || customerId,
      language: tokenData.customer.language || (known && known.language) || null,
    };
    const switching = !state.customer || state.customer.id !== customer.id;
    if (switching && state.customer) endConversationView();

    state.customer = customer;
    applyToken(tokenData);
    if (config.mode === "demo") storageSet(localStorage, STORAGE_KEYS.customer, customer.id);
    clearNotice();

    // The customer's own language, unless the visitor has picked one.
    if (!state.langExplicit && customer.language && customer.language !== state.lang) {
      setLanguage(customer.language, { persist: false });
    }
    if (switching) {
      state.log = loadLog(customer.id);
      state.handoff = lastHandoffStatus(state.log);
      renderLog();
      connectSocket(customer.id);
    }
    if (el.customer) el.customer.value = customer.id;
    renderAccount();
    renderComposer();
    if (switching && !automatic) el.message.focus();
  }

  // The customer's token: from the demo sign-in, or from the embedding page's backend.
  // Resolves to {tokenData, status}: 200 with a token, 401 when nobody is signed in,
  // 404 when the demo sign-in is off, 0 for a failure worth trying again.
  async function obtainToken(customerId) {
    if (config.mode === "demo") {
      const result = await requestJson("POST", API.token, { customer_id: customerId });
      return { tokenData: tokenFromResponse(result), status: result.status };
    }
    if (typeof config.tokenProvider !== "function") return { tokenData: null, status: 401 };
    let provided;
    try {
      provided = await config.tokenProvider();
    } catch (err) {
      return { tokenData: null, status: 0 };
    }
    const tokenData = tokenFromProvider(provided);
    return { tokenData: tokenData, status: tokenData ? 200 : 401 };
  }

  // A token from the page: a JWT string, or {token, expiresIn}.
  function tokenFromProvider(provided) {
    const token = typeof provided === "string" ? provided : provided && typeof provided.token === "string" ? provided.token : null;
    if (!token || token.length > 8192) return null;
    const claims = jwtClaims(token);
    if (!claims || typeof claims.sub !== "string" || !claims.sub) return null;
    let lifetime = Number(provided && provided.expiresIn);
    if (!(lifetime > 0) && Number.isFinite(claims.exp)) {
      // exp - iat does not depend on this computer's clock; a token the site kept
      // for a while has less left, which exp - now tells when the clock is right.
      const total = Number.isFinite(claims.iat) ? claims.exp - claims.iat : Infinity;
      const left = claims.exp - Date.now() / 1000;
      lifetime = left > 0 ? Math.min(total, left) : total;
    }
    return {
      token: token,
      expiresAt: Date.now() + (lifetime > 0 && Number.isFinite(lifetime) ? lifetime : 300) * 1000,
      customer: { id: cleanString(claims.sub, 100), name: "", language: null },
    };
  }

  // A JWT's claims, read without checking the signature (only the server can): the
  // page uses `sub` to keep customers' conversations apart and `exp` to renew in time.
  function jwtClaims(token) {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      const binary = atob(parts[1].replace(/-/g, "+").replace(/_/g, "/"));
      const bytes = Uint8Array.from(binary, function (c) { return c.charCodeAt(0); });
      const claims = JSON.parse(new TextDecoder().decode(bytes));
      return claims && typeof claims === "object" ? claims : null;
    } catch (err) {
      return null;
    }
  }

  function scheduleSignInRetry() {
    if (state.refreshTimer) clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(function () { signIn(null, { automatic: true }); }, TOKEN_RETRY_MS);
  }

  function tokenFromResponse(result) {
    const data = result && result.data;
    if (!result || !result.ok || !data || typeof data.token !== "string" || !data.token) return null;
    const seconds = Number(data.expires_in);
    const customer = data.customer && typeof data.customer === "object" ? data.customer : {};
    return {
      token: data.token,
      expiresAt: Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 300) * 1000,
      customer: {
        id: cleanString(customer.id, 100),
        name: cleanString(customer.name, 120),
        language: normalizeLanguage(customer.language),
      },
    };
  }

  function storedTokenFor(customerId) {
    const token = storageGet(sessionStorage, STORAGE_KEYS.token);
    const expiresAt = Number(storageGet(sessionStorage, STORAGE_KEYS.tokenExpiresAt));
    const owner = storageGet(sessionStorage, STORAGE_KEYS.tokenCustomer);
    if (!token || owner !== customerId || !(expiresAt > Date.now() + TOKEN_REFRESH_MARGIN_MS)) return null;
    return { token: token, expiresAt: expiresAt, customer: { id: customerId, name: "", language: null } };
  }

  function applyToken(tokenData) {
    state.token = tokenData.token;
    state.tokenExpiresAt = tokenData.expiresAt;
    // The demo page keeps its token for an offline reload; on another site the
    // page's own backend is asked again, and the token stays out of its storage.
    if (config.mode === "demo") {
      storageSet(sessionStorage, STORAGE_KEYS.token, tokenData.token);
      storageSet(sessionStorage, STORAGE_KEYS.tokenExpiresAt, String(tokenData.expiresAt));
      storageSet(sessionStorage, STORAGE_KEYS.tokenCustomer, state.customer ? state.customer.id : "");
    }
    // A minute before expiry; a very short-lived token is renewed at half its life instead.
    const lifetime = tokenData.expiresAt - Date.now();
    scheduleTokenRefresh(Math.max(lifetime - TOKEN_REFRESH_MARGIN_MS, lifetime / 2));
  }

  function scheduleTokenRefresh(delayMs) {
    if (state.refreshTimer) clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refreshToken, Math.max(1000, delayMs));
  }

  function tokenIsFresh() {
    return Boolean(state.token) && Date.now() < state.tokenExpiresAt - 5000;
  }

  // One refresh at a time; callers that need the token wait on the same promise.
  function refreshToken() {
    if (state.refreshing) return state.refreshing;
    if (!state.customer) return Promise.resolve(false);
    const customerId = state.customer.id;
    const seq = state.signInSeq;
    state.refreshing = obtainToken(customerId).then(function (result) {
      state.refreshing = null;
      if (seq !== state.signInSeq || !state.customer || state.customer.id !== customerId) return false;
      const tokenData = result.tokenData;
      if (tokenData && tokenData.customer.id && tokenData.customer.id !== customerId) {
        signIn(null, { automatic: true }); // another customer signed in on the site
        return false;
      }
      if (tokenData) {
        applyToken(tokenData);
        flushPending();
        return true;
      }
      if (result.status === 0 || result.status >= 500) {
        scheduleTokenRefresh(TOKEN_RETRY_MS); // transient: try again soon
        return false;
      }
      signOut();
      if (config.mode === "demo") showNotice("sessionExpired");
      return false;
    });
    return state.refreshing;
  }

  function signOut() {
    state.signInSeq += 1; // cancels sign-ins and refreshes in flight
    state.signingIn = false;
    if (state.customer) forgetConversation(state.customer.id);
    endConversationView();
    state.customer = null;
    state.token = null;
    state.tokenExpiresAt = 0;
    storageRemove(sessionStorage, STORAGE_KEYS.token);
    storageRemove(sessionStorage, STORAGE_KEYS.tokenExpiresAt);
    storageRemove(sessionStorage, STORAGE_KEYS.tokenCustomer);
    storageRemove(localStorage, STORAGE_KEYS.customer);
    el.message.value = ""; // a draft is not left behind for the next person at this screen
    if (state.notice && state.notice.key !== "demoDisabled") clearNotice();
    renderAccount();
    renderComposer();
    renderLog();
  }

  // What the page kept for a customer: the conversation and its session.
  function forgetConversation(customerId) {
    storageRemove(localStorage, logKey(customerId));
    storageRemove(localStorage, STORAGE_KEYS.sessionPrefix + customerId);
    storageRemove(localStorage, STORAGE_KEYS.sessionSecretPrefix + customerId);
  }

  // Leaves the current customer's conversation on screen and on the wire
  // (signing in as someone else keeps it stored; signing out does not).
  function endConversationView() {
    if (state.refreshTimer) clearTimeout(state.refreshTimer);
    state.refreshTimer = null;
    disconnectSocket();
    state.pending = [];
    state.log = [];
    state.handoff = null;
    hideTyping();
  }

  // ---------- Socket.IO ----------

  function connectSocket(customerId) {
    disconnectSocket();
    const io = config.io || window.io;
    if (typeof io !== "function") {
      showNotice("chatUnavailable");
      setConnection("offline");
      return;
    }
    // tryAllTransports: fall back to long-polling when a proxy blocks WebSockets.
    const socketOptions = { path: "/socket.io", transports: ["websocket", "polling"], tryAllTransports: true };
    const socket = config.base ? io(config.base, socketOptions) : io(socketOptions);
    state.socket = socket;
    state.sessionId = storageGet(localStorage, STORAGE_KEYS.sessionPrefix + customerId);
    state.sessionConfirmed = false;
    state.everConfirmed = false;
    setConnection("connecting");

    const isCurrent = function () { return state.socket === socket; };

    socket.on("connect", function () {
      if (!isCurrent()) return;
      state.sessionConfirmed = false;
      const storedId = storageGet(localStorage, STORAGE_KEYS.sessionPrefix + customerId);
      const storedSecret = storageGet(localStorage, STORAGE_KEYS.sessionSecretPrefix + customerId);
      const known = storedId && SESSION_ID_PATTERN.test(storedId) && storedSecret && SESSION_SECRET_PATTERN.test(storedSecret);
      socket.emit("session_request", known ? { session_id: storedId, session_secret: storedSecret } : { session_id: null });
    });

    socket.on("session_confirm", function (data) {
      if (!isCurrent()) return;
      const id = typeof data === "string" ? data : data && typeof data.session_id === "string" ? data.session_id : null;
      if (!id || !SESSION_ID_PATTERN.test(id)) return;
      const secret = data && typeof data.session_secret === "string" && SESSION_SECRET_PATTERN.test(data.session_secret) ? data.session_secret : null;
      state.sessionId = id;
      state.sessionConfirmed = true;
      state.everConfirmed = true;
      storageSet(localStorage, STORAGE_KEYS.sessionPrefix + customerId, id);
      if (secret) storageSet(localStorage, STORAGE_KEYS.sessionSecretPrefix + customerId, secret);
      setConnection("connected");
      flushPending();
    });

    socket.on("message_stored", function (data) {
      if (!isCurrent()) return;
      handleMessageStored(data);
    });

    socket.on("bot_uttered", function (payload) {
      if (!isCurrent()) return;
      handleBotUttered(payload);
    });

    socket.on("disconnect", function (reason) {
      if (!isCurrent()) return;
      state.sessionConfirmed = false;
      hideTyping();
      setConnection("reconnecting");
      // The client does not reconnect by itself after a server-side disconnect.
      if (reason === "io server disconnect") socket.connect();
    });

    socket.on("connect_error", function () {
      if (!isCurrent()) return;
      setConnection(state.everConfirmed ? "reconnecting" : "connecting");
    });
  }

  function disconnectSocket() {
    const socket = state.socket;
    state.socket = null;
    state.sessionId = null;
    state.sessionConfirmed = false;
    if (socket) {
      socket.off();
      socket.disconnect();
    }
    setConnection("offline");
  }

  function setConnection(name) {
    state.connection = name;
    renderConnection();
    renderComposer();
  }

  function renderConnection() {
    el.connection.textContent = t(state.connection);
    el.connection.setAttribute("data-state", state.connection);
  }

  // ---------- sending ----------
  // The browser's IANA time zone ("Europe/Riga"): the bot shows times in it.
  function browserTimeZone() {
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      return typeof zone === "string" && zone.length <= 64 ? zone : undefined;
    } catch (error) {
      return undefined;
    }
  }

  function newMessageId() {
    const bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function sendUserMessage(message, shownText) {
    if (!state.customer) return false;
    const text = message.trim();
    if (!text) return false;
    const id = newMessageId();
    // Shown at once, kept only when the server says how it stored it.
    appendEntry({ role: "user", text: (shownText || text).slice(0, MAX_MESSAGE_LENGTH), id: id, pending: true });
    state.pending.push({ message: text.slice(0, MAX_MESSAGE_LENGTH), language: state.lang, id: id });
    flushPending();
    if (state.handoff !== "waiting" && state.handoff !== "active") showTyping();
    return true;
  }

  // Sends queued messages once the session is confirmed and the token is valid.
  function flushPending() {
    const socket = state.socket;
    if (!socket || !socket.connected || !state.sessionConfirmed || !state.sessionId || state.pending.length === 0) return;
    if (!tokenIsFresh()) {
      refreshToken();
      return;
    }
    while (state.pending.length > 0) {
      const item = state.pending.shift();
      socket.emit("user_uttered", {
        message: item.message,
        message_id: item.id,
        session_id: state.sessionId,
        metadata: { customer_token: state.token, language: item.language, timezone: browserTimeZone() },
      });
    }
  }

  function submitComposer() {
    if (el.send.disabled) return;
    const text = el.message.value;
    if (sendUserMessage(text)) {
      el.message.value = "";
      el.message.focus();
    }
  }

  function renderComposer() {
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

  // ---------- receiving ----------

  // The server stored one of the customer's messages: masked when it held card data.
  function handleMessageStored(data) {
    if (!data || typeof data !== "object" || typeof data.message_id !== "string") return;
    const entry = state.log.find(function (e) { return e.role === "user" && e.id === data.message_id; });
    if (!entry) return;
    if (data.redacted === true && typeof data.text === "string") {
      entry.text = cleanString(data.text, MAX_MESSAGE_LENGTH);
      entry.redacted = true;
      const bubbleNode = state.bubbles.get(entry.id);
      if (bubbleNode) {
        bubbleNode.textContent = entry.text;
        bubbleNode.classList.add("redacted");
      }
    }
    entry.pending = false;
    saveLog();
  }

  function handleBotUttered(payload) {
    hideTyping();
    const entry = entryFromBotPayload(payload);
    if (!entry) return;
    if (entry.role === "status") state.handoff = entry.status;
    appendEntry(entry);
    if (typeof config.onActivity === "function") config.onActivity(entry);
  }

  // Turns one bot_uttered payload into a log entry, or null for anything unknown.
  function entryFromBotPayload(payload) {
    if (!payload || typeof payload !== "object") return null;
    const custom = payload.custom;
    if (custom && typeof custom === "object") {
      if (custom.card_form && typeof custom.card_form === "object") return cardFormEntry(custom.card_form);
      if (custom.handoff && typeof custom.handoff === "object") return handoffEntry(custom.handoff);
    }
    if (typeof payload.text !== "string" || !payload.text.trim()) return null;
    const text = cleanString(payload.text, 5000);
    const metadata = payload.metadata && typeof payload.metadata === "object" ? payload.metadata : null;
    if (metadata && typeof metadata.agent === "string" && metadata.agent.trim()) {
      return { role: "agent", text: text, agent: cleanString(metadata.agent.trim(), 80) };
    }
    const buttons = Array.isArray(payload.quick_replies)
      ? payload.quick_replies
          .filter(function (b) { return b && typeof b.title === "string" && b.title && typeof b.payload === "string" && b.payload; })
          .slice(0, MAX_QUICK_REPLIES)
          .map(function (b) { return { title: cleanString(b.title, 200), payload: cleanString(b.payload, MAX_MESSAGE_LENGTH) }; })
      : [];
    const entry = { role: "bot", text: text };
    if (buttons.length > 0) {
      entry.buttons = buttons;
      entry.chosen = null;
    }
    return entry;
  }

  function cardFormEntry(cardForm) {
    const url = safeHttpUrl(cardForm.url);
    if (!url) return null;
    const seconds = Number(cardForm.expires_in_seconds);
    const valid = Number.isFinite(seconds) && seconds > 0;
    return {
      role: "card",
      url: url,
      minutes: valid ? Math.max(1, Math.round(seconds / 60)) : null,
      expiresAt: valid ? Date.now() + seconds * 1000 : null,
    };
  }

  function handoffEntry(handoff) {
    if (HANDOFF_STATUSES.indexOf(handoff.status) === -1) return null;
    const position = Number(handoff.position);
    return {
      role: "status",
      status: handoff.status,
      agent: typeof handoff.agent === "string" ? cleanString(handoff.agent.trim(), 80) : "",
      position: Number.isInteger(position) && position > 0 ? position : null,
    };
  }

  function lastHandoffStatus(log) {
    for (let i = log.length - 1; i >= 0; i -= 1) {
      if (log[i].role === "status") return log[i].status;
    }
    return null;
  }

  // ---------- the conversation log ----------

  function logKey(customerId) {
    return STORAGE_KEYS.logPrefix + customerId;
  }

  function loadLog(customerId) {
    const raw = storageGet(localStorage, logKey(customerId));
    if (!raw) return [];
    try {
      const parsed = JSON.parse(raw);
      // Stored entries are re-checked: localStorage is not a trusted source either.
      return Array.isArray(parsed) ? parsed.map(sanitizeStoredEntry).filter(Boolean) : [];
    } catch (err) {
      return [];
    }
  }

  function sanitizeStoredEntry(entry) {
    if (!entry || typeof entry !== "object") return null;
    switch (entry.role) {
      case "user": {
        if (typeof entry.text !== "string") return null;
        const user = { role: "user", text: cleanString(entry.text, MAX_MESSAGE_LENGTH) };
        if (typeof entry.id === "string" && MESSAGE_ID_PATTERN.test(entry.id)) user.id = entry.id;
        if (entry.redacted === true) user.redacted = true;
        return user;
      }
      case "bot": {
        const bot = entryFromBotPayload({ text: entry.text, quick_replies: entry.buttons });
        if (bot && bot.buttons) bot.chosen = Number.isInteger(entry.chosen) ? entry.chosen : null;
        return bot;
      }
      case "agent":
        return entryFromBotPayload({ text: entry.text, metadata: { agent: entry.agent } });
      case "card": {
        const url = safeHttpUrl(entry.url);
        if (!url) return null;
        return {
          role: "card",
          url: url,
          minutes: Number.isInteger(entry.minutes) ? entry.minutes : null,
          expiresAt: Number.isFinite(entry.expiresAt) ? entry.expiresAt : null,
        };
      }
      case "status":
        return handoffEntry(entry);
      default:
        return null;
    }
  }

  // A message the server has not confirmed yet may hold a card number: never stored.
  function saveLog() {
    if (!state.customer) return;
    if (state.log.length > MAX_LOG_ENTRIES) state.log = state.log.slice(-MAX_LOG_ENTRIES);
    const kept = state.log.filter(function (e) { return !e.pending; });
    storageSet(localStorage, logKey(state.customer.id), JSON.stringify(kept, function (key, value) {
      return key === "pending" ? undefined : value;
    }));
  }

  function appendEntry(entry) {
    state.log.push(entry);
    saveLog();
    removePlaceholder();
    el.messages.appendChild(renderEntry(entry));
    scrollToNewest();
  }

  function renderLog() {
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

  function showTyping() {
    el.typing.hidden = false;
    if (state.typingTimer) clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }

  function hideTyping() {
    if (state.typingTimer) clearTimeout(state.typingTimer);
    state.typingTimer = null;
    el.typing.hidden = true;
  }

  // ---------- start-up ----------

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

  function buildPanel(container) {
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

  let mounted = false;

  // options: container (element), mode ("demo" | "embedded"), base (the bot's origin,
  // "" for its own pages), io (the Socket.IO client), lang, tokenProvider, onClose, onActivity.
  function mount(options) {
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

  const api = {
    mount: mount,
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
  window.BillingBotChat = api;

  // The demo page (/chat/) mounts itself: <script src="chat.js" data-mount="demo">.
  const script = document.currentScript;
  if (script && script.getAttribute("data-mount") === "demo") {
    const start = function () { mount({ container: document.getElementById("chat"), mode: "demo" }); };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})();
