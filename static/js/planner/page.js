// What every part of the planner shares: the plan's data and its lookups, the model (the
// vectors and notes that both the diagram and the table show), the selection, what the
// diagram shows, and the two message lines. The parts (history.js, diagram.js, …) each take
// this object and add themselves to it, so they call one another only through it and never
// import one another.
import * as M from "../planner-model.js";

function pairs(list) {
  const table = {};
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

export function createPlanner(root, data) {
  const products = {};
  data.products.forEach(function (product) {
    products[product.id] = product;
  });
  const labels = {
    area: pairs(data.areas),
    side: pairs(data.sides),
    depth: pairs(data.depths),
    view: pairs(data.views),
  };
  const choices = {
    area: values(data.areas),
    side: values(data.sides),
    depth: values(data.depths),
    view: values(data.views),
    maxCount: data.limits.count,
  };
  const model = { vectors: M.accept(data.vectors, choices), notes: data.notes || "" };
  const message = root.querySelector("[data-diagram-message]");
  const saveStatus = root.querySelector("[data-save-status]");

  const planner = {
    root: root,
    data: data,
    editable: root.getAttribute("data-editable") === "true",
    csrf: root.getAttribute("data-csrf"),
    planId: data.plan.id,
    maxVectors: data.limits.vectors,
    maxCount: data.limits.count,
    products: products,
    labels: labels,
    choices: choices,
    model: model,
    baseRevision: data.plan.revision, // the server revision this copy started from
    savedKey: M.planKey(model.vectors, model.notes), // the server's copy, as last seen
    selection: {}, // uid: true for each selected vector
    ui: { view: "front", profileSide: "right", photoByView: { front: "", profile: "" } },
    pending: null, // an entry point waiting for its end
    gesture: null, // the pointer is down on the background
    calibration: null, // the pupils marked so far, while calibrating
    summary: null, // the model's summary, as last drawn
    notesInput: root.querySelector("[data-plan-notes]"),
    anaesthesiaInput: root.querySelector("[data-plan-anaesthesia]"),

    button: function (action) {
      return root.querySelector('[data-action="' + action + '"]');
    },

    // The line under the diagram: what just happened, or what went wrong.
    say: function (text, isError) {
      message.textContent = text;
      message.classList.toggle("is-error", Boolean(isError));
    },

    // The line beside the save button.
    setStatus: function (text, isError) {
      if (!saveStatus) {
        return;
      }
      saveStatus.textContent = text;
      saveStatus.classList.toggle("is-error", Boolean(isError));
    },

    statusText: function () {
      return saveStatus ? saveStatus.textContent : "";
    },

    describe: function (vector, index) {
      const product = products[vector.product];
      return (
        "Vector " + (index + 1) + ": " + (labels.area[vector.area] || vector.area) + ", " +
        (labels.side[vector.side] || vector.side).toLowerCase() + ", " + vector.count + " × " +
        (product ? product.name : "unknown product") + ", " +
        M.wholeMm(M.lengthMm(vector, data.plan.mm_per_unit)) + " mm"
      );
    },

    isDirty: function () {
      return M.planKey(model.vectors, model.notes) !== planner.savedKey;
    },

    findVector: function (uid) {
      for (let i = 0; i < model.vectors.length; i++) {
        if (model.vectors[i].uid === uid) {
          return model.vectors[i];
        }
      }
      return null;
    },

    selectedVectors: function () {
      return model.vectors.filter(function (vector) {
        return planner.selection[vector.uid];
      });
    },

    selectOnly: function (vectors) {
      planner.selection = {};
      vectors.forEach(function (vector) {
        planner.selection[vector.uid] = true;
      });
    },

    // Whether the diagram, as it is showing now, draws this vector.
    visible: function (vector) {
      if (vector.view !== planner.ui.view) {
        return false;
      }
      if (planner.ui.view === "front" || planner.ui.profileSide === "both") {
        return true;
      }
      return vector.side === planner.ui.profileSide || vector.side === "midline";
    },
  };
  return planner;
}
