// minigrad.viz.graph: open a collapsed module (a block) on a click, with a breadcrumb back.
// One copy per view, inside its own function: nothing is added to the page's globals, and the
// view finds its elements under its own root (an id unique to this view).
(function () {
  "use strict";
  var root = document.getElementById("__ROOT_ID__");
  if (!root) return;
  var panels = root.querySelectorAll(".mg-panel");
  var crumbs = root.querySelector(".mg-crumbs");
  var path = [0];                       // the panels opened, top first

  function show(index) {
    for (var i = 0; i < panels.length; i++) {
      panels[i].style.display = (i === index) ? "" : "none";
    }
    root.setAttribute("data-shown", String(index));
  }

  function drawCrumbs() {
    crumbs.textContent = "";
    path.forEach(function (index, depth) {
      if (depth > 0) crumbs.appendChild(document.createTextNode(" › "));
      var label = panels[index].getAttribute("data-label");
      if (depth === path.length - 1) {
        var here = document.createElement("b");
        here.textContent = label;
        crumbs.appendChild(here);
      } else {
        var back = document.createElement("a");
        back.href = "#";
        back.textContent = label;
        back.addEventListener("click", function (event) {
          event.preventDefault();
          path = path.slice(0, depth + 1);
          show(index);
          drawCrumbs();
        });
        crumbs.appendChild(back);
      }
    });
    if (path.length === 1) {
      crumbs.appendChild(document.createTextNode("  (click a yellow block to open it)"));
    }
  }

  root.addEventListener("click", function (event) {
    var block = event.target.closest ? event.target.closest(".mg-block[data-open]") : null;
    if (!block || !root.contains(block)) return;
    var index = parseInt(block.getAttribute("data-open"), 10);
    if (!(index >= 0 && index < panels.length)) return;
    path.push(index);
    show(index);
    drawCrumbs();
  });
  show(0);
  drawCrumbs();
  root.setAttribute("data-ready", "1");
})();
