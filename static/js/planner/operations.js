// What can be done to the vectors: add (drawn, or from the keyboard), mirror, delete, nudge,
// add a preset, select. Each change is one undoable step (history.edit).
import * as M from "../planner-model.js";

export function createOperations(planner) {
  const root = planner.root;
  const model = planner.model;
  const say = planner.say;

  // The choices under "New vectors".
  function defaults() {
    const checked = root.querySelector('[data-default="product"]:checked');
    const count = Number((root.querySelector('[data-default="count"]') || {}).value);
    return {
      product: checked ? Number(checked.value) : null,
      area: (root.querySelector('[data-default="area"]') || {}).value || "midface",
      side: (root.querySelector('[data-default="side"]') || {}).value || "auto",
      depth: (root.querySelector('[data-default="depth"]') || {}).value || "subcutaneous",
      count: Number.isInteger(count) && count >= 1 && count <= planner.maxCount ? count : 1,
    };
  }

  function roomFor(extra) {
    if (model.vectors.length + extra > planner.maxVectors) {
      say("A plan holds at most " + planner.maxVectors + " vectors.", true);
      return false;
    }
    return true;
  }

  function addVector(entry, end) {
    const chosen = defaults();
    if (chosen.product === null) {
      say("Choose a product for the new vector first.", true);
      return;
    }
    if (!roomFor(1)) {
      return;
    }
    let side = chosen.side;
    if (side === "auto") {
      if (planner.ui.view === "front") {
        side = M.guessSide(entry, end);
      } else {
        side = planner.ui.profileSide === "both" ? "right" : planner.ui.profileSide;
      }
    }
    const vector = M.withUid({
      area: chosen.area,
      side: side,
      product: chosen.product,
      count: chosen.count,
      view: planner.ui.view,
      entry: entry,
      end: end,
      depth: chosen.depth,
      notes: "",
    });
    planner.history.edit(function () {
      model.vectors.push(vector);
    });
    say("Added " + planner.describe(vector, model.vectors.length - 1) + ".");
  }

  function addVectorFromKeyboard() {
    const chosen = defaults();
    if (chosen.product === null) {
      say("Choose a product for the new vector first.", true);
      return;
    }
    if (!roomFor(1)) {
      return;
    }
    const side = chosen.side === "auto" ? "right" : chosen.side;
    let entry = [0.33, 0.55];
    let end = [0.24, 0.42];
    if (side === "midline") {
      entry = [0.5, 0.78];
      end = [0.5, 0.9];
    } else if (side === "left" && planner.ui.view === "front") {
      entry = [0.67, 0.55];
      end = [0.76, 0.42];
    }
    const vector = M.withUid({
      area: chosen.area,
      side: side,
      product: chosen.product,
      count: chosen.count,
      view: planner.ui.view,
      entry: entry,
      end: end,
      depth: chosen.depth,
      notes: "",
    });
    planner.history.edit(function () {
      model.vectors.push(vector);
      planner.selectOnly([vector]);
    });
    say(
      "Added " + planner.describe(vector, model.vectors.length - 1) +
        ": set its points in the table."
    );
    const row = planner.table.rowFor(vector.uid);
    if (row) {
      row.querySelector('[data-field="view"]').focus();
    }
  }

  function mirrorSelected() {
    const chosen = planner.selectedVectors();
    if (!chosen.length) {
      say("Select the vectors to mirror first.", true);
      return;
    }
    const existing = {};
    model.vectors.forEach(function (vector) {
      existing[M.key(vector)] = true;
    });
    let midline = 0;
    let already = 0;
    const copies = [];
    chosen.forEach(function (vector) {
      const copy = M.mirrored(vector);
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
    planner.history.edit(function () {
      model.vectors = model.vectors.concat(copies);
      planner.selectOnly(copies);
    });
    let text = "Mirrored " + copies.length + " vector" + (copies.length === 1 ? "" : "s") +
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
    const gone = {};
    uids.forEach(function (uid) {
      gone[uid] = true;
    });
    planner.history.edit(function () {
      model.vectors = model.vectors.filter(function (vector) {
        return !gone[vector.uid];
      });
      uids.forEach(function (uid) {
        delete planner.selection[uid];
      });
    });
    say(
      "Deleted " + uids.length + " vector" + (uids.length === 1 ? "" : "s") +
        ". Undo (Ctrl+Z) brings " + (uids.length === 1 ? "it" : "them") + " back."
    );
  }

  function deleteSelected() {
    deleteVectors(
      planner.selectedVectors().map(function (vector) {
        return vector.uid;
      })
    );
  }

  // Move the selected vectors by (dx, dy); false if none is selected.
  function nudgeSelected(dx, dy) {
    const chosen = planner.selectedVectors();
    if (!chosen.length) {
      return false;
    }
    planner.history.edit(function () {
      chosen.forEach(function (vector) {
        vector.entry = M.point(vector.entry[0] + dx, vector.entry[1] + dy);
        vector.end = M.point(vector.end[0] + dx, vector.end[1] + dy);
      });
    });
    return true;
  }

  function applyPreset() {
    const select = root.querySelector("[data-preset-choice]");
    let preset = null;
    planner.data.presets.forEach(function (item) {
      if (String(item.id) === select.value) {
        preset = item;
      }
    });
    if (!preset) {
      return;
    }
    const vectors = M.accept(preset.vectors, planner.choices).filter(function (vector) {
      return planner.products[vector.product] && planner.products[vector.product].active;
    });
    if (!vectors.length) {
      say("The preset “" + preset.name + "” has no vectors that can be used.", true);
      return;
    }
    if (!roomFor(vectors.length)) {
      return;
    }
    planner.history.edit(function () {
      model.vectors = model.vectors.concat(vectors);
      planner.selectOnly(vectors);
    });
    if (!vectors.some(planner.visible)) {
      planner.diagram.setView(vectors[0].view);
    }
    let text = "Added the preset “" + preset.name + "”: " + vectors.length + " vectors, selected.";
    if (preset.left_out) {
      text += " " + preset.left_out + " of its vectors were left out (a product no longer in " +
        "use, or incomplete).";
    }
    say(text);
  }

  function selectAll() {
    const shown = model.vectors.filter(planner.visible);
    planner.selectOnly(shown);
    planner.renderAll();
    say("Selected the " + shown.length + " vectors on this view.");
  }

  function selectNone() {
    planner.selection = {};
    planner.renderAll();
    say("Selection cleared.");
  }

  return {
    addVector: addVector,
    addVectorFromKeyboard: addVectorFromKeyboard,
    mirrorSelected: mirrorSelected,
    deleteVectors: deleteVectors,
    deleteSelected: deleteSelected,
    nudgeSelected: nudgeSelected,
    applyPreset: applyPreset,
    selectAll: selectAll,
    selectNone: selectNone,
  };
}
