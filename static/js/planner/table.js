// The vector table: the same list as the diagram, as a plain form that the keyboard alone can
// edit. A row per vector, kept by its uid so the control being typed in is never replaced.
import * as M from "../planner-model.js";
import { clear } from "./dom.js";

const FIELD_NAMES = {
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
  const select = document.createElement("select");
  select.className = "form-select form-select-sm";
  select.setAttribute("data-field", field);
  options.forEach(function (option) {
    const element = document.createElement("option");
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
  const input = document.createElement("input");
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
  const td = document.createElement(tag || "td");
  if (content) {
    td.appendChild(content);
  }
  row.appendChild(td);
  return td;
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

export function createTable(planner) {
  const data = planner.data;
  const model = planner.model;
  const rows = planner.root.querySelector("[data-vector-rows]");
  const emptyRow = document.createElement("tr");
  emptyRow.innerHTML = '<td colspan="15">No vectors yet.</td>';
  const rowByUid = {};
  // Each cell names its column: below 992 px the header row is hidden and planner.css stacks
  // each vector's controls under these names, so the table fits its card on a tablet.
  const columnNames = Array.from(
    planner.root.querySelectorAll(".planner-table thead th"),
    function (th) {
      return th.textContent.trim();
    }
  );

  function buildRow(vector) {
    const row = document.createElement("tr");
    row.setAttribute("data-uid", String(vector.uid));
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "form-check-input";
    box.setAttribute("data-field", "selected");
    cell(row, box);
    const number = cell(row, null, "th");
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
    const count = numberControl("count", 1, planner.maxCount, 1);
    count.setAttribute("inputmode", "numeric");
    cell(row, count);
    cell(row, selectControl("depth", data.depths));
    ["entry-x", "entry-y", "end-x", "end-y"].forEach(function (field) {
      cell(row, numberControl(field, 0, 1, 0.01));
    });
    const length = cell(row);
    length.setAttribute("data-cell", "length");
    const notes = document.createElement("input");
    notes.type = "text";
    notes.className = "form-control form-control-sm";
    notes.maxLength = 300;
    notes.setAttribute("data-field", "notes");
    cell(row, notes);
    if (planner.editable) {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-outline-danger btn-sm";
      remove.textContent = "Delete";
      remove.setAttribute("data-row-action", "delete");
      cell(row, remove);
    }
    row.querySelectorAll("[data-field]").forEach(function (control) {
      if (!planner.editable && control.getAttribute("data-field") !== "selected") {
        control.disabled = true;
      }
    });
    Array.from(row.children).forEach(function (child, index) {
      if (columnNames[index] && columnNames[index] !== "Delete") {
        child.setAttribute("data-label", columnNames[index]);
      }
    });
    return row;
  }

  function updateRow(row, vector, index) {
    const position = index + 1;
    const selected = Boolean(planner.selection[vector.uid]);
    row.querySelector('[data-cell="number"]').textContent = String(position);
    row.classList.toggle("is-selected", selected);
    row.querySelectorAll("[data-field]").forEach(function (control) {
      const field = control.getAttribute("data-field");
      control.setAttribute("aria-label", "Vector " + position + " " + FIELD_NAMES[field]);
      if (field === "selected") {
        control.checked = selected;
        return;
      }
      if (control === document.activeElement) {
        return; // never change what someone is typing
      }
      const value = field === "notes" ? vector.notes : fieldValue(vector, field);
      if (control.value !== value) {
        control.value = value;
      }
      control.classList.remove("is-invalid");
      control.removeAttribute("aria-invalid");
    });
    const deleteButton = row.querySelector('[data-row-action="delete"]');
    if (deleteButton) {
      deleteButton.setAttribute("aria-label", "Delete vector " + position);
    }
    updateDerived(row, index);
  }

  // The length and its warning, from the summary.
  function updateDerived(row, index) {
    const summary = planner.summary;
    const length = row.querySelector('[data-cell="length"]');
    const warning = summary ? summary.vectorWarnings[index] : "";
    length.textContent = "";
    const mm = document.createElement("span");
    mm.textContent = M.wholeMm(summary ? summary.lengths[index] : 0) + " mm";
    length.appendChild(mm);
    if (warning) {
      const note = document.createElement("div");
      note.className = "small vector-warning";
      note.textContent = warning;
      length.appendChild(note);
    }
  }

  function render() {
    if (model.vectors.length) {
      if (emptyRow.parentNode) {
        emptyRow.parentNode.removeChild(emptyRow);
      }
    } else if (!emptyRow.parentNode) {
      rows.appendChild(emptyRow);
    }
    const seen = {};
    model.vectors.forEach(function (vector, index) {
      let row = rowByUid[vector.uid];
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
        const row = rowByUid[uid];
        if (row.parentNode) {
          row.parentNode.removeChild(row);
        }
        delete rowByUid[uid];
      }
    });
  }

  // A table control changed: apply it to the model (commit: it is an undo step).
  function applyControl(control, commit) {
    const row = control.closest("tr");
    const vector = row ? planner.findVector(Number(row.getAttribute("data-uid"))) : null;
    if (!vector) {
      return;
    }
    const field = control.getAttribute("data-field");
    const index = model.vectors.indexOf(vector);
    if (field === "selected") {
      if (control.checked) {
        planner.selection[vector.uid] = true;
      } else {
        delete planner.selection[vector.uid];
      }
      row.classList.toggle("is-selected", control.checked);
      planner.diagram.render();
      planner.updateButtons();
      return;
    }
    if (!planner.editable) {
      return;
    }
    planner.history.startTableEditIfNone();
    const value = control.value;
    const number = Number(value);
    let problem = "";
    if (field === "count") {
      if (value === "" || !Number.isInteger(number) || number < 1 || number > planner.maxCount) {
        problem = "threads must be a whole number from 1 to " + planner.maxCount + ".";
      } else {
        vector.count = number;
      }
    } else if (/^(entry|end)-(x|y)$/.test(field)) {
      if (value === "" || !isFinite(number) || number < 0 || number > 1) {
        problem = FIELD_NAMES[field] + " must be a number from 0 to 1.";
      } else {
        const parts = field.split("-");
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
        planner.say(
          "Vector " + (index + 1) + ": " + problem + " It keeps its last valid value until " +
            "this is corrected.",
          true
        );
      }
      return;
    }
    control.removeAttribute("aria-invalid");
    planner.summaryPanel.render();
    planner.diagram.render();
    updateDerived(row, index);
    if (commit) {
      if (control.type === "number") {
        control.value = fieldValue(vector, field);
      }
      planner.history.commitTableEdit();
    }
    planner.workingCopy.keep();
    planner.saving.updateDirty();
  }

  rows.addEventListener("click", function (event) {
    const remove = event.target.closest('[data-row-action="delete"]');
    if (remove) {
      const row = remove.closest("tr");
      planner.operations.deleteVectors([Number(row.getAttribute("data-uid"))]);
    }
  });
  rows.addEventListener("focusin", function (event) {
    if (event.target.getAttribute("data-field")) {
      planner.history.startTableEditIfNone();
    }
  });
  rows.addEventListener("focusout", function (event) {
    if (event.target.getAttribute("data-field")) {
      planner.history.endTableEdit();
      // A value typed with more decimals than kept shows as stored once left.
      render();
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

  return {
    render: render,
    // The rows the page was served with (the plan as saved, for a page without script).
    clearServedRows: function () {
      clear(rows);
    },
    rowFor: function (uid) {
      return rowByUid[uid] || null;
    },
    // The first control that holds a value the model could not take, if any.
    invalidControl: function () {
      return rows.querySelector(".is-invalid");
    },
  };
}
