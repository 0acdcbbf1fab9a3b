// Saving: the whole plan is sent with the revision it was based on. If someone saved in
// between, the server answers 409 with its copy and the page shows what differs; the
// practitioner then loads the server's version, keeps editing, or saves theirs over it.
import * as M from "../planner-model.js";
import { fillList } from "./dom.js";
import { postJson } from "./server.js";

function timeNow() {
  return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function createSaving(planner) {
  const model = planner.model;
  const data = planner.data;
  const setStatus = planner.setStatus;
  const conflictPanel = planner.root.querySelector("[data-conflict-panel]");
  let saving = false;
  let conflict = null; // the server's answer to a save that came too late

  // Save the plan; resolves to true once the server has it.
  function save() {
    if (!planner.editable || saving) {
      return Promise.resolve(false);
    }
    planner.history.flushTableEdit();
    const invalid = planner.table.invalidControl();
    if (invalid) {
      setStatus("Not saved: correct the highlighted field first.", true);
      invalid.focus();
      return Promise.resolve(false);
    }
    saving = true;
    const saveButton = planner.button("save");
    saveButton.disabled = true;
    setStatus("Saving…");
    const sentKey = M.planKey(model.vectors, model.notes);
    const sentFrom = planner.baseRevision;
    return postJson(
      data.urls.save,
      {
        revision: planner.baseRevision,
        vectors: model.vectors.map(M.payload),
        notes: model.notes,
        anaesthesia: planner.anaesthesiaInput ? planner.anaesthesiaInput.value : undefined,
      },
      planner.csrf
    )
      .then(function (result) {
        if (result.status === 200) {
          planner.workingCopy.forget(sentFrom);
          planner.baseRevision = result.body.revision;
          planner.savedKey = sentKey;
          hideConflict();
          const warnings = result.body.warnings.length;
          setStatus(
            "Saved at " + timeNow() + " (revision " + planner.baseRevision + ")" +
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
        planner.workingCopy.keep();
        if (ok) {
          updateDirty();
        }
        return ok;
      });
  }

  // "Unsaved changes." beside the save button while the model differs from the server's copy.
  function updateDirty() {
    if (!planner.editable || saving) {
      return;
    }
    if (planner.isDirty()) {
      setStatus("Unsaved changes.");
    } else if (planner.statusText() === "Unsaved changes.") {
      setStatus("");
    }
  }

  function showConflict(body) {
    conflict = body;
    const theirs = M.accept(body.vectors, planner.choices);
    conflictPanel.querySelector("[data-conflict-text]").textContent =
      "Your copy started from revision " + planner.baseRevision + "; the server now has " +
      "revision " + body.revision + ". Nothing was overwritten.";
    fillList(
      conflictPanel.querySelector("[data-conflict-diff]"),
      M.differences(model.vectors, theirs, model.notes, body.notes)
    );
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
    const theirs = conflict;
    const vectors = M.accept(theirs.vectors, planner.choices);
    planner.workingCopy.forget(planner.baseRevision);
    planner.history.edit(function () {
      model.vectors = vectors;
      model.notes = theirs.notes || "";
      planner.selection = {};
    });
    planner.baseRevision = theirs.revision;
    planner.savedKey = M.planKey(model.vectors, model.notes);
    if (planner.notesInput) {
      planner.notesInput.value = model.notes;
    }
    hideConflict();
    planner.workingCopy.keep();
    updateDirty();
    setStatus("Loaded the server's version (revision " + planner.baseRevision + ").");
    planner.say("Loaded the server's version. Undo (Ctrl+Z) brings yours back.");
  }

  function keepEditing() {
    hideConflict();
    setStatus("Your version is not saved: saving again compares it with the server's again.");
  }

  function overwrite() {
    if (!conflict) {
      return;
    }
    planner.workingCopy.forget(planner.baseRevision);
    planner.baseRevision = conflict.revision;
    hideConflict();
    save();
  }

  return {
    save: save,
    updateDirty: updateDirty,
    loadServerVersion: loadServerVersion,
    keepEditing: keepEditing,
    overwrite: overwrite,
  };
}
