// The thread-placement planner page (templates/treatments/plans/planner.html).
//
// One in-memory model (the plan's vectors and notes) is drawn by two views that both edit
// it: the SVG face diagram (diagram.js, pointer.js) and the vector table (table.js, a plain
// form usable by keyboard alone). Every change can be undone (history.js), the working copy
// is kept in this browser until it is saved (working-copy.js), and saving sends the whole
// plan with the revision it was based on, showing what differs if someone saved in between
// (save.js). The rules that need no page (sides, mirroring, lengths, warnings, the summary)
// are in ../planner-model.js.
//
// The parts share one object (page.js) and reach one another only through it, so no part
// imports another and the static files' manifest can hash every import. No inline script or
// style anywhere (the page's Content-Security-Policy): the data comes from a JSON block
// (json_script), styles from planner.css.
import { createCalibrator } from "./calibration.js";
import { createDiagram } from "./diagram.js";
import { createHistory } from "./history.js";
import { createOperations } from "./operations.js";
import { createPlanner } from "./page.js";
import { createPointer } from "./pointer.js";
import { createSaving } from "./save.js";
import { createSummaryPanel } from "./summary.js";
import { createTable } from "./table.js";
import { createWorkingCopy } from "./working-copy.js";

function isTextEntry(element) {
  if (!element || !element.tagName) {
    return false;
  }
  const tag = element.tagName.toLowerCase();
  return tag === "textarea" || (tag === "input" && /^(text|search)$/.test(element.type));
}

function start(root, data) {
  const planner = createPlanner(root, data);
  planner.history = createHistory(planner);
  planner.workingCopy = createWorkingCopy(planner);
  planner.summaryPanel = createSummaryPanel(planner);
  planner.diagram = createDiagram(planner);
  planner.table = createTable(planner);
  planner.operations = createOperations(planner);
  planner.calibrator = createCalibrator(planner);
  planner.saving = createSaving(planner);
  planner.pointer = createPointer(planner);

  planner.updateButtons = function () {
    const none = planner.selectedVectors().length === 0;
    const disabled = [
      ["undo", !planner.history.canUndo()],
      ["redo", !planner.history.canRedo()],
      ["mirror", none],
      ["delete-selected", none],
    ];
    disabled.forEach(function (pair) {
      const element = planner.button(pair[0]);
      if (element) {
        element.disabled = pair[1];
      }
    });
  };

  planner.renderAll = function () {
    planner.summaryPanel.render();
    planner.diagram.render();
    planner.table.render();
    planner.updateButtons();
    planner.saving.updateDirty();
  };

  const actions = {
    undo: planner.history.undo,
    redo: planner.history.redo,
    "select-all": planner.operations.selectAll,
    "select-none": planner.operations.selectNone,
    mirror: planner.operations.mirrorSelected,
    "delete-selected": planner.operations.deleteSelected,
    "add-vector": planner.operations.addVectorFromKeyboard,
    "apply-preset": planner.operations.applyPreset,
    calibrate: planner.calibrator.start,
    save: planner.saving.save,
    restore: planner.workingCopy.restore,
    "discard-restore": planner.workingCopy.discard,
    "load-server": planner.saving.loadServerVersion,
    "keep-editing": planner.saving.keepEditing,
    overwrite: planner.saving.overwrite,
  };
  root.addEventListener("click", function (event) {
    const target = event.target.closest ? event.target.closest("[data-action]") : null;
    if (target && actions[target.getAttribute("data-action")] && !target.disabled) {
      event.preventDefault();
      actions[target.getAttribute("data-action")]();
    }
  });

  const notesInput = planner.notesInput;
  if (notesInput && planner.editable) {
    notesInput.addEventListener("focus", planner.history.startTableEdit);
    notesInput.addEventListener("input", function () {
      planner.model.notes = notesInput.value;
      planner.workingCopy.keep();
      planner.saving.updateDirty();
    });
    notesInput.addEventListener("change", planner.history.commitTableEdit);
    notesInput.addEventListener("blur", planner.history.endTableEdit);
  }

  // The anaesthesia is a plan setting outside the undo history: a change is saved at once.
  const anaesthesiaInput = planner.anaesthesiaInput;
  if (anaesthesiaInput && planner.editable) {
    anaesthesiaInput.addEventListener("change", function () {
      planner.saving.save();
    });
  }

  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) {
      return;
    }
    const key = event.key.toLowerCase();
    if (key === "s" && planner.editable) {
      event.preventDefault();
      planner.saving.save();
      return;
    }
    if (!planner.editable || isTextEntry(event.target)) {
      return; // text fields keep their own undo
    }
    if (key === "z" && !event.shiftKey) {
      event.preventDefault();
      planner.history.undo();
    } else if ((key === "z" && event.shiftKey) || key === "y") {
      event.preventDefault();
      planner.history.redo();
    }
  });

  // Status buttons save unsaved changes first, so what is proposed is what is shown.
  let leaving = false;
  document.querySelectorAll("[data-status-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!planner.editable || !planner.isDirty()) {
        leaving = true;
        return;
      }
      event.preventDefault();
      planner.saving.save().then(function (ok) {
        if (ok) {
          leaving = true;
          form.submit();
        } else {
          planner.say("The status was not changed: the plan could not be saved first.", true);
        }
      });
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (planner.editable && !leaving && planner.isDirty()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // Start: the script's rows replace the plain list the page was served with.
  planner.table.clearServedRows();
  if (notesInput) {
    notesInput.value = planner.model.notes;
  }
  planner.diagram.setView("front");
  planner.renderAll();
  planner.workingCopy.offer();
}

const root = document.getElementById("planner");
const dataNode = document.getElementById("planner-data");
if (root && dataNode) {
  start(root, JSON.parse(dataNode.textContent));
}
