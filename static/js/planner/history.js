// Undo and redo: every change to the model is one step (Ctrl+Z, Ctrl+Shift+Z or Ctrl+Y).
//
// A step is the whole model before the change, as JSON. The table's controls change the
// model as someone types; those changes become one step when the control commits (change)
// or loses the focus, starting from the model as it was when the control took the focus.
const UNDO_LIMIT = 200;

export function createHistory(planner) {
  const model = planner.model;
  let undoStack = [];
  let redoStack = [];
  let editBefore = null; // the model before the table control in focus changed it

  function snapshot() {
    return JSON.stringify({ vectors: model.vectors, notes: model.notes });
  }

  function restore(text) {
    const state = JSON.parse(text);
    model.vectors = state.vectors;
    model.notes = state.notes;
    Object.keys(planner.selection).forEach(function (uid) {
      if (!planner.findVector(Number(uid))) {
        delete planner.selection[uid];
      }
    });
  }

  // Keep `before` as an undo step if the model has changed since; true if it was kept.
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
    const before = snapshot();
    change();
    if (remember(before)) {
      planner.workingCopy.keep();
    }
    if (editBefore !== null) {
      editBefore = snapshot(); // a table control still has the focus: its next edit starts here
    }
    planner.renderAll();
  }

  function undo() {
    flushTableEdit();
    if (!undoStack.length) {
      return;
    }
    redoStack.push(snapshot());
    restore(undoStack.pop());
    afterHistory("Undone.");
  }

  function redo() {
    flushTableEdit();
    if (!redoStack.length) {
      return;
    }
    undoStack.push(snapshot());
    restore(redoStack.pop());
    afterHistory("Redone.");
  }

  function afterHistory(text) {
    if (editBefore !== null) {
      editBefore = snapshot();
    }
    if (planner.notesInput) {
      planner.notesInput.value = model.notes;
    }
    planner.workingCopy.keep();
    planner.renderAll();
    planner.say(text);
  }

  // A table control or the notes took the focus: their edits start from the model as it is.
  function startTableEdit() {
    editBefore = snapshot();
  }

  // A control changed without taking the focus first (assistive tools do).
  function startTableEditIfNone() {
    if (editBefore === null) {
      editBefore = snapshot();
    }
  }

  function commitTableEdit() {
    if (editBefore !== null && remember(editBefore)) {
      planner.workingCopy.keep();
    }
    editBefore = snapshot();
    planner.updateButtons();
  }

  function flushTableEdit() {
    if (editBefore !== null) {
      commitTableEdit();
    }
  }

  // The control lost the focus: its edits are one step, and the next control starts afresh.
  function endTableEdit() {
    flushTableEdit();
    editBefore = null;
  }

  return {
    snapshot: snapshot,
    restore: restore,
    remember: remember,
    edit: edit,
    undo: undo,
    redo: redo,
    canUndo: function () {
      return undoStack.length > 0;
    },
    canRedo: function () {
      return redoStack.length > 0;
    },
    startTableEdit: startTableEdit,
    startTableEditIfNone: startTableEditIfNone,
    commitTableEdit: commitTableEdit,
    flushTableEdit: flushTableEdit,
    endTableEdit: endTableEdit,
  };
}
