/* A ticket's page, live: says "changed by X just now — reload" when someone else changes
 * the ticket, who else has it open (collision warning), and each reply's mail state. Presence entries expire when
 * their page stops repeating them, so a closed laptop does not linger. */
(function () {
  "use strict";

  var Live = window.Live;
  var gettext = window.gettext || function (s) { return s; };
  var root = document.querySelector("[data-ticket-id][data-ticket-updated-at]");
  if (!Live || !root) {
    return;
  }
  var ticketId = Number(root.getAttribute("data-ticket-id"));
  // The latest change this page knows of: the rendered one, then any announced since.
  var knownVersion = Date.parse(root.getAttribute("data-ticket-updated-at"));
  var banner = document.querySelector("[data-ticket-banner]");
  var bannerText = banner.querySelector("[data-ticket-banner-text]");
  var presenceEl = document.querySelector("[data-presence]");
  var presenceNames = presenceEl.querySelector("[data-presence-names]");
  var viewers = {}; // per socket: {user_id, user, expires}

  function tell(text) {
    bannerText.textContent = text;
    banner.hidden = false;
    Live.flash(banner);
  }

  function describe(event) {
    var lines = event.activity || [];
    var line = lines[lines.length - 1];
    var what = line ? Live.verbLabel(line.verb, line.verb_label) : gettext("changed it");
    var change = line && line["new"] && line.verb !== "created" ? " (" + (line.old ? Live.valueLabel(line.verb, line.old) + " → " : "") + Live.valueLabel(line.verb, line["new"]) + ")" : "";
    return (event.actor ? Live.actorLabel(event.actor) : gettext("Someone")) + " " + what + change + " " + gettext("just now.");
  }

  // A public reply's mail state (queued, sent, failed, bounced), as the worker reports it.
  function showDelivery(event) {
    var badge = document.querySelector('[data-delivery="' + Number(event.comment) + '"]');
    if (!badge) {
      return;
    }
    badge.className = "badge delivery delivery-" + event.state;
    badge.setAttribute("data-state", event.state);
    badge.title = event.reason || "";
    badge.querySelector("[data-delivery-label]").textContent = Live.mailStateLabel(event.state, String(event.label).toLowerCase());
    badge.querySelector("[data-delivery-reason]").textContent =
      event.reason && event.state !== "sent" ? " (" + event.reason + ")" : "";
    Live.flash(badge);
  }

  function drawPresence() {
    var now = Date.now();
    var names = {};
    Object.keys(viewers).forEach(function (conn) {
      var viewer = viewers[conn];
      if (viewer.expires < now) {
        delete viewers[conn];
      } else if (viewer.user_id !== Live.userId) {
        names[viewer.user] = true;
      }
    });
    var list = Object.keys(names).sort();
    presenceNames.textContent = list.join(", ");
    presenceEl.hidden = list.length === 0;
  }

  Live.onOpen(function () {
    viewers = {};
    drawPresence();
    Live.send({ type: "watch", ticket: ticketId });
  });

  Live.onEvent(function (event) {
    if (event.type === "presence" && event.ticket === ticketId) {
      if (event.op === "leave") {
        delete viewers[event.conn];
      } else {
        viewers[event.conn] = { user_id: event.user_id, user: event.user, expires: Date.now() + event.ttl * 2500 };
      }
      drawPresence();
    } else if (event.type === "ticket" && event.id === ticketId) {
      var version = Date.parse(event.updated_at);
      if (version > knownVersion) {
        knownVersion = version;
        if (event.actor_id !== Live.userId) {
          tell(describe(event));
        }
      }
    } else if (event.type === "delivery" && event.ticket === ticketId) {
      showDelivery(event);
    } else if (event.type === "removed" && event.id === ticketId) {
      tell(gettext("This ticket was moved to a queue you cannot see."));
    }
  });

  Live.onResync(function (data, error) {
    if (error && error.status === 404) {
      tell(gettext("This ticket is no longer visible to you."));
    } else if (data && Date.parse(data.ticket.updated_at) > knownVersion) {
      knownVersion = Date.parse(data.ticket.updated_at);
      tell(gettext("This ticket changed while you were offline."));
    }
  });

  setInterval(drawPresence, 5000);
})();
