// Rapport UI: keyboard navigation. Inbox: j/k move, Enter or o opens the
// thread, p opens the customer, / jumps to the filter. Thread: u back, p person.
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
