/* Live updates for staff pages: one websocket to /ws/dashboard/, shared by the page scripts
 * (dashboard.js, ticket-list.js, ticket-detail.js) through window.Live.
 *
 * - Shows the connection state in [data-live-status] (connecting, live, reconnecting, ended).
 * - Reconnects with exponential backoff and jitter; after every (re)connect it fetches the
 *   page's resync URL so whatever happened while offline is shown, and says "live" once it is.
 * - Server text is only ever inserted with textContent (Live.el), never as HTML.
 * - Event kinds come by name from the page (#event-kinds, tickets.live.kinds): Live.KINDS.CREATED.
 * - Words come from the djangojs catalogue (base.html loads it first); events carry codes,
 *   and Live.statusLabel & co. say them in the reader's language, whoever caused the event.
 */
(function () {
  "use strict";

  var gettext = window.gettext || function (s) { return s; };
  var npgettext = window.npgettext || function (c, s, p, n) { return n === 1 ? s : p; };
  var statusEl = document.querySelector("[data-live-status]");
  if (!statusEl || !("WebSocket" in window)) {
    return;
  }
  var textEl = statusEl.querySelector("[data-live-text]");
  var config = {
    socketPath: statusEl.getAttribute("data-socket-path") || "/ws/dashboard/",
    resyncUrl: statusEl.getAttribute("data-resync-url"),
    loginUrl: statusEl.getAttribute("data-login-url") || "/accounts/login/",
    userId: Number(statusEl.getAttribute("data-user-id")),
  };
  var kindsEl = document.getElementById("event-kinds");
  var KINDS = Object.freeze(kindsEl ? JSON.parse(kindsEl.textContent) : {});
  var CLOSE_LOGIN_REQUIRED = 4401;
  var CLOSE_FORBIDDEN = 4403;
  var PING_EVERY = 25000;
  var PONG_WITHIN = 10000;
  var MAX_BACKOFF = 30000;

  var handlers = { event: [], resync: [], open: [] };
  var socket = null;
  var attempt = 0;
  var ended = false;
  var pingTimer = null;
  var pongTimer = null;
  var resyncing = null;
  var eventsDuringResync = 0;
  var visibleQueues = null; // null: every queue (managers)

  /* --- small DOM helpers for the page scripts --- */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function link(href, className, text) {
    var a = el("a", className, text);
    // Only our own relative URLs (events carry /tickets/T-.../).
    a.setAttribute("href", /^\/[^/]/.test(href) ? href : "#");
    return a;
  }

  function flash(node) {
    node.classList.remove("flash");
    void node.offsetWidth; // restart the animation
    node.classList.add("flash");
  }

  var STATUSES = ["new", "open", "pending", "resolved", "closed"];
  var ACTIVE = ["new", "open", "pending"];

  function safeStatus(status) {
    return STATUSES.indexOf(status) >= 0 ? status : "unknown";
  }

  function safePriority(priority) {
    var n = Number(priority);
    return n >= 1 && n <= 4 ? n : 0;
  }

  function isActive(status) {
    return ACTIVE.indexOf(status) >= 0;
  }

  /* --- words in the reader's language --- */

  // "%(name)s" placeholders filled in (Django's interpolate() does the same, named).
  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (match, key) { return String(values[key]); });
  }

  var STATUS_LABELS = {
    "new": gettext("New"), open: gettext("Open"), pending: gettext("Pending"),
    resolved: gettext("Resolved"), closed: gettext("Closed"),
  };
  var PRIORITY_LABELS = { 1: gettext("Low"), 2: gettext("Normal"), 3: gettext("High"), 4: gettext("Urgent") };
  var VERB_LABELS = {
    created: gettext("created"), assigned: gettext("assigned"), status: gettext("changed status"),
    priority: gettext("changed priority"), queue: gettext("moved"), commented: gettext("replied"),
    noted: gettext("added an internal note"), subject: gettext("changed subject"),
    attached: gettext("attached a file"), purged: gettext("purged personal data"),
    tagged: gettext("changed tags"),
  };
  // Who acted when no staff member did, as events name them (tickets/labels.py ACTOR_LABELS).
  var ACTOR_LABELS = { system: gettext("system"), mail: gettext("mail"), requester: gettext("requester") };
  var MAIL_STATE_LABELS = {
    queued: gettext("queued"), sent: gettext("sent"), failed: gettext("failed"), bounced: gettext("bounced"),
  };
  // History lines keep the English label a status or priority had (tickets/labels.py).
  var ENGLISH_VALUES = {
    status: { New: "new", Open: "open", Pending: "pending", Resolved: "resolved", Closed: "closed" },
    priority: { Low: 1, Normal: 2, High: 3, Urgent: 4 },
  };

  function statusLabel(code, fallback) {
    return STATUS_LABELS[code] || fallback || String(code);
  }

  function priorityLabel(code, fallback) {
    return PRIORITY_LABELS[Number(code)] || fallback || String(code);
  }

  function verbLabel(verb, fallback) {
    return VERB_LABELS[verb] || fallback || String(verb);
  }

  function actorLabel(name) {
    var key = name || "system";
    return Object.prototype.hasOwnProperty.call(ACTOR_LABELS, key) ? ACTOR_LABELS[key] : key;
  }

  function mailStateLabel(state, fallback) {
    return MAIL_STATE_LABELS[state] || fallback || String(state);
  }

  function valueLabel(verb, value) {
    var codes = ENGLISH_VALUES[verb];
    var code = codes && Object.prototype.hasOwnProperty.call(codes, value) ? codes[value] : null;
    if (code === null) {
      return value;
    }
    return verb === "status" ? statusLabel(code) : priorityLabel(code);
  }

  // The largest unit only, as the server says it (tickets/templatetags/timefmt.py), in the
  // form that follows "ago", "in", "overdue" and "due in".
  var UNITS = [[365 * 1440, "year"], [30 * 1440, "month"], [7 * 1440, "week"], [1440, "day"], [60, "hour"], [1, "minute"]];

  function unitText(unit, n) {
    switch (unit) {
      case "year": return npgettext("time span", "%(num)s year", "%(num)s years", n);
      case "month": return npgettext("time span", "%(num)s month", "%(num)s months", n);
      case "week": return npgettext("time span", "%(num)s week", "%(num)s weeks", n);
      case "day": return npgettext("time span", "%(num)s day", "%(num)s days", n);
      case "hour": return npgettext("time span", "%(num)s hour", "%(num)s hours", n);
      default: return npgettext("time span", "%(num)s minute", "%(num)s minutes", n);
    }
  }

  function span(unit, n) {
    return fmt(unitText(unit, n), { num: n }).replace(/ /g, "\u00a0");
  }

  function duration(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    for (var i = 0; i < UNITS.length; i++) {
      var n = Math.floor(minutes / UNITS[i][0]);
      if (n >= 1) {
        return span(UNITS[i][1], n);
      }
    }
    return span("minute", minutes);
  }

  // The page's language and time zone (base.html puts them on <html>) for absolute times.
  var LANG = document.documentElement.lang || undefined;
  var ZONE = document.documentElement.getAttribute("data-time-zone") || undefined;

  function absolute(iso) {
    var date = new Date(iso);
    try {
      return date.toLocaleString(LANG, { timeZone: ZONE, dateStyle: "medium", timeStyle: "short", timeZoneName: "short" });
    } catch (e) {
      return date.toLocaleString(LANG); // an unknown zone name
    }
  }

  function timeEl(iso, text) {
    var t = el("time", null, text);
    if (iso) {
      t.setAttribute("datetime", iso);
      t.setAttribute("title", absolute(iso));
    }
    return t;
  }

  function ago(iso) {
    var ms = Date.now() - Date.parse(iso);
    if (Math.abs(ms) < 60000) {
      return gettext("just now");
    }
    return fmt(ms > 0 ? gettext("%(span)s ago") : gettext("in %(span)s"), { span: duration(ms) });
  }

  // "overdue 2 days" / "due in 20 minutes" for a due date ms milliseconds away.
  function dueText(ms) {
    return fmt(ms < 0 ? gettext("overdue %(span)s") : gettext("due in %(span)s"), { span: duration(ms) });
  }

  /* --- connection state --- */

  function setState(state, text) {
    statusEl.hidden = false;
    statusEl.setAttribute("data-state", state);
    textEl.textContent = text;
  }

  function endSession(code) {
    ended = true;
    stopPing();
    if (code === CLOSE_FORBIDDEN) {
      setState("ended", gettext("Live updates are not available for your account."));
      return;
    }
    setState("ended", gettext("Your session has ended.") + " ");
    textEl.appendChild(link(config.loginUrl + "?next=" + encodeURIComponent(location.pathname + location.search), null, gettext("Log in again")));
  }

  function stopPing() {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    pingTimer = pongTimer = null;
  }

  function startPing() {
    stopPing();
    pingTimer = setInterval(function () {
      send({ type: "ping" });
      clearTimeout(pongTimer);
      // A silent server (sleeping laptop, dead proxy) is noticed and the socket replaced.
      pongTimer = setTimeout(function () {
        if (socket) {
          socket.close();
        }
      }, PONG_WITHIN);
    }, PING_EVERY);
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
    }
  }

  function connect() {
    if (ended) {
      return;
    }
    setState(attempt ? "reconnecting" : "connecting", attempt ? gettext("Reconnecting…") : gettext("Connecting…"));
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + config.socketPath);
    var opened = false;
    socket = ws;
    ws.onopen = function () {
      opened = true;
      attempt = 0;
      startPing();
      handlers.open.forEach(function (fn) { fn(); });
      // "Live" once the page has caught up with what happened before the socket opened
      // (events from now on arrive on the socket).
      resync().then(function () {
        if (socket === ws && !ended) {
          setState("live", gettext("Live"));
        }
      });
    };
    ws.onmessage = function (message) {
      clearTimeout(pongTimer);
      var data;
      try {
        data = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      receive(data);
    };
    ws.onclose = function (close) {
      if (socket === ws) {
        socket = null;
      }
      stopPing();
      if (close.code === CLOSE_LOGIN_REQUIRED || close.code === CLOSE_FORBIDDEN) {
        endSession(close.code);
        return;
      }
      if (!opened) {
        // A refused handshake looks like a network error to the browser: ask the server
        // whether we are still logged in before trying again.
        checkLogin().then(function (loggedIn) {
          if (loggedIn) {
            retry();
          } else {
            endSession(CLOSE_LOGIN_REQUIRED);
          }
        });
        return;
      }
      retry();
    };
  }

  function retry() {
    if (ended) {
      return;
    }
    // Full jitter on an exponential step: a restarted server is not hit by every page at once.
    var step = Math.min(MAX_BACKOFF, 1000 * Math.pow(2, attempt));
    var delay = step / 2 + Math.random() * (step / 2);
    attempt += 1;
    setState("reconnecting", fmt(gettext("Reconnecting in %(n)s s…"), { n: Math.ceil(delay / 1000) }));
    setTimeout(connect, delay);
  }

  function receive(data) {
    if (data.type === "batch") {
      data.events.forEach(dispatch);
    } else if (data.type === "hello") {
      visibleQueues = data.queues === null || data.queues === undefined ? null : data.queues;
    } else if (data.type !== "pong") {
      dispatch(data);
    }
  }

  function dispatch(event) {
    if (event.type === "resync") {
      if (event.queues !== undefined) {
        visibleQueues = event.queues;
      }
      resync();
      return;
    }
    if (resyncing && (event.type === "ticket" || event.type === "removed")) {
      eventsDuringResync += 1;
    }
    handlers.event.forEach(function (fn) { fn(event); });
  }

  /* --- resynchronisation --- */

  function fetchJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (response.redirected || response.status === 401 || response.status === 403 || type.indexOf("application/json") !== 0) {
        var error = new Error("login required");
        error.loginRequired = true;
        throw error;
      }
      if (!response.ok) {
        var failed = new Error("HTTP " + response.status);
        failed.status = response.status;
        throw failed;
      }
      return response.json();
    });
  }

  function checkLogin() {
    if (!config.resyncUrl) {
      return Promise.resolve(true);
    }
    return fetchJSON(config.resyncUrl).then(
      function () { return true; },
      function (error) { return !error.loginRequired; }
    );
  }

  function resync() {
    if (!config.resyncUrl || ended) {
      return Promise.resolve();
    }
    if (resyncing) {
      return resyncing;
    }
    eventsDuringResync = 0;
    resyncing = fetchJSON(config.resyncUrl)
      .then(function (data) {
        handlers.resync.forEach(function (fn) { fn(data); });
      })
      .catch(function (error) {
        if (error.loginRequired) {
          if (socket) {
            socket.close();
          }
          endSession(CLOSE_LOGIN_REQUIRED);
        } else {
          handlers.resync.forEach(function (fn) { fn(null, error); });
        }
      })
      .then(function () {
        var missed = eventsDuringResync;
        resyncing = null;
        // Events that arrived while the answer was on its way may or may not be in it:
        // one more look settles it.
        if (missed) {
          setTimeout(resync, 1000 + Math.random() * 1000);
        }
      });
    return resyncing;
  }

  var lastRequested = 0;
  function requestResync(minGapMs) {
    // For page scripts that cannot fill a gap from events alone (a shortened top-10 list).
    var gap = minGapMs || 10000;
    var now = Date.now();
    var wait = Math.max(0, lastRequested + gap - now) + Math.random() * 2000;
    if (requestResync.timer) {
      return;
    }
    requestResync.timer = setTimeout(function () {
      requestResync.timer = null;
      lastRequested = Date.now();
      resync();
    }, wait);
  }

  function canSeeQueue(queueId) {
    return visibleQueues === null || visibleQueues.indexOf(queueId) >= 0;
  }

  window.Live = {
    userId: config.userId,
    KINDS: KINDS,
    onEvent: function (fn) { handlers.event.push(fn); },
    onResync: function (fn) { handlers.resync.push(fn); },
    onOpen: function (fn) { handlers.open.push(fn); },
    send: send,
    resync: resync,
    requestResync: requestResync,
    canSeeQueue: canSeeQueue,
    fetchJSON: fetchJSON,
    el: el,
    link: link,
    flash: flash,
    timeEl: timeEl,
    ago: ago,
    dueText: dueText,
    duration: duration,
    fmt: fmt,
    statusLabel: statusLabel,
    priorityLabel: priorityLabel,
    verbLabel: verbLabel,
    mailStateLabel: mailStateLabel,
    actorLabel: actorLabel,
    valueLabel: valueLabel,
    isActive: isActive,
    safeStatus: safeStatus,
    safePriority: safePriority,
  };

  document.addEventListener("DOMContentLoaded", connect);
})();
