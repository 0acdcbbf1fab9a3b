// The working copy: kept in this browser's localStorage until it is saved, keyed by plan and
// revision, so a reload (or a crash, or a session that ended) offers it back.
import * as M from "../planner-model.js";

const STORAGE_PREFIX = "threadline:planner:";
const STORAGE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

function storage() {
  try {
    return window.localStorage;
  } catch (error) {
    return null; // storage disabled: saving to the server still works
  }
}

export function createWorkingCopy(planner) {
  const model = planner.model;
  const restorePanel = planner.root.querySelector("[data-restore-panel]");
  let stored = null; // the copy offered back, while the offer is shown

  function storageKey(revision) {
    return STORAGE_PREFIX + planner.planId + ":" + revision;
  }

  function forget(revision) {
    const store = storage();
    if (store) {
      store.removeItem(storageKey(revision));
    }
  }

  // Keep the working copy on this device until it is saved.
  function keep() {
    const store = storage();
    if (!planner.editable || !store) {
      return;
    }
    try {
      if (!planner.isDirty()) {
        store.removeItem(storageKey(planner.baseRevision));
      } else {
        store.setItem(
          storageKey(planner.baseRevision),
          JSON.stringify({
            revision: planner.baseRevision,
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
    const store = storage();
    if (!planner.editable || !store) {
      return null;
    }
    const mine = STORAGE_PREFIX + planner.planId + ":";
    const now = Date.now();
    const names = [];
    let found = null;
    for (let i = 0; i < store.length; i++) {
      names.push(store.key(i));
    }
    names.forEach(function (name) {
      if (!name || name.indexOf(STORAGE_PREFIX) !== 0) {
        return;
      }
      let item = null;
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
    const vectors = M.accept(found.item.vectors, planner.choices);
    const notes = typeof found.item.notes === "string" ? found.item.notes : "";
    if (M.planKey(vectors, notes) === planner.savedKey || !Number.isInteger(found.item.revision)) {
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

  function offer() {
    stored = findStoredCopy();
    if (!stored || !restorePanel) {
      return;
    }
    const when = new Date(stored.at);
    let text =
      "This device kept unsaved changes to this plan from " + when.toLocaleString() + " (" +
      stored.vectors.length + " vector" + (stored.vectors.length === 1 ? "" : "s") + ").";
    if (stored.revision !== planner.baseRevision) {
      text +=
        " The plan has been saved since then; if you restore them, saving shows what differs" +
        " before anything is replaced.";
    }
    restorePanel.querySelector("[data-restore-text]").textContent = text;
    restorePanel.hidden = false;
  }

  function restore() {
    if (!stored) {
      return;
    }
    const copy = stored;
    stored = null;
    restorePanel.hidden = true;
    planner.history.edit(function () {
      model.vectors = copy.vectors;
      model.notes = copy.notes;
    });
    planner.baseRevision = copy.revision;
    if (planner.notesInput) {
      planner.notesInput.value = model.notes;
    }
    keep();
    planner.setStatus("Restored your unsaved changes: save them to keep them.");
    planner.say("Restored " + copy.vectors.length + " vectors. Undo goes back to the saved plan.");
  }

  function discard() {
    const store = storage();
    if (store && stored) {
      store.removeItem(stored.name);
    }
    stored = null;
    restorePanel.hidden = true;
    planner.say("Discarded the unsaved changes kept on this device.");
  }

  return { keep: keep, forget: forget, offer: offer, restore: restore, discard: discard };
}
