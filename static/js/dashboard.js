/* The dashboard, live: counters, the four short lists and the activity feed follow ticket
 * events without a reload. Each event says what the ticket is now and what it was, so
 * counters move by the difference; a short list that loses a row it cannot refill from
 * events, or a deadline passing, asks the server for a fresh view (live.js resync). */
(function () {
  "use strict";

  var Live = window.Live;
  var root = document.querySelector("[data-dashboard]");
  if (!Live || !root) {
    return;
  }
  var me = Live.userId;
  var LIST_SIZE = 10;
  var FEED_SIZE = 15;
  var DUE_SOON = 3600 * 1000;

  function dueTime(ticket) {
    return ticket.due_at ? Date.parse(ticket.due_at) : null;
  }

  function byDue(a, b) {
    var da = dueTime(a), db = dueTime(b);
    if (da === null || db === null) {
      return (da === null) - (db === null) || a.id - b.id;
    }
    return da - db || a.id - b.id;
  }

  function byUpdatedDesc(a, b) {
    return Date.parse(b.updated_at) - Date.parse(a.updated_at) || b.id - a.id;
  }

  // What a ticket adds to each counter and list, at this moment.
  function shares(ticket, now) {
    if (!ticket) {
      return null;
    }
    var active = Live.isActive(ticket.status);
    var due = dueTime(ticket);
    return {
      status: ticket.status,
      mine: active && ticket.assignee_id === me,
      unassigned: active && (ticket.assignee_id === null || ticket.assignee_id === undefined),
      overdue: active && due !== null && due < now,
      due_soon: active && due !== null && due >= now && due < now + DUE_SOON,
    };
  }

  var LISTS = {
    mine: byDue,
    unassigned: byUpdatedDesc,
    overdue: byDue,
    due_soon: byDue,
  };

  var state = { counts: {}, totals: {}, lists: {} };

  /* --- reading the server-rendered page --- */

  function readCount(name) {
    var node = root.querySelector('[data-count="' + name + '"]');
    return node ? parseInt(node.textContent, 10) || 0 : 0;
  }

  function readPage() {
    ["new", "open", "pending", "resolved", "closed"].forEach(function (status) {
      state.counts[status] = readCount("status-" + status);
    });
    Object.keys(LISTS).forEach(function (name) {
      state.totals[name] = readCount(name);
      var panel = root.querySelector('[data-panel="' + name + '"]');
      state.lists[name] = Array.prototype.map.call(panel.querySelectorAll("li[data-ticket-id]"), function (li) {
        return {
          id: Number(li.getAttribute("data-ticket-id")),
          due_at: li.getAttribute("data-due-at") || null,
          updated_at: li.getAttribute("data-updated-at"),
          node: li,
        };
      });
    });
  }

  /* --- drawing --- */

  function dueText(iso) {
    var ms = Date.parse(iso) - Date.now();
    return Live.dueText(ms);
  }

  function miniRow(ticket) {
    var li = Live.el("li");
    li.setAttribute("data-ticket-id", ticket.id);
    if (ticket.due_at) {
      li.setAttribute("data-due-at", ticket.due_at);
    }
    li.setAttribute("data-updated-at", ticket.updated_at);
    var a = Live.link(ticket.url);
    a.appendChild(Live.el("span", "ref", ticket.ref));
    a.appendChild(document.createTextNode(" "));
    a.appendChild(Live.el("span", "subject-text", ticket.subject));
    var meta = Live.el("span", "meta");
    meta.appendChild(Live.el("span", "badge prio-" + Live.safePriority(ticket.priority), Live.priorityLabel(ticket.priority, ticket.priority_label)));
    if (ticket.due_at) {
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(Live.timeEl(ticket.due_at, dueText(ticket.due_at)));
    }
    li.appendChild(a);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(meta);
    return li;
  }

  function drawCounts() {
    Object.keys(state.counts).forEach(function (status) {
      setCount("status-" + status, state.counts[status]);
    });
    Object.keys(state.totals).forEach(function (name) {
      setCount(name, state.totals[name]);
    });
  }

  function setCount(name, value) {
    root.querySelectorAll('[data-count="' + name + '"]').forEach(function (node) {
      var text = String(Math.max(0, value));
      if (node.textContent !== text) {
        node.textContent = text;
        Live.flash(node);
      }
    });
  }

  function drawList(name) {
    var panel = root.querySelector('[data-panel="' + name + '"]');
    var ul = panel.querySelector("ul[data-list]");
    var rows = state.lists[name];
    rows.forEach(function (row) {
      ul.appendChild(row.node); // re-appending in order moves existing nodes
    });
    Array.prototype.forEach.call(ul.querySelectorAll("li"), function (li) {
      if (!rows.some(function (row) { return row.node === li; })) {
        li.remove();
      }
    });
    ul.hidden = rows.length === 0;
    panel.querySelector("[data-empty]").hidden = rows.length > 0;
    var total = Math.max(0, state.totals[name]);
    var more = panel.querySelector("[data-more]");
    more.hidden = total <= rows.length;
    more.querySelector("a").textContent = "All " + total + " →";
    if (rows.length < Math.min(total, LIST_SIZE)) {
      Live.requestResync(); // a row left; the next one is only known to the server
    }
  }

  function feedEntry(line, ticket) {
    var li = Live.el("li");
    li.appendChild(Live.timeEl(line.at, Live.ago(line.at)));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(Live.el("strong", null, Live.actorLabel(line.actor)));
    li.appendChild(document.createTextNode(" " + Live.verbLabel(line.verb, line.verb_label) + " "));
    li.appendChild(Live.link(ticket.url, null, ticket.ref + " " + ticket.subject));
    if (line["new"] && line.verb !== "created") {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(Live.el("span", "change", (line.old ? Live.valueLabel(line.verb, line.old) + " → " : "") + Live.valueLabel(line.verb, line["new"])));
    }
    return li;
  }

  function feedList() {
    return root.querySelector("ol[data-feed]");
  }

  function addToFeed(lines, ticket) {
    var feed = feedList();
    lines.forEach(function (line) {
      var li = feedEntry(line, ticket);
      feed.insertBefore(li, feed.firstChild);
      Live.flash(li);
    });
    while (feed.children.length > FEED_SIZE) {
      feed.lastElementChild.remove();
    }
    feed.hidden = feed.children.length === 0;
    root.querySelector("[data-feed-empty]").hidden = feed.children.length > 0;
  }

  /* --- deadlines: overdue and due-soon change with time, not with events --- */

  var boundaryTimer = null;
  var boundaryAt = null;

  function considerBoundary(iso) {
    if (!iso) {
      return;
    }
    var at = Date.parse(iso);
    var now = Date.now();
    [at, at - DUE_SOON].forEach(function (moment) {
      if (moment > now && (boundaryAt === null || moment < boundaryAt)) {
        boundaryAt = moment;
        clearTimeout(boundaryTimer);
        // Jitter: pages sharing a ticket do not all ask at the same instant.
        boundaryTimer = setTimeout(function () {
          boundaryAt = null;
          Live.resync();
        }, Math.min(moment - now, 2147483000) + 500 + Math.random() * 3000);
      }
    });
  }

  /* --- events --- */

  function applyShares(share, sign) {
    if (!share) {
      return;
    }
    if (share.status in state.counts) {
      state.counts[share.status] += sign;
    }
    Object.keys(LISTS).forEach(function (name) {
      if (share[name]) {
        state.totals[name] += sign;
      }
    });
  }

  function placeInLists(ticket, share) {
    var changed = {};
    Object.keys(LISTS).forEach(function (name) {
      var rows = state.lists[name];
      var index = rows.findIndex(function (row) { return row.id === ticket.id; });
      if (index >= 0) {
        rows.splice(index, 1);
        changed[name] = true;
      }
      if (share && share[name]) {
        var row = { id: ticket.id, due_at: ticket.due_at, updated_at: ticket.updated_at, node: miniRow(ticket) };
        rows.push(row);
        rows.sort(LISTS[name]);
        if (rows.length > LIST_SIZE) {
          rows.length = LIST_SIZE;
        }
        if (rows.indexOf(row) >= 0) {
          Live.flash(row.node);
        }
        changed[name] = true;
      }
    });
    Object.keys(changed).forEach(drawList);
  }

  Live.onEvent(function (event) {
    var now = Date.now();
    if (event.type === "ticket") {
      var was = event.was && Live.canSeeQueue(event.was.queue_id) ? event.was : null;
      var share = shares(event, now);
      applyShares(shares(was, now), -1);
      applyShares(share, +1);
      placeInLists(event, share);
      drawCounts();
      addToFeed(event.activity || [], event);
      if (Live.isActive(event.status)) {
        considerBoundary(event.due_at);
      }
    } else if (event.type === "removed") {
      applyShares(shares(event.was, now), -1);
      placeInLists(event, null);
      drawCounts();
    }
  });

  Live.onResync(function (data) {
    if (!data) {
      return;
    }
    state.counts = Object.assign({}, data.counts);
    state.totals = Object.assign({}, data.totals);
    Object.keys(LISTS).forEach(function (name) {
      var old = {};
      state.lists[name].forEach(function (row) { old[row.id] = row; });
      state.lists[name] = (data.lists[name] || []).map(function (ticket) {
        return { id: ticket.id, due_at: ticket.due_at, updated_at: ticket.updated_at, node: miniRow(ticket) };
      });
      drawList(name);
    });
    drawCounts();
    var feed = feedList();
    while (feed.firstChild) {
      feed.firstChild.remove();
    }
    data.activity.slice().reverse().forEach(function (entry) {
      feed.insertBefore(feedEntry(entry, entry.ticket), feed.firstChild);
    });
    feed.hidden = feed.children.length === 0;
    root.querySelector("[data-feed-empty]").hidden = feed.children.length > 0;
    boundaryAt = null;
    clearTimeout(boundaryTimer);
    considerBoundary(data.next_boundary);
  });

  // Relative times ("due in 5 minutes", "2 hours ago") age without events.
  setInterval(function () {
    root.querySelectorAll("ul[data-list] time[datetime]").forEach(function (t) {
      t.textContent = dueText(t.getAttribute("datetime"));
    });
    root.querySelectorAll("ol[data-feed] time[datetime]").forEach(function (t) {
      t.textContent = Live.ago(t.getAttribute("datetime"));
    });
  }, 60000);

  readPage();
})();
