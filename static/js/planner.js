// The thread-placement planner page (templates/treatments/plans/planner.html).
//
// One in-memory model (the plan's vectors and notes) is drawn by two views that both edit
// it: the SVG face diagram (pointer: click the entry, click or drag to the end, drag a
// selected vector's handles) and the vector table (a plain form, usable by keyboard alone).
// Every change can be undone (Ctrl+Z, Ctrl+Shift+Z or Ctrl+Y to redo), the working copy is
// kept in this browser's localStorage until it is saved (keyed by plan and revision, so a
// reload offers it back), and saving sends the whole plan with the revision it was based on:
// if someone saved in between, the server answers 409 and the page shows what differs.
//
// No inline script or style anywhere (the page's Content-Security-Policy): the data comes
// from a JSON block (json_script), styles from planner.css, and SVG colours are set as
// presentation attributes.
(function () {
  "use strict";

  var M = window.PlannerModel;
  var root = document.getElementById("planner");
  var dataNode = document.getElementById("planner-data");
  if (!root || !dataNode || !M) {
    return;
  }
  var data = JSON.parse(dataNode.textContent);

  var SVGNS = "http://www.w3.org/2000/svg";
  var UNITS = 1000; // the diagram's viewBox is 1000 × 1000
  var COLOURS = [
    "#0b5ed7", "#b02a37", "#146c43", "#6f42c1", "#8a4b00", "#087990", "#ab296a", "#495057",
  ];
  var DASHES = { subdermal: "4 12", subcutaneous: "", smas: "24 12" };
  var STORAGE_PREFIX = "threadline:planner:";
  var STORAGE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
  var UNDO_LIMIT = 200;
  var MIN_VECTOR = 0.005; // shorter than about 1 mm: a slip of the pointer, not a vector
  var DRAG_START = 0.008; // moved further than this while pressed: a drag, not a click
  var NUDGE = 0.005;

  var editable = root.getAttribute("data-editable") === "true";
  var csrf = root.getAttribute("data-csrf");
  var planId = data.plan.id;
  var maxVectors = data.limits.vectors;
  var maxCount = data.limits.count;

  var products = {};
  data.products.forEach(function (product) {
    products[product.id] = product;
  });
  function pairs(list) {
    var table = {};
    list.forEach(function (pair) {
      table[pair[0]] = pair[1];
    });
    return table;
  }
  function values(list) {
    return list.map(function (pair) {
      return pair[0];
    });
  }
  var labels = {
    area: pairs(data.areas),
    side: pairs(data.sides),
    depth: pairs(data.depths),
    view: pairs(data.views),
  };
  var choices = {
    area: values(data.areas),
    side: values(data.sides),
    depth: values(data.depths),
    view: values(data.views),
    maxCount: maxCount,
  };

  // The model: what both the diagram and the table show.
  var model = { vectors: M.accept(data.vectors, choices), notes: data.notes || "" };
  var baseRevision = data.plan.revision; // the server revision this copy started from
  var savedKey = M.planKey(model.vectors, model.notes); // the server's copy, as last seen
  var undoStack = [];
  var redoStack = [];
  var selection = {};
  var ui = { view: "front", profileSide: "right", photoByView: { front: "", profile: "" } };
  var pending = null; // an entry point waiting for its end
  var gesture = null; // the pointer is down on the background
  var drag = null; // a handle is being dragged
  var calibration = null;
  var saving = false;
  var leaving = false;
  var editBefore = null; // the model before the table control in focus changed it
  var conflict = null;
  var stored = null;
  var summary = null;

  // Elements --------------------------------------------------------------------------
  function $(selector) {
    return root.querySelector(selector);
  }
  var svg = $("[data-diagram]");
  var faceLayer = $("[data-face-layer]");
  var photoLayer = $("[data-photo-layer]");
  var vectorLayer = $("[data-vector-layer]");
  var overlayLayer = $("[data-overlay-layer]");
  var rows = $("[data-vector-rows]");
  var notesInput = $("[data-plan-notes]");
  var message = $("[data-diagram-message]");
  var saveStatus = $("[data-save-status]");
  var photoChoice = $("[data-photo-choice]");
  var photoOpacity = $("[data-photo-opacity]");
  var opacityOutput = $("[data-opacity-output]");
  var calibrationPhoto = $("[data-calibration-photo]");
  var conflictPanel = $("[data-conflict-panel]");
  var restorePanel = $("[data-restore-panel]");
  var emptyRow = document.createElement("tr");
  emptyRow.innerHTML = '<td colspan="15">No vectors yet.</td>';

  function button(action) {
    return root.querySelector('[data-action="' + action + '"]');
  }

  // Messages --------------------------------------------------------------------------
  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("is-error", Boolean(isError));
  }

  function setStatus(text, isError) {
    if (!saveStatus) {
      return;
    }
    saveStatus.textContent = text;
    saveStatus.classList.toggle("is-error", Boolean(isError));
  }

  function describe(vector, index) {
    var product = products[vector.product];
    return (
      "Vector " + (index + 1) + ": " + (labels.area[vector.area] || vector.area) + ", " +
      (labels.side[vector.side] || vector.side).toLowerCase() + ", " + vector.count + " × " +
      (product ? product.name : "unknown product") + ", " +
      Math.round(M.lengthMm(vector, data.plan.mm_per_unit)) + " mm"
    );
  }

  // History and the working copy ------------------------------------------------------
  function snapshot() {
    return JSON.stringify({ vectors: model.vectors, notes: model.notes });
  }

  function restoreSnapshot(text) {
    var state = JSON.parse(text);
    model.vectors = state.vectors;
    model.notes = state.notes;
    Object.keys(selection).forEach(function (uid) {
      if (!findVector(Number(uid))) {
        delete selection[uid];
      }
    });
  }

  function remember(before) {
    if (before === snapshot()) {
      return false;
    }
    undoStack.push(before);
    if (undoStack.length > UNDO_LIMIT) {
      undoStack.shift();
    }
    redoStack = [];
    return true;
  }

  // Change the model in one undoable step, then redraw everything.
  function edit(change) {
    flushTableEdit();
    var before = snapshot();
    change();
    if (remember(before)) {
      keepWorkingCopy();
    }
    if (editBefore !== null) {
      editBefore = snapshot(); // a table control still has the focus: its next edit starts here
    }
    renderAll();
  }

  function undo() {
    flushTableEdit();
    if (!undoStack.length) {
      return;
    }
    redoStack.push(snapshot());
    restoreSnapshot(undoStack.pop());
    afterHistory("Undone.");
  }

  function redo() {
    flushTableEdit();
    if (!redoStack.length) {
      return;
    }
    undoStack.push(snapshot());
    restoreSnapshot(redoStack.pop());
    afterHistory("Redone.");
  }

  function afterHistory(text) {
    if (editBefore !== null) {
      editBefore = snapshot();
    }
    if (notesInput) {
      notesInput.value = model.notes;
    }
    keepWorkingCopy();
    renderAll();
    say(text);
  }

  function isDirty() {
    return M.planKey(model.vectors, model.notes) !== savedKey;
  }

  function storageKey(revision) {
    return STORAGE_PREFIX + planId + ":" + revision;
  }

  function storage() {
    try {
      return window.localStorage;
    } catch (error) {
      return null; // storage disabled: saving to the server still works
    }
  }

  function forget(revision) {
    var store = storage();
    if (store) {
      store.removeItem(storageKey(revision));
    }
  }

  // Keep the working copy on this device until it is saved.
  function keepWorkingCopy() {
    var store = storage();
    if (!editable || !store) {
      return;
    }
    try {
      if (!isDirty()) {
        store.removeItem(storageKey(baseRevision));
      } else {
        store.setItem(
          storageKey(baseRevision),
          JSON.stringify({
            revision: baseRevision,
            at: Date.now(),
            vectors: model.vectors.map(M.payload),
            notes: model.notes,
          })
        );
      }
    } catch (error) {
      // Full or refused: the explicit save still works.
    }
  }

  // A working copy of this plan left on this device by an earlier visit, if it differs.
  function findStoredCopy() {
    var store = storage();
    if (!editable || !store) {
      return null;
    }
    var mine = STORAGE_PREFIX + planId + ":";
    var found = null;
    var now = Date.now();
    var names = [];
    for (var i = 0; i < store.length; i++) {
      names.push(store.key(i));
    }
    names.forEach(function (name) {
      if (!name || name.indexOf(STORAGE_PREFIX) !== 0) {
        return;
      }
      var item = null;
      try {
        item = JSON.parse(store.getItem(name));
      } catch (error) {
        item = null;
      }
      if (!item || typeof item.at !== "number" || now - item.at > STORAGE_MAX_AGE_MS) {
        store.removeItem(name); // unreadable or older than a week: clinical data, not kept
        return;
      }
      if (name.indexOf(mine) === 0 && (!found || item.at > found.item.at)) {
        found = { name: name, item: item };
      }
    });
    if (!found) {
      return null;
    }
    var vectors = M.accept(found.item.vectors, choices);
    var notes = typeof found.item.notes === "string" ? found.item.notes : "";
    if (M.planKey(vectors, notes) === savedKey || !Number.isInteger(found.item.revision)) {
      store.removeItem(found.name);
      return null;
    }
    return {
      name: found.name,
      revision: found.item.revision,
      at: found.item.at,
      vectors: vectors,
      notes: notes,
    };
  }

  function offerRestore() {
    stored = findStoredCopy();
    if (!stored || !restorePanel) {
      return;
    }
    var when = new Date(stored.at);
    var text =
      "This device kept unsaved changes to this plan from " + when.toLocaleString() + " (" +
      stored.vectors.length + " vector" + (stored.vectors.length === 1 ? "" : "s") + ").";
    if (stored.revision !== baseRevision) {
      text +=
        " The plan has been saved since then; if you restore them, saving shows what differs" +
        " before anything is replaced.";
    }
    restorePanel.querySelector("[data-restore-text]").textContent = text;
    restorePanel.hidden = false;
  }

  function restoreStored() {
    if (!stored) {
      return;
    }
    var copy = stored;
    stored = null;
    restorePanel.hidden = true;
    edit(function () {
      model.vectors = copy.vectors;
      model.notes = copy.notes;
    });
    baseRevision = copy.revision;
    if (notesInput) {
      notesInput.value = model.notes;
    }
    keepWorkingCopy();
    setStatus("Restored your unsaved changes: save them to keep them.");
    say("Restored " + copy.vectors.length + " vectors. Undo goes back to the saved plan.");
  }

  function discardStored() {
    var store = storage();
    if (store && stored) {
      store.removeItem(stored.name);
    }
    stored = null;
    restorePanel.hidden = true;
    say("Discarded the unsaved changes kept on this device.");
  }

  // Selection -------------------------------------------------------------------------
  function findVector(uid) {
    for (var i = 0; i < model.vectors.length; i++) {
      if (model.vectors[i].uid === uid) {
        return model.vectors[i];
      }
    }
    return null;
  }

  function selectedVectors() {
    return model.vectors.filter(function (vector) {
      return selection[vector.uid];
    });
  }

  function selectOnly(vectors) {
    selection = {};
    vectors.forEach(function (vector) {
      selection[vector.uid] = true;
    });
  }

  function visible(vector) {
    if (vector.view !== ui.view) {
      return false;
    }
    if (ui.view === "front" || ui.profileSide === "both") {
      return true;
    }
    return vector.side === ui.profileSide || vector.side === "midline";
  }

  // Operations ------------------------------------------------------------------------
  function defaults() {
    var checked = root.querySelector('[data-default="product"]:checked');
    var count = Number((root.querySelector('[data-default="count"]') || {}).value);
    return {
      product: checked ? Number(checked.value) : null,
      area: (root.querySelector('[data-default="area"]') || {}).value || "midface",
      side: (root.querySelector('[data-default="side"]') || {}).value || "auto",
      depth: (root.querySelector('[data-default="depth"]') || {}).value || "subcutaneous",
      count: Number.isInteger(count) && count >= 1 && count <= maxCount ? count : 1,
    };
  }

  function roomFor(extra) {
    if (model.vectors.length + extra > maxVectors) {
      say("A plan holds at most " + maxVectors + " vectors.", true);
      return false;
    }
    return true;
  }

  function addVector(entry, end) {
    var chosen = defaults();
    if (chosen.product === null) {
      say("Choose a product for the new vector first.", true);
      return;
    }
    if (!roomFor(1)) {
      return;
    }
    var side = chosen.side;
    if (side === "auto") {
      if (ui.view === "front") {
        side = M.guessSide(entry, end);
      } else {
        side = ui.profileSide === "both" ? "right" : ui.profileSide;
      }
    }
    var vector = M.withUid({
      area: chosen.area,
      side: side,
      product: chosen.product,
      count: chosen.count,
      view: ui.view,
      entry: entry,
      end: end,
      depth: chosen.depth,
      notes: "",
    });
    edit(function () {
      model.vectors.push(vector);
    });
    say("Added " + describe(vector, model.vectors.length - 1) + ".");
  }

  function addVectorFromKeyboard() {
    var chosen = defaults();
    if (chosen.product === null) {
      say("Choose a product for the new vector first.", true);
      return;
    }
    if (!roomFor(1)) {
      return;
    }
    var side = chosen.side === "auto" ? "right" : chosen.side;
    var entry = [0.33, 0.55];
    var end = [0.24, 0.42];
    if (side === "midline") {
      entry = [0.5, 0.78];
      end = [0.5, 0.9];
    } else if (side === "left" && ui.view === "front") {
      entry = [0.67, 0.55];
      end = [0.76, 0.42];
    }
    var vector = M.withUid({
      area: chosen.area,
      side: side,
      product: chosen.product,
      count: chosen.count,
      view: ui.view,
      entry: entry,
      end: end,
      depth: chosen.depth,
      notes: "",
    });
    edit(function () {
      model.vectors.push(vector);
      selectOnly([vector]);
    });
    say("Added " + describe(vector, model.vectors.length - 1) + ": set its points in the table.");
    var row = rowByUid[vector.uid];
    if (row) {
      row.querySelector('[data-field="view"]').focus();
    }
  }

  function mirrorSelected() {
    var chosen = selectedVectors();
    if (!chosen.length) {
      say("Select the vectors to mirror first.", true);
      return;
    }
    var existing = {};
    model.vectors.forEach(function (vector) {
      existing[M.key(vector)] = true;
    });
    var midline = 0;
    var already = 0;
    var copies = [];
    chosen.forEach(function (vector) {
      var copy = M.mirrored(vector);
      if (!copy) {
        midline += 1;
      } else if (existing[M.key(copy)]) {
        already += 1;
      } else {
        existing[M.key(copy)] = true;
        copies.push(copy);
      }
    });
    if (!copies.length) {
      say("Nothing to mirror: the selected vectors are on the midline or already mirrored.", true);
      return;
    }
    if (!roomFor(copies.length)) {
      return;
    }
    edit(function () {
      model.vectors = model.vectors.concat(copies);
      selectOnly(copies);
    });
    var text = "Mirrored " + copies.length + " vector" + (copies.length === 1 ? "" : "s") +
      " to the other side; the copies are selected.";
    if (midline) {
      text += " " + midline + " on the midline stayed as they are.";
    }
    if (already) {
      text += " " + already + " already had a mirror image.";
    }
    say(text);
  }

  function deleteVectors(uids) {
    if (!uids.length) {
      return;
    }
    var gone = {};
    uids.forEach(function (uid) {
      gone[uid] = true;
    });
    edit(function () {
      model.vectors = model.vectors.filter(function (vector) {
        return !gone[vector.uid];
      });
      uids.forEach(function (uid) {
        delete selection[uid];
      });
    });
    say(
      "Deleted " + uids.length + " vector" + (uids.length === 1 ? "" : "s") +
        ". Undo (Ctrl+Z) brings " + (uids.length === 1 ? "it" : "them") + " back."
    );
  }

  function deleteSelected() {
    deleteVectors(
      selectedVectors().map(function (vector) {
        return vector.uid;
      })
    );
  }

  function nudgeSelected(dx, dy) {
    var chosen = selectedVectors();
    if (!chosen.length) {
      return false;
    }
    edit(function () {
      chosen.forEach(function (vector) {
        vector.entry = M.point(vector.entry[0] + dx, vector.entry[1] + dy);
        vector.end = M.point(vector.end[0] + dx, vector.end[1] + dy);
      });
    });
    return true;
  }

  function applyPreset() {
    var select = root.querySelector("[data-preset-choice]");
    var preset = null;
    data.presets.forEach(function (item) {
      if (String(item.id) === select.value) {
        preset = item;
      }
    });
    if (!preset) {
      return;
    }
    var vectors = M.accept(preset.vectors, choices).filter(function (vector) {
      return products[vector.product] && products[vector.product].active;
    });
    if (!vectors.length) {
      say("The preset “" + preset.name + "” has no vectors that can be used.", true);
      return;
    }
    if (!roomFor(vectors.length)) {
      return;
    }
    edit(function () {
      model.vectors = model.vectors.concat(vectors);
      selectOnly(vectors);
    });
    if (!vectors.some(visible)) {
      setView(vectors[0].view);
    }
    var text = "Added the preset “" + preset.name + "”: " + vectors.length + " vectors, selected.";
    if (preset.left_out) {
      text += " " + preset.left_out + " of its vectors were left out (a product no longer in " +
        "use, or incomplete).";
    }
    say(text);
  }

  // The diagram -----------------------------------------------------------------------
  function svgElement(name, attributes) {
    var element = document.createElementNS(SVGNS, name);
    Object.keys(attributes || {}).forEach(function (attribute) {
      element.setAttribute(attribute, attributes[attribute]);
    });
    return element;
  }

  function clear(element) {
    while (element.firstChild) {
      element.removeChild(element.firstChild);
    }
  }

  function colourOf(productId) {
    var product = products[productId];
    return COLOURS[product ? product.colour % COLOURS.length : COLOURS.length - 1];
  }

  function scaled(point) {
    return [point[0] * UNITS, point[1] * UNITS];
  }

  function renderDiagram() {
    clear(vectorLayer);
    var handles = [];
    model.vectors.forEach(function (vector, index) {
      if (!visible(vector)) {
        return;
      }
      var a = scaled(vector.entry);
      var b = scaled(vector.end);
      var colour = colourOf(vector.product);
      var warning = summary && summary.vectorWarnings[index];
      var group = svgElement("g", {
        class:
          "vector" + (selection[vector.uid] ? " is-selected" : "") + (warning ? " has-warning" : ""),
        "data-uid": vector.uid,
      });
      var title = svgElement("title");
      title.textContent = describe(vector, index) + (warning ? ". " + warning : "");
      group.appendChild(title);
      var line = { x1: a[0], y1: a[1], x2: b[0], y2: b[1] };
      group.appendChild(svgElement("line", Object.assign({ class: "vector-halo" }, line)));
      var stroke = svgElement("line", Object.assign({ class: "vector-line", stroke: colour }, line));
      if (DASHES[vector.depth]) {
        stroke.setAttribute("stroke-dasharray", DASHES[vector.depth]);
      }
      group.appendChild(stroke);
      group.appendChild(svgElement("circle", { cx: a[0], cy: a[1], r: 9, fill: colour }));
      var dx = b[0] - a[0];
      var dy = b[1] - a[1];
      var length = Math.sqrt(dx * dx + dy * dy);
      if (length > 1) {
        var ux = dx / length;
        var uy = dy / length;
        var head = Math.min(26, length / 2);
        var baseX = b[0] - ux * head;
        var baseY = b[1] - uy * head;
        group.appendChild(
          svgElement("polygon", {
            class: "vector-head",
            fill: colour,
            points: [
              b[0] + "," + b[1],
              baseX - uy * 11 + "," + (baseY + ux * 11),
              baseX + uy * 11 + "," + (baseY - ux * 11),
            ].join(" "),
          })
        );
        var label = svgElement("text", {
          class: "vector-count",
          x: (a[0] + b[0]) / 2 - uy * 26,
          y: (a[1] + b[1]) / 2 + ux * 26 + 10,
          "text-anchor": "middle",
          fill: colour,
        });
        label.textContent = "×" + vector.count;
        group.appendChild(label);
      }
      group.appendChild(svgElement("line", Object.assign({ class: "vector-hit" }, line)));
      vectorLayer.appendChild(group);
      if (editable && selection[vector.uid]) {
        handles.push([vector, "entry", a], [vector, "end", b]);
      }
    });
    handles.forEach(function (handle) {
      var circle = svgElement("circle", {
        class: "handle",
        cx: handle[2][0],
        cy: handle[2][1],
        r: 16,
        "data-uid": handle[0].uid,
        "data-end": handle[1],
      });
      var title = svgElement("title");
      title.textContent = "Drag to move the " + (handle[1] === "entry" ? "entry point" : "end point");
      circle.appendChild(title);
      vectorLayer.appendChild(circle);
    });
    renderOverlay();
  }

  function renderOverlay() {
    clear(overlayLayer);
    var start = pending || (gesture && gesture.moved ? gesture.start : null);
    if (start) {
      var a = scaled(start);
      overlayLayer.appendChild(svgElement("circle", { class: "pending-entry", cx: a[0], cy: a[1], r: 10 }));
      if (gesture && gesture.current) {
        var b = scaled(gesture.current);
        overlayLayer.appendChild(
          svgElement("line", { class: "preview-line", x1: a[0], y1: a[1], x2: b[0], y2: b[1] })
        );
      }
    }
    if (calibration) {
      calibration.points.forEach(function (point) {
        var p = scaled(point);
        overlayLayer.appendChild(svgElement("circle", { class: "pupil-mark", cx: p[0], cy: p[1], r: 18 }));
      });
    }
  }

  function toDiagram(event) {
    var matrix = svg.getScreenCTM();
    if (!matrix) {
      return null;
    }
    var p = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return M.point(p.x / UNITS, p.y / UNITS);
  }

  function vectorUidAt(target) {
    var group = target.closest ? target.closest(".vector") : null;
    return group ? Number(group.getAttribute("data-uid")) : null;
  }

  function onPointerDown(event) {
    if (event.button !== 0) {
      return;
    }
    var point = toDiagram(event);
    if (!point) {
      return;
    }
    if (document.activeElement !== svg) {
      svg.focus({ preventScroll: true }); // so Delete, Escape and the arrow keys reach it
    }
    if (calibration) {
      event.preventDefault();
      calibrationClick(point);
      return;
    }
    var handle = event.target.closest ? event.target.closest(".handle") : null;
    if (handle && editable) {
      var vector = findVector(Number(handle.getAttribute("data-uid")));
      if (vector) {
        flushTableEdit();
        drag = { vector: vector, end: handle.getAttribute("data-end"), before: snapshot() };
        svg.setPointerCapture(event.pointerId);
        event.preventDefault();
      }
      return;
    }
    var uid = vectorUidAt(event.target);
    if (uid !== null) {
      if (event.shiftKey || event.ctrlKey || event.metaKey) {
        if (selection[uid]) {
          delete selection[uid];
        } else {
          selection[uid] = true;
        }
      } else {
        selection = {};
        selection[uid] = true;
      }
      var index = model.vectors.indexOf(findVector(uid));
      renderAll();
      say("Selected " + describe(model.vectors[index], index) + ".");
      return;
    }
    if (!editable) {
      return;
    }
    if (!pending && selectedVectors().length) {
      selection = {};
      renderAll();
      say("Selection cleared.");
      return;
    }
    gesture = { start: point, current: point, moved: false };
    svg.setPointerCapture(event.pointerId);
    event.preventDefault();
    renderOverlay();
  }

  function onPointerMove(event) {
    if (!drag && !gesture) {
      return;
    }
    var point = toDiagram(event);
    if (!point) {
      return;
    }
    if (drag) {
      drag.vector[drag.end] = point;
      drag.moved = true;
      renderSummary();
      renderDiagram();
      renderTable();
      return;
    }
    gesture.current = point;
    if (M.distance(gesture.start, point) > DRAG_START) {
      gesture.moved = true;
    }
    renderOverlay();
  }

  function onPointerUp(event) {
    if (drag) {
      var finished = drag;
      drag = null;
      if (remember(finished.before)) {
        keepWorkingCopy();
        var index = model.vectors.indexOf(finished.vector);
        say("Moved the " + (finished.end === "entry" ? "entry" : "end") + " of " +
          describe(finished.vector, index) + ".");
      }
      renderAll();
      return;
    }
    if (!gesture) {
      return;
    }
    var point = toDiagram(event) || gesture.current;
    var started = gesture;
    gesture = null;
    if (pending) {
      var entry = pending;
      pending = null;
      if (M.distance(entry, point) < MIN_VECTOR) {
        say("That is where the vector starts: click where it ends (Escape cancels).");
        pending = entry;
      } else {
        addVector(entry, point);
      }
    } else if (started.moved && M.distance(started.start, point) >= MIN_VECTOR) {
      addVector(started.start, point);
    } else {
      pending = started.start;
      say("Entry point set: now click where the threads end (Escape cancels).");
    }
    renderOverlay();
  }

  function onPointerCancel() {
    if (drag) {
      restoreSnapshot(drag.before);
      drag = null;
      renderAll();
    }
    gesture = null;
    renderOverlay();
  }

  function cancel() {
    if (calibration) {
      calibration = null;
      say("Calibration cancelled.");
    } else if (pending || gesture) {
      pending = null;
      gesture = null;
      say("New vector cancelled.");
    } else if (selectedVectors().length) {
      selection = {};
      say("Selection cleared.");
      renderAll();
    }
    renderOverlay();
  }

  function onDiagramKey(event) {
    if (event.key === "Escape") {
      cancel();
      event.preventDefault();
      return;
    }
    if (!editable) {
      return;
    }
    if (event.key === "Delete" || event.key === "Backspace") {
      deleteSelected();
      event.preventDefault();
      return;
    }
    var step = event.shiftKey ? NUDGE * 4 : NUDGE;
    var moves = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    if (moves[event.key] && nudgeSelected(moves[event.key][0], moves[event.key][1])) {
      event.preventDefault();
    }
  }

  // View and photo ----------------------------------------------------------------------
  function photosForView() {
    return data.photos.filter(function (photo) {
      return ui.view === "front"
        ? photo.view === "frontal"
        : photo.view === "left_profile" || photo.view === "right_profile";
    });
  }

  function fillPhotoChoice() {
    if (!photoChoice) {
      return;
    }
    var photos = photosForView();
    var wanted = ui.photoByView[ui.view];
    while (photoChoice.options.length > 1) {
      photoChoice.remove(1);
    }
    photos.forEach(function (photo) {
      var option = document.createElement("option");
      option.value = String(photo.id);
      option.textContent = photo.label;
      photoChoice.appendChild(option);
    });
    photoChoice.value = photos.some(function (p) { return String(p.id) === wanted; }) ? wanted : "";
    photoChoice.disabled = !photos.length;
    showPhoto();
  }

  function showPhoto() {
    var chosen = photoChoice ? photoChoice.value : "";
    var photo = null;
    data.photos.forEach(function (item) {
      if (String(item.id) === chosen) {
        photo = item;
      }
    });
    var only = root.querySelector("[data-photo-only]");
    if (!photo) {
      photoLayer.setAttribute("visibility", "hidden");
      photoLayer.removeAttribute("href");
      if (only) {
        only.hidden = true;
      }
      return;
    }
    photoLayer.setAttribute("href", photo.url);
    photoLayer.setAttribute("visibility", "visible");
    photoLayer.setAttribute("opacity", String(Number(photoOpacity.value) / 100));
    // The profile drawing faces right: a left profile photo is shown mirrored to match it.
    if (photo.view === "left_profile") {
      photoLayer.setAttribute("transform", "translate(1000 0) scale(-1 1)");
    } else {
      photoLayer.removeAttribute("transform");
    }
    if (only) {
      only.hidden = false;
    }
  }

  function setView(view) {
    ui.view = view === "profile" ? "profile" : "front";
    pending = null;
    gesture = null;
    root.querySelectorAll("[data-view-choice]").forEach(function (radio) {
      radio.checked = radio.value === ui.view;
    });
    faceLayer.setAttribute(
      "href",
      root.getAttribute(ui.view === "front" ? "data-face-front" : "data-face-profile")
    );
    var profileOnly = root.querySelector("[data-profile-only]");
    if (profileOnly) {
      profileOnly.hidden = ui.view !== "profile";
    }
    fillPhotoChoice();
    renderDiagram();
  }

  // Calibration ----------------------------------------------------------------------
  function startCalibration() {
    if (!calibrationPhoto || !calibrationPhoto.value) {
      say("Choose a frontal photo to calibrate on.", true);
      return;
    }
    setView("front");
    ui.photoByView.front = calibrationPhoto.value;
    fillPhotoChoice();
    if (Number(photoOpacity.value) < 50) {
      photoOpacity.value = "80";
      updateOpacity();
    }
    calibration = { photo: Number(calibrationPhoto.value), points: [] };
    pending = null;
    svg.focus();
    say("Click the centre of the patient's right pupil (on your left). Escape cancels.");
    renderOverlay();
  }

  function calibrationClick(point) {
    calibration.points.push(point);
    renderOverlay();
    if (calibration.points.length === 1) {
      say("Now click the centre of the patient's left pupil (on your right).");
      return;
    }
    var sent = calibration;
    post(data.urls.calibrate, {
      photo: sent.photo,
      right_pupil: sent.points[0],
      left_pupil: sent.points[1],
    })
      .then(function (result) {
        if (result.status === 200) {
          data.plan.mm_per_unit = result.body.mm_per_unit;
          var text = "Calibrated on a frontal photo: " + Math.round(result.body.mm_per_unit) +
            " mm per diagram height.";
          var scaleText = root.querySelector("[data-scale-text]");
          if (scaleText) {
            scaleText.textContent = text;
          }
          say(text + " Lengths are measured on this scale now.");
          renderAll();
        } else {
          say("Not calibrated: " + (result.body.error || "the server refused the points."), true);
        }
      })
      .catch(function (error) {
        say("Not calibrated: " + error.message, true);
      })
      .then(function () {
        calibration = null;
        renderOverlay();
      });
  }

  // The table -------------------------------------------------------------------------
  var rowByUid = {};
  var FIELDS = [
    "view", "area", "side", "product", "count", "depth", "entry-x", "entry-y", "end-x", "end-y",
  ];
  var FIELD_NAMES = {
    selected: "selected",
    view: "view",
    area: "area",
    side: "side",
    product: "product",
    count: "threads",
    depth: "depth",
    "entry-x": "entry x",
    "entry-y": "entry y",
    "end-x": "end x",
    "end-y": "end y",
    notes: "technique notes",
  };

  function selectControl(field, options) {
    var select = document.createElement("select");
    select.className = "form-select form-select-sm";
    select.setAttribute("data-field", field);
    options.forEach(function (option) {
      var element = document.createElement("option");
      element.value = String(option[0]);
      element.textContent = option[1];
      if (option[2]) {
        element.disabled = true;
      }
      select.appendChild(element);
    });
    return select;
  }

  function numberControl(field, min, max, step) {
    var input = document.createElement("input");
    input.type = "number";
    input.className = "form-control form-control-sm";
    input.min = String(min);
    input.max = String(max);
    input.step = String(step);
    input.setAttribute("data-field", field);
    input.setAttribute("inputmode", "decimal");
    return input;
  }

  function cell(row, content, tag) {
    var td = document.createElement(tag || "td");
    if (content) {
      td.appendChild(content);
    }
    row.appendChild(td);
    return td;
  }

  function buildRow(vector) {
    var row = document.createElement("tr");
    row.setAttribute("data-uid", String(vector.uid));
    var box = document.createElement("input");
    box.type = "checkbox";
    box.className = "form-check-input";
    box.setAttribute("data-field", "selected");
    cell(row, box);
    var number = cell(row, null, "th");
    number.setAttribute("scope", "row");
    number.setAttribute("data-cell", "number");
    cell(row, selectControl("view", data.views));
    cell(row, selectControl("area", data.areas));
    cell(row, selectControl("side", data.sides));
    cell(
      row,
      selectControl(
        "product",
        data.products.map(function (product) {
          return [
            product.id,
            product.name + (product.active ? "" : " (no longer in use)"),
            !product.active,
          ];
        })
      )
    );
    var count = numberControl("count", 1, maxCount, 1);
    count.setAttribute("inputmode", "numeric");
    cell(row, count);
    cell(row, selectControl("depth", data.depths));
    ["entry-x", "entry-y", "end-x", "end-y"].forEach(function (field) {
      cell(row, numberControl(field, 0, 1, 0.01));
    });
    var length = cell(row);
    length.setAttribute("data-cell", "length");
    var notes = document.createElement("input");
    notes.type = "text";
    notes.className = "form-control form-control-sm";
    notes.maxLength = 300;
    notes.setAttribute("data-field", "notes");
    cell(row, notes);
    if (editable) {
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-outline-danger btn-sm";
      remove.textContent = "Delete";
      remove.setAttribute("data-row-action", "delete");
      cell(row, remove);
    }
    row.querySelectorAll("[data-field]").forEach(function (control) {
      if (!editable && control.getAttribute("data-field") !== "selected") {
        control.disabled = true;
      }
    });
    return row;
  }

  function fieldValue(vector, field) {
    switch (field) {
      case "entry-x":
        return String(vector.entry[0]);
      case "entry-y":
        return String(vector.entry[1]);
      case "end-x":
        return String(vector.end[0]);
      case "end-y":
        return String(vector.end[1]);
      default:
        return String(vector[field]);
    }
  }

  function updateRow(row, vector, index) {
    var position = index + 1;
    row.querySelector('[data-cell="number"]').textContent = String(position);
    row.classList.toggle("is-selected", Boolean(selection[vector.uid]));
    row.querySelectorAll("[data-field]").forEach(function (control) {
      var field = control.getAttribute("data-field");
      control.setAttribute("aria-label", "Vector " + position + " " + FIELD_NAMES[field]);
      if (field === "selected") {
        control.checked = Boolean(selection[vector.uid]);
        return;
      }
      if (control === document.activeElement) {
        return; // never change what someone is typing
      }
      var value = field === "notes" ? vector.notes : fieldValue(vector, field);
      if (control.value !== value) {
        control.value = value;
      }
      control.classList.remove("is-invalid");
      control.removeAttribute("aria-invalid");
    });
    var deleteButton = row.querySelector('[data-row-action="delete"]');
    if (deleteButton) {
      deleteButton.setAttribute("aria-label", "Delete vector " + position);
    }
    updateDerived(row, index);
  }

  function updateDerived(row, index) {
    var length = row.querySelector('[data-cell="length"]');
    var warning = summary ? summary.vectorWarnings[index] : "";
    length.textContent = "";
    var mm = document.createElement("span");
    mm.textContent = Math.round(summary ? summary.lengths[index] : 0) + " mm";
    length.appendChild(mm);
    if (warning) {
      var note = document.createElement("div");
      note.className = "small vector-warning";
      note.textContent = warning;
      length.appendChild(note);
    }
  }

  function renderTable() {
    if (model.vectors.length) {
      if (emptyRow.parentNode) {
        emptyRow.parentNode.removeChild(emptyRow);
      }
    } else if (!emptyRow.parentNode) {
      rows.appendChild(emptyRow);
    }
    var seen = {};
    model.vectors.forEach(function (vector, index) {
      var row = rowByUid[vector.uid];
      if (!row) {
        row = buildRow(vector);
        rowByUid[vector.uid] = row;
      }
      seen[vector.uid] = true;
      updateRow(row, vector, index);
      if (rows.children[index] !== row) {
        rows.insertBefore(row, rows.children[index] || null);
      }
    });
    Object.keys(rowByUid).forEach(function (uid) {
      if (!seen[uid]) {
        var row = rowByUid[uid];
        if (row.parentNode) {
          row.parentNode.removeChild(row);
        }
        delete rowByUid[uid];
      }
    });
  }

  // A table control changed: apply it to the model (commit: it is an undo step).
  function applyControl(control, commit) {
    var row = control.closest("tr");
    var vector = row ? findVector(Number(row.getAttribute("data-uid"))) : null;
    if (!vector) {
      return;
    }
    var field = control.getAttribute("data-field");
    var index = model.vectors.indexOf(vector);
    if (field === "selected") {
      if (control.checked) {
        selection[vector.uid] = true;
      } else {
        delete selection[vector.uid];
      }
      row.classList.toggle("is-selected", control.checked);
      renderDiagram();
      updateButtons();
      return;
    }
    if (!editable) {
      return;
    }
    if (editBefore === null) {
      editBefore = snapshot(); // changed without taking the focus first (assistive tools do)
    }
    var value = control.value;
    var problem = "";
    var number = Number(value);
    if (field === "count") {
      if (value === "" || !Number.isInteger(number) || number < 1 || number > maxCount) {
        problem = "threads must be a whole number from 1 to " + maxCount + ".";
      } else {
        vector.count = number;
      }
    } else if (/^(entry|end)-(x|y)$/.test(field)) {
      if (value === "" || !isFinite(number) || number < 0 || number > 1) {
        problem = FIELD_NAMES[field] + " must be a number from 0 to 1.";
      } else {
        var parts = field.split("-");
        vector[parts[0]][parts[1] === "x" ? 0 : 1] = M.round(number);
      }
    } else if (field === "product") {
      vector.product = Number(value);
    } else if (field === "notes") {
      vector.notes = value;
    } else {
      vector[field] = value;
    }
    control.classList.toggle("is-invalid", Boolean(problem));
    if (problem) {
      control.setAttribute("aria-invalid", "true");
      if (commit) {
        say(
          "Vector " + (index + 1) + ": " + problem + " It keeps its last valid value until " +
            "this is corrected.",
          true
        );
      }
      return;
    }
    control.removeAttribute("aria-invalid");
    renderSummary();
    renderDiagram();
    updateDerived(row, index);
    if (commit) {
      if (control.type === "number") {
        control.value = fieldValue(vector, field);
      }
      commitTableEdit();
    }
    keepWorkingCopy();
    updateDirty();
  }

  function commitTableEdit() {
    if (editBefore !== null && remember(editBefore)) {
      keepWorkingCopy();
    }
    editBefore = snapshot();
    updateButtons();
  }

  function flushTableEdit() {
    if (editBefore !== null) {
      commitTableEdit();
    }
  }

  // Summary ------------------------------------------------------------------------------
  function fillList(selector, items, empty) {
    var list = root.querySelector(selector);
    if (!list) {
      return;
    }
    clear(list);
    if (!items.length && empty) {
      var none = document.createElement("li");
      none.className = "text-body-secondary";
      none.textContent = empty;
      list.appendChild(none);
    }
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = Array.isArray(item) ? item[0] + ": " + item[1] : item;
      list.appendChild(li);
    });
  }

  function renderSummary() {
    summary = M.summarise(model.vectors, {
      products: products,
      labels: labels,
      mmPerUnit: data.plan.mm_per_unit,
      shortShare: data.short_share,
      location: data.plan.location,
    });
    var total = root.querySelector("[data-summary-total]");
    var cost = root.querySelector("[data-summary-cost]");
    total.textContent = String(summary.total);
    root.querySelector("[data-summary-total-word]").textContent =
      summary.total === 1 ? "thread" : "threads";
    cost.textContent = summary.costText;
    fillList("[data-summary-area]", summary.byArea);
    fillList("[data-summary-side]", summary.bySide);
    fillList("[data-summary-product]", summary.byProduct);
    fillList("[data-summary-warnings]", summary.warnings.concat(summary.stockWarnings), "None.");
  }

  // Rendering everything -------------------------------------------------------------
  function updateButtons() {
    var any = selectedVectors().length > 0;
    var pairs = [
      ["undo", !undoStack.length],
      ["redo", !redoStack.length],
      ["mirror", !any],
      ["delete-selected", !any],
    ];
    pairs.forEach(function (pair) {
      var element = button(pair[0]);
      if (element) {
        element.disabled = pair[1];
      }
    });
  }

  function updateDirty() {
    if (!editable || saving) {
      return;
    }
    if (isDirty()) {
      setStatus("Unsaved changes.");
    } else if (saveStatus && saveStatus.textContent === "Unsaved changes.") {
      setStatus("");
    }
  }

  function renderAll() {
    renderSummary();
    renderDiagram();
    renderTable();
    updateButtons();
    updateDirty();
  }

  // Saving ----------------------------------------------------------------------------
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrf,
      },
      body: JSON.stringify(body),
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") < 0) {
        throw new Error(
          response.redirected
            ? "your session has ended. Sign in again in another tab, then try again; your " +
                "changes are kept on this device."
            : "the server answered " + response.status + "."
        );
      }
      return response.json().then(function (json) {
        return { status: response.status, body: json };
      });
    });
  }

  function timeNow() {
    return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function save() {
    if (!editable || saving) {
      return Promise.resolve(false);
    }
    flushTableEdit();
    var invalid = root.querySelector("[data-vector-rows] .is-invalid");
    if (invalid) {
      setStatus("Not saved: correct the highlighted field first.", true);
      invalid.focus();
      return Promise.resolve(false);
    }
    saving = true;
    var saveButton = button("save");
    saveButton.disabled = true;
    setStatus("Saving…");
    var sentKey = M.planKey(model.vectors, model.notes);
    var sentFrom = baseRevision;
    return post(data.urls.save, {
      revision: baseRevision,
      vectors: model.vectors.map(M.payload),
      notes: model.notes,
    })
      .then(function (result) {
        if (result.status === 200) {
          forget(sentFrom);
          baseRevision = result.body.revision;
          savedKey = sentKey;
          hideConflict();
          var warnings = result.body.warnings.length;
          setStatus(
            "Saved at " + timeNow() + " (revision " + baseRevision + ")" +
              (warnings ? ", with " + warnings + " warning" + (warnings === 1 ? "" : "s") : "") +
              "."
          );
          return true;
        }
        if (result.status === 409) {
          showConflict(result.body);
          setStatus("Not saved: someone else saved this plan first.", true);
          return false;
        }
        setStatus("Not saved: " + (result.body.error || "the server refused the plan."), true);
        return false;
      })
      .catch(function (error) {
        setStatus("Not saved: " + error.message, true);
        return false;
      })
      .then(function (ok) {
        saving = false;
        saveButton.disabled = false;
        keepWorkingCopy();
        if (ok) {
          updateDirty();
        }
        return ok;
      });
  }

  function showConflict(body) {
    conflict = body;
    var theirs = M.accept(body.vectors, choices);
    conflictPanel.querySelector("[data-conflict-text]").textContent =
      "Your copy started from revision " + baseRevision + "; the server now has revision " +
      body.revision + ". Nothing was overwritten.";
    var list = conflictPanel.querySelector("[data-conflict-diff]");
    clear(list);
    M.differences(model.vectors, theirs, model.notes, body.notes).forEach(function (line) {
      var li = document.createElement("li");
      li.textContent = line;
      list.appendChild(li);
    });
    conflictPanel.hidden = false;
    conflictPanel.setAttribute("tabindex", "-1");
    conflictPanel.focus();
  }

  function hideConflict() {
    conflict = null;
    conflictPanel.hidden = true;
  }

  function loadServerVersion() {
    if (!conflict) {
      return;
    }
    var theirs = conflict;
    var vectors = M.accept(theirs.vectors, choices);
    forget(baseRevision);
    edit(function () {
      model.vectors = vectors;
      model.notes = theirs.notes || "";
      selection = {};
    });
    baseRevision = theirs.revision;
    savedKey = M.planKey(model.vectors, model.notes);
    if (notesInput) {
      notesInput.value = model.notes;
    }
    hideConflict();
    keepWorkingCopy();
    updateDirty();
    setStatus("Loaded the server's version (revision " + baseRevision + ").");
    say("Loaded the server's version. Undo (Ctrl+Z) brings yours back.");
  }

  function keepEditing() {
    hideConflict();
    setStatus("Your version is not saved: saving again compares it with the server's again.");
  }

  function overwrite() {
    if (!conflict) {
      return;
    }
    forget(baseRevision);
    baseRevision = conflict.revision;
    hideConflict();
    save();
  }

  // Wiring ---------------------------------------------------------------------------
  function updateOpacity() {
    if (opacityOutput) {
      opacityOutput.textContent = photoOpacity.value + "%";
    }
    photoLayer.setAttribute("opacity", String(Number(photoOpacity.value) / 100));
  }

  function isTextEntry(element) {
    if (!element || !element.tagName) {
      return false;
    }
    var tag = element.tagName.toLowerCase();
    return tag === "textarea" || (tag === "input" && /^(text|search)$/.test(element.type));
  }

  var ACTIONS = {
    undo: undo,
    redo: redo,
    "select-all": function () {
      var shown = model.vectors.filter(visible);
      selectOnly(shown);
      renderAll();
      say("Selected the " + shown.length + " vectors on this view.");
    },
    "select-none": function () {
      selection = {};
      renderAll();
      say("Selection cleared.");
    },
    mirror: mirrorSelected,
    "delete-selected": deleteSelected,
    "add-vector": addVectorFromKeyboard,
    "apply-preset": applyPreset,
    calibrate: startCalibration,
    save: save,
    restore: restoreStored,
    "discard-restore": discardStored,
    "load-server": loadServerVersion,
    "keep-editing": keepEditing,
    overwrite: overwrite,
  };

  root.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-action]") : null;
    if (target && ACTIONS[target.getAttribute("data-action")] && !target.disabled) {
      event.preventDefault();
      ACTIONS[target.getAttribute("data-action")]();
    }
  });

  rows.addEventListener("click", function (event) {
    var remove = event.target.closest('[data-row-action="delete"]');
    if (remove) {
      var row = remove.closest("tr");
      deleteVectors([Number(row.getAttribute("data-uid"))]);
    }
  });
  rows.addEventListener("focusin", function (event) {
    if (event.target.getAttribute("data-field") && editBefore === null) {
      editBefore = snapshot();
    }
  });
  rows.addEventListener("focusout", function (event) {
    if (event.target.getAttribute("data-field")) {
      flushTableEdit();
      editBefore = null;
      // A value typed with more decimals than kept shows as stored once left.
      renderTable();
    }
  });
  rows.addEventListener("input", function (event) {
    if (event.target.getAttribute("data-field")) {
      applyControl(event.target, false);
    }
  });
  rows.addEventListener("change", function (event) {
    if (event.target.getAttribute("data-field")) {
      applyControl(event.target, true);
    }
  });

  if (notesInput && editable) {
    notesInput.addEventListener("focus", function () {
      editBefore = snapshot();
    });
    notesInput.addEventListener("input", function () {
      model.notes = notesInput.value;
      keepWorkingCopy();
      updateDirty();
    });
    notesInput.addEventListener("change", commitTableEdit);
    notesInput.addEventListener("blur", function () {
      flushTableEdit();
      editBefore = null;
    });
  }

  root.querySelectorAll("[data-view-choice]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked) {
        setView(radio.value);
      }
    });
  });
  var profileSide = root.querySelector("[data-profile-side]");
  if (profileSide) {
    profileSide.addEventListener("change", function () {
      ui.profileSide = profileSide.value;
      renderDiagram();
    });
  }
  if (photoChoice) {
    photoChoice.addEventListener("change", function () {
      ui.photoByView[ui.view] = photoChoice.value;
      showPhoto();
    });
  }
  if (photoOpacity) {
    photoOpacity.addEventListener("input", updateOpacity);
  }
  if (calibrationPhoto) {
    data.photos
      .filter(function (photo) {
        return photo.view === "frontal";
      })
      .forEach(function (photo) {
        var option = document.createElement("option");
        option.value = String(photo.id);
        option.textContent = photo.label;
        option.selected = photo.id === data.plan.calibration_photo;
        calibrationPhoto.appendChild(option);
      });
  }

  svg.addEventListener("pointerdown", onPointerDown);
  svg.addEventListener("pointermove", onPointerMove);
  svg.addEventListener("pointerup", onPointerUp);
  svg.addEventListener("pointercancel", onPointerCancel);
  svg.addEventListener("keydown", onDiagramKey);
  svg.classList.toggle("is-read-only", !editable);

  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) {
      return;
    }
    var key = event.key.toLowerCase();
    if (key === "s" && editable) {
      event.preventDefault();
      save();
      return;
    }
    if (!editable || isTextEntry(event.target)) {
      return; // text fields keep their own undo
    }
    if (key === "z" && !event.shiftKey) {
      event.preventDefault();
      undo();
    } else if ((key === "z" && event.shiftKey) || key === "y") {
      event.preventDefault();
      redo();
    }
  });

  // Status buttons save unsaved changes first, so what is proposed is what is shown.
  document.querySelectorAll("[data-status-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!editable || !isDirty()) {
        leaving = true;
        return;
      }
      event.preventDefault();
      save().then(function (ok) {
        if (ok) {
          leaving = true;
          form.submit();
        } else {
          say("The status was not changed: the plan could not be saved first.", true);
        }
      });
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (editable && !leaving && isDirty()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // Start: the script's rows replace the plain list the page was served with.
  clear(rows);
  if (notesInput) {
    notesInput.value = model.notes;
  }
  setView("front");
  renderAll();
  offerRestore();
})();
