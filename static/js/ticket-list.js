/* The ticket list, live: rows on this page update in place (with a brief highlight), new and
 * changed tickets that match the filters appear at the top where the sort puts them there,
 * and otherwise a notice offers a refresh. After a reconnect the page's rows are refetched. */
(function () {
  "use strict";

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
  };
  var sort = table.getAttribute("data-sort") || "updated";
  var pageNumber = Number(table.getAttribute("data-page") || 1);
  var perPage = Number(table.getAttribute("data-per-page") || 50);
  var countEl = document.querySelector("[data-list-count]");
  var emptyEl = document.querySelector("[data-list-empty]");
  var wrapEl = table.closest(".table-wrap") || table;
  var noticeEl = document.querySelector("[data-list-notice]");
  var unseen = 0;
  var REF = /^T-(\d{6,12})$/;

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
    if (filters.status === "active" ? !Live.isActive(ticket.status) : filters.status && ticket.status !== filters.status) {
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
    return matchesQuery(subjectFrom || ticket);
  }

  function dueCell(ticket) {
    var td = Live.el("td");
    td.setAttribute("data-col", "due");
    if (ticket.due_at && Live.isActive(ticket.status)) {
      var ms = Date.parse(ticket.due_at) - Date.now();
      td.appendChild(Live.timeEl(ticket.due_at, ms < 0 ? "overdue " + Live.duration(ms) : "in " + Live.duration(ms)));
    } else {
      td.textContent = "—";
    }
    return td;
  }

  function cell(column, child) {
    var td = Live.el("td");
    td.setAttribute("data-col", column);
    if (typeof child === "string") {
      td.textContent = child;
    } else {
      td.appendChild(child);
    }
    return td;
  }

  function row(ticket) {
    var status = Live.safeStatus(ticket.status);
    var tr = Live.el("tr", "status-" + status);
    var overdue = Live.isActive(ticket.status) && ticket.due_at && Date.parse(ticket.due_at) < Date.now();
    if (overdue) {
      tr.classList.add("overdue");
    }
    tr.setAttribute("data-ticket-id", ticket.id);
    var ref = Live.el("td", "ref");
    ref.appendChild(Live.link(ticket.url, null, ticket.ref));
    var subject = Live.el("td", "subject");
    subject.appendChild(Live.link(ticket.url, null, ticket.subject));
    tr.appendChild(ref);
    tr.appendChild(subject);
    tr.appendChild(cell("queue", ticket.queue));
    tr.appendChild(cell("status", Live.el("span", "badge status-" + status, ticket.status_label)));
    tr.appendChild(cell("priority", Live.el("span", "badge prio-" + Live.safePriority(ticket.priority), ticket.priority_label)));
    tr.appendChild(cell("assignee", ticket.assignee || "—"));
    tr.appendChild(dueCell(ticket));
    tr.appendChild(cell("updated", Live.timeEl(ticket.updated_at, Live.ago(ticket.updated_at))));
    return tr;
  }

  function setCount(count) {
    if (!countEl) {
      return;
    }
    count = Math.max(0, count);
    countEl.setAttribute("data-value", count);
    countEl.textContent = count + (count === 1 ? " ticket" : " tickets");
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
      unseen + (unseen === 1 ? " ticket matching these filters changed" : " tickets matching these filters changed") + " elsewhere in the list.";
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

  Live.onEvent(function (event) {
    if (event.type === "removed") {
      var gone = findRow(event.id);
      if (gone) {
        gone.classList.add("live-stale");
        gone.setAttribute("title", "Moved to a queue you cannot see");
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
    var wasMatching = was ? matches(was, event) : false;
    if (nowMatches !== wasMatching) {
      setCount(currentCount() + (nowMatches ? 1 : -1));
    }
    var existing = findRow(event.id);
    var fresh = row(event);
    if (existing) {
      if (!nowMatches) {
        fresh.classList.add("live-stale");
        fresh.setAttribute("title", "No longer matches these filters");
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
  });

  Live.onResync(function (data, error) {
    if (!data) {
      return; // a stale filter or page (400/404): the rendered page stays as it is
    }
    var rows = document.createDocumentFragment();
    data.rows.forEach(function (ticket) {
      rows.appendChild(row(ticket));
    });
    while (tbody.firstChild) {
      tbody.firstChild.remove();
    }
    tbody.appendChild(rows);
    setCount(data.count);
    unseen = 0;
    if (noticeEl) {
      noticeEl.hidden = true;
    }
    showRowsOrEmpty();
  });
})();
