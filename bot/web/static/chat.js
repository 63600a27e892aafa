/*
 * codesign chat widget: a small client of Rasa's socketio channel (socket.io-client).
 *
 * On the project's own pages it builds itself in the element carrying
 * [data-codesign-chat]. On an agency's site it is embedded with one tag:
 *   <script src="https://consult.example.org/static/chat.js" defer
 *           data-socket-url="https://bot.example.org" data-consultation="my-slug"></script>
 * and then loads its stylesheet and socket.io-client from the same place.
 *
 * Data attributes: data-socket-url (Rasa as the browser reaches it; required),
 * data-consultation (slug started when the chat opens), data-privacy-url,
 * data-accessibility-url (default: the accessibility statement next to this script),
 * data-open="true" (open at once).
 *
 * Safety: everything the bot or the citizen wrote is inserted as text (textContent);
 * links are only made from http(s) URLs, as elements, never through innerHTML.
 *
 * State: an unguessable session id (the Rasa sender id) and the conversation are kept in
 * sessionStorage, so a reload continues the chat while closing the tab forgets it
 * (public computers in libraries are shared). A message whose reply has not arrived is
 * sent again after a reconnect or reload with the same message_id; the action server
 * processes a message id once. When the bot says it could not take a message (a custom
 * {"codesign": "unavailable"} event, then its apology), the message is kept and sent
 * again automatically after a pause, and the apology is shown as the status line.
 *
 * Behind several Rasa servers (the scaled mode's nginx), the socket.io requests carry a
 * random per-connection `affinity` query parameter, so that all requests of one
 * connection (long-polling above all) reach the same server. No cookies are used.
 */
