// wid web UI: the only script. Copy buttons; everything else works without JavaScript.
document.addEventListener("click", function (e) {
  var b = e.target.closest("button[data-copy]");
  if (!b) return;
  e.preventDefault();
  var text = b.getAttribute("data-copy");
  var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { b.textContent = "Copy failed"; });
  } else {
    b.textContent = "Copy failed";
  }
});
document.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
