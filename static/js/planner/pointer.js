// The pointer and the keyboard on the diagram: click the entry, then click (or drag to) the
// end; click a line to select it (Shift or Ctrl adds to the selection); drag a selected
// vector's round handles to move its ends; the arrow keys nudge the selection, Delete deletes
// it and Escape cancels.
import * as M from "../planner-model.js";
import { UNITS } from "./diagram.js";

const MIN_VECTOR = 0.005; // shorter than about 1 mm: a slip of the pointer, not a vector
const DRAG_START = 0.008; // moved further than this while pressed: a drag, not a click
const NUDGE = 0.005;

export function createPointer(planner) {
  const model = planner.model;
  const say = planner.say;
  const svg = planner.diagram.svg;
  let drag = null; // a handle is being dragged

  // Where the event is on the diagram, 0 to 1 from its top left corner.
  function toDiagram(event) {
    const matrix = svg.getScreenCTM();
    if (!matrix) {
      return null;
    }
    const p = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return M.point(p.x / UNITS, p.y / UNITS);
  }

  function vectorUidAt(target) {
    const group = target.closest ? target.closest(".vector") : null;
    return group ? Number(group.getAttribute("data-uid")) : null;
  }

  function onPointerDown(event) {
    if (event.button !== 0) {
      return;
    }
    const point = toDiagram(event);
    if (!point) {
      return;
    }
    if (document.activeElement !== svg) {
      svg.focus({ preventScroll: true }); // so Delete, Escape and the arrow keys reach it
    }
    if (planner.calibration) {
      event.preventDefault();
      planner.calibrator.mark(point);
      return;
    }
    const handle = event.target.closest ? event.target.closest(".handle") : null;
    if (handle && planner.editable) {
      const vector = planner.findVector(Number(handle.getAttribute("data-uid")));
      if (vector) {
        planner.history.flushTableEdit();
        drag = {
          vector: vector,
          end: handle.getAttribute("data-end"),
          before: planner.history.snapshot(),
        };
        svg.setPointerCapture(event.pointerId);
        event.preventDefault();
      }
      return;
    }
    const uid = vectorUidAt(event.target);
    if (uid !== null) {
      if (event.shiftKey || event.ctrlKey || event.metaKey) {
        if (planner.selection[uid]) {
          delete planner.selection[uid];
        } else {
          planner.selection[uid] = true;
        }
      } else {
        planner.selection = {};
        planner.selection[uid] = true;
      }
      const index = model.vectors.indexOf(planner.findVector(uid));
      planner.renderAll();
      say("Selected " + planner.describe(model.vectors[index], index) + ".");
      return;
    }
    if (!planner.editable) {
      return;
    }
    if (!planner.pending && planner.selectedVectors().length) {
      planner.selection = {};
      planner.renderAll();
      say("Selection cleared.");
      return;
    }
    planner.gesture = { start: point, current: point, moved: false };
    svg.setPointerCapture(event.pointerId);
    event.preventDefault();
    planner.diagram.renderOverlay();
  }

  function onPointerMove(event) {
    const gesture = planner.gesture;
    if (!drag && !gesture) {
      return;
    }
    const point = toDiagram(event);
    if (!point) {
      return;
    }
    if (drag) {
      drag.vector[drag.end] = point;
      drag.moved = true;
      planner.summaryPanel.render();
      planner.diagram.render();
      planner.table.render();
      return;
    }
    gesture.current = point;
    if (M.distance(gesture.start, point) > DRAG_START) {
      gesture.moved = true;
    }
    planner.diagram.renderOverlay();
  }

  function onPointerUp(event) {
    if (drag) {
      const finished = drag;
      drag = null;
      if (planner.history.remember(finished.before)) {
        planner.workingCopy.keep();
        const index = model.vectors.indexOf(finished.vector);
        say("Moved the " + (finished.end === "entry" ? "entry" : "end") + " of " +
          planner.describe(finished.vector, index) + ".");
      }
      planner.renderAll();
      return;
    }
    const started = planner.gesture;
    if (!started) {
      return;
    }
    const point = toDiagram(event) || started.current;
    planner.gesture = null;
    if (planner.pending) {
      const entry = planner.pending;
      planner.pending = null;
      if (M.distance(entry, point) < MIN_VECTOR) {
        say("That is where the vector starts: click where it ends (Escape cancels).");
        planner.pending = entry;
      } else {
        planner.operations.addVector(entry, point);
      }
    } else if (started.moved && M.distance(started.start, point) >= MIN_VECTOR) {
      planner.operations.addVector(started.start, point);
    } else {
      planner.pending = started.start;
      say("Entry point set: now click where the threads end (Escape cancels).");
    }
    planner.diagram.renderOverlay();
  }

  function onPointerCancel() {
    if (drag) {
      planner.history.restore(drag.before);
      drag = null;
      planner.renderAll();
    }
    planner.gesture = null;
    planner.diagram.renderOverlay();
  }

  function cancel() {
    if (planner.calibration) {
      planner.calibration = null;
      say("Calibration cancelled.");
    } else if (planner.pending || planner.gesture) {
      planner.pending = null;
      planner.gesture = null;
      say("New vector cancelled.");
    } else if (planner.selectedVectors().length) {
      planner.selection = {};
      say("Selection cleared.");
      planner.renderAll();
    }
    planner.diagram.renderOverlay();
  }

  function onKey(event) {
    if (event.key === "Escape") {
      cancel();
      event.preventDefault();
      return;
    }
    if (!planner.editable) {
      return;
    }
    if (event.key === "Delete" || event.key === "Backspace") {
      planner.operations.deleteSelected();
      event.preventDefault();
      return;
    }
    const step = event.shiftKey ? NUDGE * 4 : NUDGE;
    const moves = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    const move = moves[event.key];
    if (move && planner.operations.nudgeSelected(move[0], move[1])) {
      event.preventDefault();
    }
  }

  svg.addEventListener("pointerdown", onPointerDown);
  svg.addEventListener("pointermove", onPointerMove);
  svg.addEventListener("pointerup", onPointerUp);
  svg.addEventListener("pointercancel", onPointerCancel);
  svg.addEventListener("keydown", onKey);

  return { cancel: cancel };
}