(function () {
  "use strict";

  var STORAGE_VERSION = 1;
  // Kept in localStorage only for a citizen who asked to hear a consultation's outcome, so
  // the bot can tell them when they come back to this browser ("End chat" removes it).
  var RETURN_KEY = "codesign-return-id";
  var HEAR_BACK = '"follow_up:yes"';
  var REPLY_TIMEOUT_MS = 30000;
  var RETRY_FIRST_MS = 20000;  // after "unavailable": first automatic re-send
  var RETRY_MAX_MS = 120000;
  var UNAVAILABLE = "unavailable";
  var FOCUS_SETTLE_MS = 150;
  // chat.css: on screens this narrow the open panel covers the whole page.
  var COVERS_PAGE = "(max-width: 48rem)";
  var URL_RE = /https?:\/\/[^\s<>"'()]+[^\s<>"'().,;:!?]/g;
  var script = document.currentScript;
  var scriptUrl = script && script.src ? script.src : window.location.href;

  // ------------------------------------------------------------------ helpers

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // Insecure contexts (plain http on a LAN address) lack randomUUID, not getRandomValues.
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Append text to a node, turning http(s) URLs into links (as elements). */
  function appendText(node, text) {
    var last = 0;
    text.replace(URL_RE, function (url, offset) {
      node.appendChild(document.createTextNode(text.slice(last, offset)));
      var link = el("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, url);
      node.appendChild(link);
      last = offset + url.length;
      return url;
    });
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  /** A User Timing mark (the page-load benchmark reads them). */
  function mark(name) {
    if (window.performance && typeof window.performance.mark === "function" &&
        !window.performance.getEntriesByName(name).length) {
      window.performance.mark(name);
    }
  }

  function startPayload(slug) {
    return "/start_consultation" + JSON.stringify({ consultation: slug });
  }

  // ------------------------------------------------------------------ storage

  function Store(key) {
    this.key = key;
    this.memory = null;
  }

  Store.prototype.load = function () {
    var raw = null;
    try {
      raw = window.sessionStorage.getItem(this.key);
    } catch (err) {
      raw = this.memory;
    }
    try {
      var state = raw ? JSON.parse(raw) : null;
      if (state && state.v === STORAGE_VERSION && typeof state.sessionId === "string") {
        return state;
      }
    } catch (err) { /* unreadable: start afresh */ }
    return { v: STORAGE_VERSION, sessionId: returnId() || uuid(), open: false, messages: [],
             started: [], outbox: [], awaiting: null };
  };

  Store.prototype.save = function (state) {
    var raw = JSON.stringify(state);
    this.memory = raw;
    try {
      window.sessionStorage.setItem(this.key, raw);
    } catch (err) { /* storage full or disabled: the chat still works on this page */ }
  };

  function returnId() {
    try {
      return window.localStorage.getItem(RETURN_KEY);
    } catch (err) {
      return null;
    }
  }

  function keepReturnId(sessionId) {
    try {
      if (sessionId) {
        window.localStorage.setItem(RETURN_KEY, sessionId);
      } else {
        window.localStorage.removeItem(RETURN_KEY);
      }
    } catch (err) { /* storage disabled: the outcome is still kept for this tab */ }
  }

  Store.prototype.clear = function () {
    this.memory = null;
    keepReturnId(null);
    try {
      window.sessionStorage.removeItem(this.key);
    } catch (err) { /* nothing to clear */ }
  };

  // ------------------------------------------------------------------ widget

  function Chat(root, options) {
    this.root = root;
    this.options = options;
    this.store = new Store("codesign-chat:" + options.socketUrl);
    this.state = this.store.load();
    this.socket = null;
    this.ready = false;
    this.connection = null;
    this.lastSentByButton = false;
    this.focusTimer = null;
    this.replyTimer = null;
    this.retryTimer = null;
    this.retryDelay = RETRY_FIRST_MS;
    this.apologyExpected = false;
    this.build();
  }

  Chat.prototype.build = function () {
    var self = this;
    var ids = "cs-" + uuid().slice(0, 8);
    this.root.classList.add("cs-chat");
    this.root.setAttribute("data-state", "idle");

    this.launcher = el("button", { type: "button", "class": "cs-launcher",
                                   "aria-expanded": "false", "aria-controls": ids + "-panel" },
                       this.options.consultation ? "Take part in the chat" : "Chat with us");
    this.launcher.addEventListener("click", function () { self.open(true); });

    this.panel = el("section", { id: ids + "-panel", "class": "cs-panel",
                                 "aria-labelledby": ids + "-title" });
    this.panel.hidden = true;
    this.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") self.close();
    });

    var header = el("div", { "class": "cs-header" });
    header.appendChild(el("h2", { id: ids + "-title", "class": "cs-title" }, "Consultation chat"));
    var close = el("button", { type: "button", "class": "cs-close" }, "Close");
    close.addEventListener("click", function () { self.close(); });
    header.appendChild(close);

    this.status = el("p", { "class": "cs-status", role: "status" });
    this.log = el("div", { "class": "cs-log", role: "log", "aria-live": "polite",
                           "aria-label": "Conversation", tabindex: "0" });
    this.typing = el("p", { "class": "cs-typing", "aria-hidden": "true" }, "The assistant is typing…");
    this.typing.hidden = true;

    this.form = el("form", { "class": "cs-form" });
    var label = el("label", { "for": ids + "-input", "class": "cs-label" }, "Your message");
    this.input = el("input", { id: ids + "-input", "class": "cs-input", type: "text",
                               autocomplete: "off", maxlength: "1000", enterkeyhint: "send" });
    this.input.disabled = true;
    this.sendButton = el("button", { type: "submit", "class": "cs-send" }, "Send");
    this.sendButton.disabled = true;
    var row = el("div", { "class": "cs-row" });
    row.appendChild(this.input);
    row.appendChild(this.sendButton);
    this.form.appendChild(label);
    this.form.appendChild(row);
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value.trim();
      if (!text) return;
      self.input.value = "";
      self.lastSentByButton = false;
      self.send(text, text);
    });

    var footer = el("div", { "class": "cs-footer" });
    if (this.options.privacyUrl) {
      footer.appendChild(el("a", { href: this.options.privacyUrl, "class": "cs-privacy" },
                            "Privacy notice"));
    }
    if (this.options.accessibilityUrl) {
      footer.appendChild(el("a", { href: this.options.accessibilityUrl, "class": "cs-accessibility" },
                            "Accessibility"));
    }
    var end = el("button", { type: "button", "class": "cs-end" }, "End chat");
    end.addEventListener("click", function () { self.end(); });
    footer.appendChild(end);

    [header, this.status, this.log, this.typing, this.form, footer].forEach(function (part) {
      self.panel.appendChild(part);
    });
    // Render the history before the log is in the document: it is not re-announced.
    this.state.messages.forEach(function (message, index) { self.render(message, index); });
    this.root.appendChild(this.launcher);
    this.root.appendChild(this.panel);

    document.querySelectorAll("[data-codesign-open]").forEach(function (button) {
      button.addEventListener("click", function () { self.open(true); });
    });
    if (window.matchMedia) {
      var covers = window.matchMedia(COVERS_PAGE);
      var update = function () { self.updateInert(); };
      if (covers.addEventListener) covers.addEventListener("change", update);
    }
    if (this.options.open || this.state.open) this.open(this.options.open);
    mark("codesign-chat-built");
  };

  /** Show the panel and connect; ``focusInput`` moves the keyboard focus into it. */
  Chat.prototype.open = function (focusInput) {
    this.panel.hidden = false;
    this.launcher.hidden = true;
    this.launcher.setAttribute("aria-expanded", "true");
    this.root.classList.add("cs-open");
    this.state.open = true;
    this.updateInert();
    this.store.save(this.state);
    this.scrollToEnd();
    this.connect();
    if (focusInput) this.focusInput();
  };

  /**
   * While the open panel covers the whole page (phones, 200 % zoom), the page behind it is inert, as
   * behind a modal dialog: the keyboard focus stays in the chat instead of moving to links
   * hidden under it (WCAG 2.4.11), and screen readers skip the hidden page.
   */
  Chat.prototype.updateInert = function () {
    var cover = !this.panel.hidden && !!window.matchMedia &&
      window.matchMedia(COVERS_PAGE).matches;
    for (var node = this.root; node.parentElement && node !== document.body;
         node = node.parentElement) {
      Array.prototype.forEach.call(node.parentElement.children, function (sibling) {
        if (sibling === node) return;
        if (cover && !sibling.inert) {
          sibling.inert = true;
          sibling.setAttribute("data-cs-inert", "");
        } else if (!cover && sibling.hasAttribute("data-cs-inert")) {
          sibling.inert = false;
          sibling.removeAttribute("data-cs-inert");
        }
      });
    }
  };

  Chat.prototype.close = function () {
    this.panel.hidden = true;
    this.launcher.hidden = false;
    this.launcher.setAttribute("aria-expanded", "false");
    this.root.classList.remove("cs-open");
    this.state.open = false;
    this.updateInert();
    this.store.save(this.state);
    this.launcher.focus();
  };

  /** Forget this conversation in this tab (what was stored on the server stays). */
  Chat.prototype.end = function () {
    if (!window.confirm("End this chat? It will be cleared from this page. " +
                        "To delete your answers, say “forget me” instead.")) return;
    if (this.socket) {
      this.socket.close();
      this.socket = null;
    }
    this.store.clear();
    this.state = this.store.load();
    this.ready = false;
    this.log.textContent = "";
    this.setStatus("Chat ended.");
    this.root.setAttribute("data-state", "idle");
    this.close();
  };

  Chat.prototype.focusInput = function () {
    if (!this.input.disabled) {
      this.input.focus();
    } else {
      this.panel.setAttribute("tabindex", "-1");
      this.panel.focus();
    }
  };

  Chat.prototype.setStatus = function (text) {
    if (this.status.textContent !== text) this.status.textContent = text;
  };

  // ------------------------------------------------------------------ connection

  Chat.prototype.connect = function () {
    if (this.socket) return;
    var self = this;
    var target = new URL(this.options.socketUrl, window.location.href);
    var path = target.pathname.replace(/\/+$/, "") + "/socket.io";
    this.root.setAttribute("data-state", "connecting");
    this.setStatus("Connecting…");
    // WebSocket first: browsers apply no CORS to it, so the widget works on any page.
    // Long-polling is the fallback (needs Rasa started with --cors for the page's origin).
    var socket = window.io(target.origin, {
      path: path,
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelayMax: 10000,
      query: { affinity: uuid() }
    });
    this.socket = socket;
    socket.on("connect", function () {
      self.connection = uuid();  // unique across reloads, unlike a counter
      socket.emit("session_request", { session_id: self.state.sessionId });
    });
    socket.on("session_confirm", function () {
      self.onReady();
    });
    socket.on("bot_uttered", function (data) { self.onBotMessage(data || {}); });
    socket.on("disconnect", function () {
      self.ready = false;
      self.root.setAttribute("data-state", "offline");
      self.setStatus("Connection lost. Reconnecting… Messages you send now go when it is back.");
    });
    socket.on("connect_error", function () {
      self.root.setAttribute("data-state", "offline");
      self.setStatus("Cannot reach the chat at the moment. Trying again…");
    });
  };

  Chat.prototype.onReady = function () {
    this.ready = true;
    this.root.setAttribute("data-state", "ready");
    this.setStatus("");
    var focusWasLost = this.input.disabled && this.panel.contains(document.activeElement);
    this.input.disabled = false;
    this.sendButton.disabled = false;
    if (focusWasLost) this.input.focus();
    mark("codesign-chat-ready");
    var state = this.state;
    // A message whose reply was lost (reload, dropped connection) goes again, same id.
    if (state.awaiting && state.awaiting.connection !== this.connection) {
      state.outbox.unshift(state.awaiting);
      state.awaiting = null;
    }
    var slug = this.options.consultation;
    if (slug && state.started.indexOf(slug) === -1) {
      state.started.push(slug);
      this.send(startPayload(slug), null);
    } else if (!slug && state.messages.length === 0 && state.outbox.length === 0) {
      this.send("/greet", null);
    }
    this.flush();
  };

  /** Queue a message; ``shown`` is what the conversation shows (null: nothing). */
  Chat.prototype.send = function (payload, shown) {
    if (shown !== null) {
      this.retireButtons();
      this.add({ from: "user", text: shown });
    }
    if (payload.indexOf(HEAR_BACK) !== -1) {
      keepReturnId(this.state.sessionId);
    }
    this.state.outbox.push({ message: payload, message_id: uuid() });
    this.store.save(this.state);
    this.flush();
  };

  Chat.prototype.flush = function () {
    if (!this.ready || !this.socket) return;
    var state = this.state;
    while (state.outbox.length) {
      var item = state.outbox.shift();
      this.socket.emit("user_uttered", {
        message: item.message,
        session_id: state.sessionId,
        metadata: { channel: "web", message_id: item.message_id }
      });
      item.connection = this.connection;
      state.awaiting = item;
    }
    this.store.save(state);
    if (state.awaiting) this.waitForReply();
  };

  Chat.prototype.waitForReply = function () {
    var self = this;
    this.typing.hidden = false;
    this.scrollToEnd();
    window.clearTimeout(this.replyTimer);
    this.replyTimer = window.setTimeout(function () {
      self.typing.hidden = true;
      self.setStatus("No reply yet. Please try again in a minute.");
    }, REPLY_TIMEOUT_MS);
  };

  Chat.prototype.onBotMessage = function (data) {
    window.clearTimeout(this.replyTimer);
    this.typing.hidden = true;
    if (data.codesign === UNAVAILABLE) {
      this.retryLater();
      return;
    }
    if (this.apologyExpected) {  // the bot's apology for the message it could not take
      this.apologyExpected = false;
      var seconds = Math.round(this.retryDelay / 1000);
      this.setStatus((typeof data.text === "string" ? data.text + " " : "") +
                     "I will send your message again automatically in " + seconds +
                     " seconds.");
      return;
    }
    this.setStatus("");
    this.retryDelay = RETRY_FIRST_MS;
    this.state.awaiting = null;
    var buttons = (data.quick_replies || data.buttons || []).filter(function (b) {
      return b && typeof b.title === "string" && typeof b.payload === "string";
    }).map(function (b) { return { title: b.title, payload: b.payload }; });
    var text = typeof data.text === "string" ? data.text : "";
    if (!text && !buttons.length) {
      this.store.save(this.state);
      return;
    }
    this.add({ from: "bot", text: text, buttons: buttons });
    mark("codesign-chat-first-reply");
    this.scheduleFocus();
  };

  /** The bot could not take the awaited message: keep it and send it again later. */
  Chat.prototype.retryLater = function () {
    var self = this;
    var state = this.state;
    if (state.awaiting) {
      state.outbox.unshift(state.awaiting);
      state.awaiting = null;
      this.store.save(state);
    }
    this.apologyExpected = true;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(function () {
      self.retryDelay = Math.min(self.retryDelay * 2, RETRY_MAX_MS);
      self.flush();
    }, this.retryDelay);
  };

  // ------------------------------------------------------------------ rendering

  Chat.prototype.add = function (message) {
    this.state.messages.push(message);
    this.store.save(this.state);
    this.render(message, this.state.messages.length - 1);
    this.scrollToEnd();
  };

  Chat.prototype.render = function (message, index) {
    var self = this;
    var bubble = el("div", { "class": "cs-msg cs-" + message.from });
    var text = el("p", { "class": "cs-text" });
    text.appendChild(el("span", { "class": "cs-visually-hidden" },
                        message.from === "bot" ? "Assistant: " : "You: "));
    appendText(text, message.text || "");
    bubble.appendChild(text);
    if (message.buttons && message.buttons.length) {
      var current = this.isCurrent(index);
      var group = el("div", { "class": "cs-buttons", role: "group",
                              "aria-label": "Choices" });
      message.buttons.forEach(function (button, position) {
        var node = el("button", { type: "button", "class": "cs-choice" }, button.title);
        if (message.chosen === position) node.classList.add("cs-chosen");
        node.disabled = !current;
        node.addEventListener("click", function () { self.press(index, position); });
        group.appendChild(node);
      });
      bubble.appendChild(group);
    }
    this.log.appendChild(bubble);
  };

  /** Buttons stay usable until the citizen sends something after them. */
  Chat.prototype.isCurrent = function (index) {
    var messages = this.state.messages;
    for (var i = index + 1; i < messages.length; i += 1) {
      if (messages[i].from === "user") return false;
    }
    return true;
  };

  Chat.prototype.press = function (index, position) {
    var message = this.state.messages[index];
    if (!message || !this.isCurrent(index)) return;
    var button = message.buttons[position];
    message.chosen = position;
    var node = this.log.children[index].querySelectorAll(".cs-choice")[position];
    if (node) node.classList.add("cs-chosen");
    this.lastSentByButton = true;
    this.send(button.payload, button.title);
    // The pressed button is now disabled: keep the focus in the chat.
    this.input.focus();
  };

  Chat.prototype.retireButtons = function () {
    this.log.querySelectorAll(".cs-choice:not([disabled])").forEach(function (node) {
      node.disabled = true;
    });
  };

  /** After a burst of bot messages: a button press moves on to the new buttons. */
  Chat.prototype.scheduleFocus = function () {
    var self = this;
    window.clearTimeout(this.focusTimer);
    this.focusTimer = window.setTimeout(function () {
      if (self.panel.hidden) return;
      var active = document.activeElement;
      var inChat = active === self.input || active === document.body || !active ||
        self.panel.contains(active);
      if (!inChat) return;  // the citizen is elsewhere on the page: leave the focus there
      // The citizen has started typing (a slow page can run this late): moving the focus
      // now would send their Enter to a button instead of their words.
      if (active === self.input && self.input.value.trim() !== "") return;
      var fresh = self.log.querySelectorAll(".cs-choice:not([disabled])");
      if (self.lastSentByButton && fresh.length) {
        fresh[0].focus();
      } else if (active !== self.input) {
        self.input.focus();
      }
    }, FOCUS_SETTLE_MS);
  };

  Chat.prototype.scrollToEnd = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  // ------------------------------------------------------------------ start-up

  function optionsFrom(data) {
    var consultation = data.consultation || null;
    var privacyUrl = data.privacyUrl || null;
    if (!privacyUrl && consultation) {
      privacyUrl = new URL("../c/" + encodeURIComponent(consultation) + "/privacy", scriptUrl).href;
    }
    var accessibilityUrl = data.accessibilityUrl ||
      new URL("../accessibility", scriptUrl).href;
    return { socketUrl: data.socketUrl, consultation: consultation, privacyUrl: privacyUrl,
             accessibilityUrl: accessibilityUrl, open: data.open === "true" };
  }

  function loadScript(src, done) {
    var tag = el("script", { src: src });
    tag.addEventListener("load", done);
    document.head.appendChild(tag);
  }

  function start() {
    var mount = document.querySelector("[data-codesign-chat]");
    if (mount) {
      new Chat(mount, optionsFrom(mount.dataset));
      return;
    }
    // Embedded on another site: the <script> tag carries the settings.
    if (!script || !script.dataset.socketUrl) return;
    var root = el("div", { "data-codesign-chat": "" });
    document.body.appendChild(root);
    var css = el("link", { rel: "stylesheet", href: new URL("chat.css", scriptUrl).href });
    document.head.appendChild(css);
    var options = optionsFrom(script.dataset);
    if (window.io) {
      new Chat(root, options);
    } else {
      loadScript(new URL("vendor/socket.io/socket.io.min.js", scriptUrl).href, function () {
        new Chat(root, options);
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
