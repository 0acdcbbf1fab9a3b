// Before/after overlay: the range input reveals the after photo from the left
// edge over the before photo. The section stays hidden without JavaScript,
// where the side-by-side view still works.
(function () {
  "use strict";

  function setUp(section) {
    var slider = section.querySelector("[data-compare-slider]");
    var after = section.querySelector("[data-compare-after]");
    var output = section.querySelector("[data-compare-output]");
    if (!slider || !after) {
      return;
    }
    function update() {
      var shown = Number(slider.value);
      // CSSOM from a script file: allowed by the page's style-src 'self'.
      after.style.clipPath = "inset(0 " + (100 - shown) + "% 0 0)";
      if (output) {
        output.textContent = shown + "%";
      }
      slider.setAttribute("aria-valuetext", shown + "% of the after photo shown");
    }
    slider.addEventListener("input", update);
    update();
    section.hidden = false;
  }

  document.querySelectorAll("[data-compare-overlay]").forEach(setUp);
})();
