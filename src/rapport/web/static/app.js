// Rapport UI: keyboard navigation. Inbox: j/k move, x selects, e resolves
// the selected threads (or the current one), Enter or o opens the thread, p
// opens the customer, / jumps to the filter; the list refreshes itself when
// threads change. Thread: u back, p person; typing / in the reply box offers
// the canned responses.
(function () {
  "use strict";
  var selected = -1;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-inbox] [data-row]"));
  }

  function select(index) {
    var all = rows();
    if (!all.length) { selected = -1; return; }
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) {
      row.classList.toggle("selected", i === selected);
      row.setAttribute("aria-selected", i === selected ? "true" : "false");
    });
    all[selected].scrollIntoView({ block: "nearest" });
    all[selected].focus({ preventScroll: true });
  }

  function current() {
    var all = rows();
    return selected >= 0 && selected < all.length ? all[selected] : null;
  }

  function csrf() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRF-Token"]; } catch (e) { return ""; }
  }

  function toggle(row) {
    var box = row.querySelector("[data-check]");
    if (!box) { return; }
    box.checked = !box.checked;
    row.classList.toggle("checked", box.checked);
  }

  function say(text) {
    var status = document.getElementById("bulk-status");
    if (status) { status.textContent = text; }
  }

  function refreshList() {
    var list = document.getElementById("inbox-list");
    if (!list || !window.htmx) { window.location.reload(); return; }
    var keep = current() ? current().dataset.thread : null;
    window.htmx.ajax("GET", window.location.pathname + window.location.search,
      { target: "#inbox-list", swap: "outerHTML", headers: { "HX-Target": "inbox-list" } }).then(function () {
      if (keep) {
        var all = rows();
        for (var i = 0; i < all.length; i++) { if (all[i].dataset.thread === keep) { select(i); break; } }
      }
    });
  }

  function resolveSelected() {
    var checked = Array.prototype.slice.call(document.querySelectorAll("[data-inbox] [data-check]:checked"));
    var ids = checked.map(function (c) { return c.value; });
    if (!ids.length && current()) { ids = [current().dataset.thread]; }
    if (!ids.length) { return; }
    var body = new URLSearchParams({ ids: ids.join(","), status: "resolved" });
    fetch("/inbox/bulk", { method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf() } })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (res) {
        if (!res.ok) { say("Nothing changed: " + res.data.detail); return; }
        say(res.data.threads + " thread(s) resolved");
        selected = -1;
        refreshList();
      });
  }

  // Live updates: poll the inbox's version; reload the list when it changed
  // (not while threads are selected, a field is in use, or the tab is hidden).
  var version = null;
  function poll() {
    var list = document.querySelector("[data-version-url]");
    if (!list || document.hidden) { return; }
    if (document.querySelector("[data-inbox] [data-check]:checked") || typing(document.activeElement)) { return; }
    fetch(list.dataset.versionUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) { return; }
        if (version !== null && d.version !== version) { refreshList(); }
        version = d.version;
      });
  }
  if (document.querySelector("[data-version-url]")) { poll(); window.setInterval(poll, 5000); }

  // Canned responses: "/" at the start of the reply box opens the picker.
  function cannedList() {
    var data = document.getElementById("canned-data");
    try { return data ? JSON.parse(data.textContent) : []; } catch (e) { return []; }
  }
  var reply = document.getElementById("reply-text");
  var picker = document.getElementById("canned-picker");
  if (reply && picker) {
    var canned = cannedList();
    var choose = function (item) {
      reply.value = item.text;
      var field = document.querySelector("#reply-form input[name=canned]");
      picker.hidden = true;
      reply.focus();
      if (field) { field.value = ""; }
    };
    reply.addEventListener("input", function () {
      var value = reply.value;
      if (value.charAt(0) !== "/" || value.indexOf(" ") >= 0) { picker.hidden = true; return; }
      var prefix = value.slice(1).toLowerCase();
      var hits = canned.filter(function (c) { return c.shortcode.indexOf(prefix) === 0; });
      picker.innerHTML = "";
      hits.forEach(function (c, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.dataset.shortcode = c.shortcode;
        li.textContent = "/" + c.shortcode + " — " + c.text;
        if (i === 0) { li.classList.add("active"); }
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(c); });
        picker.appendChild(li);
      });
      picker.hidden = hits.length === 0;
    });
    reply.addEventListener("keydown", function (event) {
      if (picker.hidden) { return; }
      var items = Array.prototype.slice.call(picker.querySelectorAll("li"));
      var at = items.findIndex(function (li) { return li.classList.contains("active"); });
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        var next = event.key === "ArrowDown" ? Math.min(at + 1, items.length - 1) : Math.max(at - 1, 0);
        items.forEach(function (li, i) { li.classList.toggle("active", i === next); });
        event.preventDefault();
      } else if (event.key === "Enter" || event.key === "Tab") {
        var pick = canned.filter(function (c) { return c.shortcode === items[Math.max(at, 0)].dataset.shortcode; })[0];
        if (pick) { choose(pick); event.preventDefault(); }
      } else if (event.key === "Escape") { picker.hidden = true; }
    });
  }

  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key;
    if (rows().length) {
      if (key === "j") { select(selected + 1); event.preventDefault(); return; }
      if (key === "k") { select(selected < 0 ? 0 : selected - 1); event.preventDefault(); return; }
      var row = current();
      if (key === "x" && row) { toggle(row); event.preventDefault(); return; }
      if (key === "e") { resolveSelected(); event.preventDefault(); return; }
      if ((key === "Enter" || key === "o") && row) { window.location.href = row.dataset.href; event.preventDefault(); return; }
      if (key === "p" && row && row.dataset.person) { window.location.href = row.dataset.person; event.preventDefault(); return; }
      if (key === "/") {
        var filter = document.getElementById("filter-channel");
        if (filter) { filter.focus(); event.preventDefault(); }
        return;
      }
    }
    var back = document.querySelector("[data-key-back]");
    if (key === "u" && back) { window.location.href = back.getAttribute("href"); event.preventDefault(); return; }
    var person = document.querySelector("[data-key-person]");
    if (key === "p" && person) { window.location.href = person.getAttribute("href"); event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("[data-inbox] [data-row]");
    if (!row || event.target.closest("a, button, input, select")) { return; }
    window.location.href = row.dataset.href;
  });

  // A suggested answer goes into the reply box (never sent by itself).
  document.addEventListener("click", function (event) {
    var use = event.target.closest && event.target.closest("[data-use-suggestion]");
    if (!use) { return; }
    var box = document.getElementById("reply-text");
    var text = use.closest("[data-suggestion]").querySelector(".text");
    if (box && text) { box.value = text.textContent.trim(); box.focus(); }
  });

  // After htmx replaced the list (a filter changed), start again at the top.
  document.addEventListener("htmx:afterSwap", function () { selected = -1; });
})();
