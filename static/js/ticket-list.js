/* The ticket list, live: rows on this page update in place (with a brief highlight), new and
 * changed tickets that match the filters appear at the top where the sort puts them there,
 * and otherwise a notice offers a refresh. After a reconnect the page's rows are refetched.
 * With a search, whether a ticket matches (and its snippet) depends on text events do not
 * carry: a change to a ticket that may match refetches the page's rows and snippets. */
(function () {
  "use strict";

  // Wide screens show the filters, folded only on phones (for browsers whose CSS cannot
  // unfold a <details>: static/css/app.css).
  var filterToggle = document.querySelector("[data-filter-toggle]");
  if (filterToggle && window.matchMedia("(min-width: 601px)").matches) {
    filterToggle.open = true;
  }

  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (s, p, n) { return n === 1 ? s : p; };
  var interpolate = window.interpolate || function (s, o) {
    return s.replace(/%\((\w+)\)s/g, function (m, k) { return String(o[k]); });
  };

  // Filters apply as soon as one changes (the Apply button stays for pages without script).
  var filterForm = document.querySelector("form[data-autosubmit]");
  if (filterForm) {
    filterForm.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT") {
        filterForm.requestSubmit();
      }
    });
  }

  // Row selection for the bulk actions: "select all" and the selected count.
  var selectAll = document.querySelector("[data-select-all]");
  var selectedCount = document.querySelector("[data-selected-count]");
  function boxes() {
    return document.querySelectorAll('table[data-ticket-table] input[name="tickets"]');
  }
  function updateSelection() {
    var all = boxes();
    var n = Array.prototype.filter.call(all, function (b) { return b.checked; }).length;
    if (selectedCount) {
      selectedCount.textContent = interpolate(ngettext("%(count)s selected", "%(count)s selected", n), { count: n }, true);
    }
    if (selectAll) {
      selectAll.checked = n > 0 && n === all.length;
      selectAll.indeterminate = n > 0 && n < all.length;
    }
  }
  if (selectAll) {
    selectAll.hidden = false;
    selectAll.addEventListener("change", function () {
      Array.prototype.forEach.call(boxes(), function (b) {
        b.checked = selectAll.checked;
      });
      updateSelection();
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "tickets") {
      updateSelection();
    }
  });
  updateSelection();

  var Live = window.Live;
  var table = document.querySelector("table[data-ticket-table]");
  if (!Live || !table) {
    return;
  }
  var tbody = table.querySelector("tbody");
  var me = Live.userId;
  var KINDS = Live.KINDS;
  var filters = {
    q: (table.getAttribute("data-filter-q") || "").toLowerCase(),
    status: table.getAttribute("data-filter-status") || "",
    queue: table.getAttribute("data-filter-queue") || "",
    priority: table.getAttribute("data-filter-priority") || "",
    assignee: table.getAttribute("data-filter-assignee") || "",
    due: table.getAttribute("data-filter-due") || "",
    tag: table.getAttribute("data-filter-tag") || "",
  };
  var HOUR = 3600000;
  var sort = table.getAttribute("data-sort") || "updated";
  var pageNumber = Number(table.getAttribute("data-page") || 1);
  var perPage = Number(table.getAttribute("data-per-page") || 50);
  var countEl = document.querySelector("[data-list-count]");
  var emptyEl = document.querySelector("[data-list-empty]");
  var wrapEl = table.closest(".table-wrap") || table;
  var noticeEl = document.querySelector("[data-list-notice]");
  var unseen = 0;
  var REF = /^T-(\d{6,12})$/;
  var searching = filters.q.trim() !== "";
  var SEARCH_REDRAW_GAP = 2000; // ms between refetches while matching tickets keep changing

  function matchesQuery(ticket) {
    var q = filters.q.trim();
    if (!q) {
      return true;
    }
    var ref = REF.exec(q.toUpperCase());
    var pk = ref ? Number(ref[1]) : /^\d{1,11}$/.test(q) ? Number(q) : null;
    return ticket.subject.toLowerCase().indexOf(q) >= 0 || (pk !== null && ticket.id === pk);
  }

  // The list view's filters, applied to one ticket (a "was" has no subject: use the new one).
  function matches(ticket, subjectFrom) {
    if (!ticket) {
      return false;
    }
    var status = filters.status || "active";
    if (status === "active" ? !Live.isActive(ticket.status) : status !== "any" && ticket.status !== status) {
      return false;
    }
    if (filters.due) {
      var left = ticket.due_at ? Date.parse(ticket.due_at) - Date.now() : NaN;
      var inWindow = filters.due === "overdue" ? left < 0 : left >= 0 && left < HOUR;
      if (!Live.isActive(ticket.status) || !inWindow) {
        return false;
      }
    }
    // Events carry no tags: with a tag filter, only the rows already listed are known to match.
    if (filters.tag && !findRow(ticket.id)) {
      return false;
    }
    if (filters.queue && String(ticket.queue_id) !== filters.queue) {
      return false;
    }
    if (filters.priority && String(ticket.priority) !== filters.priority) {
      return false;
    }
    if (filters.assignee === "me" && ticket.assignee_id !== me) {
      return false;
    }
    if (filters.assignee === "unassigned" && ticket.assignee_id !== null) {
      return false;
    }
    if (/^\d+$/.test(filters.assignee) && String(ticket.assignee_id) !== filters.assignee) {
      return false;
    }
    // A search matches text the event does not carry: only the server can tell.
    return searching || matchesQuery(subjectFrom || ticket);
  }

  function dueCell(ticket) {
    var td = Live.el("td");
    td.setAttribute("data-col", "due");
    td.setAttribute("data-label", LABELS.due);
    if (ticket.due_at && Live.isActive(ticket.status)) {
      var ms = Date.parse(ticket.due_at) - Date.now();
      td.appendChild(Live.timeEl(ticket.due_at, Live.dueText(ms)));
    } else {
      td.textContent = "—";
    }
    return td;
  }

  var LABELS = {
    requester: gettext("Requester"), queue: gettext("Queue"), status: gettext("Status"), priority: gettext("Priority"),
    assignee: gettext("Assignee"), due: gettext("Due"), updated: gettext("Updated"),
  };

  function cell(column, child) {
    var td = Live.el("td");
    td.setAttribute("data-col", column);
    td.setAttribute("data-label", LABELS[column]);
    if (typeof child === "string") {
      td.textContent = child;
    } else {
      td.appendChild(child);
    }
    return td;
  }

  // Events carry no contact data: a row keeps the requester the page was rendered with.
  var requesters = {};
  Array.prototype.forEach.call(tbody.querySelectorAll("tr[data-ticket-id]"), function (tr) {
    var td = tr.querySelector('[data-col="requester"]');
    requesters[tr.getAttribute("data-ticket-id")] = td ? td.textContent : "—";
  });

  function selectCell(ticket, checked) {
    var td = Live.el("td", "select");
    var box = Live.el("input");
    box.type = "checkbox";
    box.name = "tickets";
    box.value = ticket.ref;
    box.checked = Boolean(checked);
    box.setAttribute("form", "bulk-form");
    box.setAttribute("aria-label", Live.fmt(gettext("Select %(ref)s"), { ref: ticket.ref }));
    td.appendChild(box);
    return td;
  }

  function row(ticket, checked) {
    var status = Live.safeStatus(ticket.status);
    var tr = Live.el("tr", "status-" + status);
    var overdue = Live.isActive(ticket.status) && ticket.due_at && Date.parse(ticket.due_at) < Date.now();
    if (overdue) {
      tr.classList.add("overdue");
    }
    tr.setAttribute("data-ticket-id", ticket.id);
    tr.setAttribute("data-key-item", "");  // j/k move through it (static/js/keys.js)
    var ref = Live.el("td", "ref");
    ref.appendChild(Live.link(ticket.url, null, ticket.ref));
    var subject = Live.el("td", "subject");
    subject.appendChild(Live.link(ticket.url, null, ticket.subject));
    tr.appendChild(selectCell(ticket, checked));
    tr.appendChild(ref);
    tr.appendChild(subject);
    tr.appendChild(cell("requester", requesters[String(ticket.id)] || "—"));
    tr.appendChild(cell("queue", ticket.queue));
    tr.appendChild(cell("status", Live.el("span", "badge status-" + status, Live.statusLabel(ticket.status, ticket.status_label))));
    tr.appendChild(cell("priority", Live.el("span", "badge prio-" + Live.safePriority(ticket.priority), Live.priorityLabel(ticket.priority, ticket.priority_label))));
    tr.appendChild(cell("assignee", ticket.assignee || "—"));
    tr.appendChild(dueCell(ticket));
    tr.appendChild(cell("updated", Live.timeEl(ticket.updated_at, Live.ago(ticket.updated_at))));
    return tr;
  }

  // The result snippet under a searched row: plain text pieces, the matches in <mark>.
  function snippetRow(ticket) {
    var tr = Live.el("tr", "snippet");
    tr.setAttribute("data-snippet-for", ticket.id);
    tr.appendChild(Live.el("td"));
    var td = Live.el("td");
    td.colSpan = 7;
    ticket.snippet.forEach(function (piece) {
      td.appendChild(piece[1] ? Live.el("mark", null, piece[0]) : document.createTextNode(piece[0]));
    });
    tr.appendChild(td);
    return tr;
  }

  function setCount(count) {
    if (!countEl) {
      return;
    }
    count = Math.max(0, count);
    countEl.setAttribute("data-value", count);
    countEl.textContent = Live.fmt(ngettext("%(count)s ticket", "%(count)s tickets", count), { count: count });
  }

  function currentCount() {
    return Number(countEl ? countEl.getAttribute("data-value") : 0);
  }

  function showRowsOrEmpty() {
    var any = tbody.children.length > 0;
    wrapEl.hidden = !any;
    if (emptyEl) {
      emptyEl.hidden = any;
    }
  }

  function notice() {
    if (!noticeEl || !unseen) {
      return;
    }
    noticeEl.hidden = false;
    noticeEl.querySelector("[data-list-notice-text]").textContent =
      Live.fmt(ngettext(
        "%(count)s ticket matching these filters changed elsewhere in the list.",
        "%(count)s tickets matching these filters changed elsewhere in the list.",
        unseen
      ), { count: unseen });
  }

  // Where a changed ticket belongs: at the top of page 1 for the "newest first" sorts.
  function goesOnTop(event) {
    if (pageNumber !== 1) {
      return false;
    }
    if (sort === "updated") {
      return true;
    }
    return (sort === "created" || sort === "ref") && event.kind === KINDS.CREATED;
  }

  function findRow(id) {
    return tbody.querySelector('tr[data-ticket-id="' + Number(id) + '"]');
  }

  // The keyboard cursor (j/k, static/js/keys.js) and the focus stay on their ticket when
  // the rows are drawn again.
  function cursorOf() {
    var current = tbody.querySelector("tr.key-current");
    var active = document.activeElement;
    var focused = active && active.closest && tbody.contains(active) ? active.closest("tr[data-ticket-id]") : null;
    return {
      current: current ? current.getAttribute("data-ticket-id") : null,
      focused: focused ? focused.getAttribute("data-ticket-id") : null
    };
  }
  function keepCursor(cursor) {
    var current = cursor.current && findRow(cursor.current);
    if (current) {
      current.classList.add("key-current");
    }
    var focused = cursor.focused && findRow(cursor.focused);
    var link = focused && focused.querySelector("a");
    if (link && document.activeElement !== link) {
      link.focus({ preventScroll: true });
    }
  }

  Live.onEvent(function (event) {
    var cursor = cursorOf();
    redrawFor(event);
    keepCursor(cursor);
  });

  function redrawFor(event) {
    if (event.type === "removed") {
      var gone = findRow(event.id);
      if (gone) {
        gone.classList.add("live-stale");
        gone.setAttribute("title", gettext("Moved to a queue you cannot see"));
      }
      // Without the row on this page its subject is unknown: a search cannot tell.
      var subject = gone ? gone.querySelector(".subject").textContent : null;
      if (event.was && (subject !== null || !filters.q.trim()) && matches(event.was, { subject: subject || "", id: event.id })) {
        setCount(currentCount() - 1);
      }
      return;
    }
    if (event.type !== "ticket") {
      return;
    }
    var was = event.was && Live.canSeeQueue(event.was.queue_id) ? event.was : null;
    var nowMatches = matches(event);
    if (searching) {
      var listed = findRow(event.id);
      if (listed) {
        var checked = listed.querySelector('input[name="tickets"]');
        var redrawn = row(event, checked && checked.checked);
        if (!nowMatches) {
          redrawn.classList.add("live-stale");
          redrawn.setAttribute("title", gettext("No longer matches these filters"));
        }
        listed.replaceWith(redrawn);
        Live.flash(redrawn);
      }
      if (listed || nowMatches || (was && matches(was, event))) {
        Live.requestResync(SEARCH_REDRAW_GAP); // the rows, the count and the snippets
      }
      return;
    }
    var wasMatching = was ? matches(was, event) : false;
    if (nowMatches !== wasMatching) {
      setCount(currentCount() + (nowMatches ? 1 : -1));
    }
    var existing = findRow(event.id);
    var box = existing && existing.querySelector('input[name="tickets"]');
    var fresh = row(event, box && box.checked);
    if (existing) {
      if (!nowMatches) {
        fresh.classList.add("live-stale");
        fresh.setAttribute("title", gettext("No longer matches these filters"));
      }
      if (nowMatches && goesOnTop(event)) {
        existing.remove();
        tbody.insertBefore(fresh, tbody.firstChild);
      } else {
        existing.replaceWith(fresh);
      }
      Live.flash(fresh);
    } else if (nowMatches) {
      if (goesOnTop(event)) {
        tbody.insertBefore(fresh, tbody.firstChild);
        while (tbody.children.length > perPage) {
          tbody.lastElementChild.remove();
        }
        Live.flash(fresh);
      } else {
        unseen += 1;
        notice();
      }
    }
    showRowsOrEmpty();
  }

  Live.onResync(function (data, error) {
    if (!data) {
      return; // a stale filter or page (400/404): the rendered page stays as it is
    }
    var cursor = cursorOf();
    var rows = document.createDocumentFragment();
    data.rows.forEach(function (ticket) {
      var old = findRow(ticket.id);
      var box = old && old.querySelector('input[name="tickets"]');
      rows.appendChild(row(ticket, box && box.checked));
      if (ticket.snippet && ticket.snippet.length) {
        rows.appendChild(snippetRow(ticket));
      }
    });
    while (tbody.firstChild) {
      tbody.firstChild.remove();
    }
    tbody.appendChild(rows);
    keepCursor(cursor);
    setCount(data.count);
    unseen = 0;
    if (noticeEl) {
      noticeEl.hidden = true;
    }
    showRowsOrEmpty();
  });
})();
