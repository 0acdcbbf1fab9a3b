// Signing pads on the consent form: draw with a finger, a stylus or the mouse
// (Pointer Events) on a canvas. Each pad keeps its hidden input up to date with
// the canvas's PNG data URL, and writes it again when the form is submitted.
// An untouched or cleared pad sends an empty value, which the server refuses
// as an empty signature. A signature the server accepted on a refused form comes
// back in the hidden input: it is drawn on the canvas again and sent as it was
// (the server checks it again) until it is cleared or drawn over.
// No inline script or style: the CSP forbids both.
(function () {
  "use strict";

  var LINE_WIDTH = 4;
  var INK = "#000000";

  function setUp(pad) {
    var canvas = pad.querySelector("[data-signature-canvas]");
    var input = pad.querySelector("[data-signature-input]");
    var clear = pad.querySelector("[data-signature-clear]");
    var status = pad.querySelector("[data-signature-status]");
    if (!canvas || !input || !canvas.getContext) {
      return null;
    }
    var context = canvas.getContext("2d");
    var drawingPointer = null;
    var last = null;
    var signed = false;
    // The data URL the server sent back, kept as is until the pad is touched.
    var kept = input.value.indexOf("data:image/png;base64,") === 0 ? input.value : "";

    function pen() {
      context.lineWidth = LINE_WIDTH;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = INK;
      context.fillStyle = INK;
    }

    // The canvas keeps its own resolution whatever size CSS shows it at.
    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: ((event.clientX - box.left) * canvas.width) / box.width,
        y: ((event.clientY - box.top) * canvas.height) / box.height
      };
    }

    function dot(at) {
      context.beginPath();
      context.arc(at.x, at.y, LINE_WIDTH / 2, 0, 2 * Math.PI);
      context.fill();
    }

    function line(from, to) {
      context.beginPath();
      context.moveTo(from.x, from.y);
      context.lineTo(to.x, to.y);
      context.stroke();
    }

    function store() {
      input.value = kept || (signed ? canvas.toDataURL("image/png") : "");
      if (status) {
        status.textContent = kept
          ? "Signed (kept from before). Use Clear to start again."
          : signed
            ? "Signed. Use Clear to start again."
            : "Not signed yet.";
      }
    }

    function drawKept() {
      var image = new Image();
      image.addEventListener("load", function () {
        context.drawImage(image, 0, 0, canvas.width, canvas.height);
        canvas.setAttribute("data-signature-drawn-back", "");
      });
      image.src = kept;
    }

    function finish(event) {
      if (drawingPointer !== event.pointerId) {
        return;
      }
      drawingPointer = null;
      last = null;
      store();
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (drawingPointer !== null || (event.pointerType === "mouse" && event.button !== 0)) {
        return;
      }
      event.preventDefault();
      if (canvas.setPointerCapture) {
        canvas.setPointerCapture(event.pointerId);
      }
      drawingPointer = event.pointerId;
      pen();
      last = point(event);
      dot(last);
      signed = true;
      kept = "";
    });

    canvas.addEventListener("pointermove", function (event) {
      if (drawingPointer !== event.pointerId) {
        return;
      }
      event.preventDefault();
      // Fast strokes: the browser batches moves; draw every one of them.
      var moves = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      if (!moves.length) {
        moves = [event];
      }
      moves.forEach(function (move) {
        var at = point(move);
        line(last, at);
        last = at;
      });
    });

    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    canvas.addEventListener("lostpointercapture", finish);

    if (clear) {
      clear.addEventListener("click", function () {
        context.clearRect(0, 0, canvas.width, canvas.height);
        signed = false;
        kept = "";
        drawingPointer = null;
        last = null;
        store();
      });
    }

    if (kept) {
      signed = true;
      drawKept();
    }
    store();
    return store;
  }

  document.querySelectorAll("[data-signature-form]").forEach(function (form) {
    var pads = [];
    form.querySelectorAll("[data-signature-pad]").forEach(function (pad) {
      var store = setUp(pad);
      if (store) {
        pads.push(store);
      }
    });
    form.addEventListener("submit", function () {
      pads.forEach(function (store) {
        store();
      });
    });
  });
})();
