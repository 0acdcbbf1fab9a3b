// The scale: mark the patient's pupils on a frontal photo and the server sets the plan's
// millimetres per diagram height from an average interpupillary distance.
import { postJson } from "./server.js";

export function createCalibrator(planner) {
  const root = planner.root;
  const data = planner.data;
  const say = planner.say;
  const photoSelect = root.querySelector("[data-calibration-photo]");

  function start() {
    if (!photoSelect || !photoSelect.value) {
      say("Choose a frontal photo to calibrate on.", true);
      return;
    }
    planner.diagram.showFrontalPhoto(photoSelect.value, 80);
    planner.calibration = { photo: Number(photoSelect.value), points: [] };
    planner.pending = null;
    planner.diagram.svg.focus();
    say("Click the centre of the patient's right pupil (on your left). Escape cancels.");
    planner.diagram.renderOverlay();
  }

  // A pupil clicked: the right one first, then the left one, then ask the server.
  function mark(point) {
    const calibration = planner.calibration;
    calibration.points.push(point);
    planner.diagram.renderOverlay();
    if (calibration.points.length === 1) {
      say("Now click the centre of the patient's left pupil (on your right).");
      return;
    }
    postJson(
      data.urls.calibrate,
      {
        photo: calibration.photo,
        right_pupil: calibration.points[0],
        left_pupil: calibration.points[1],
      },
      planner.csrf
    )
      .then(function (result) {
        if (result.status === 200) {
          data.plan.mm_per_unit = result.body.mm_per_unit;
          const text = "Calibrated on a frontal photo: " + Math.round(result.body.mm_per_unit) +
            " mm per diagram height.";
          const scaleText = root.querySelector("[data-scale-text]");
          if (scaleText) {
            scaleText.textContent = text;
          }
          say(text + " Lengths are measured on this scale now.");
          planner.renderAll();
        } else {
          say("Not calibrated: " + (result.body.error || "the server refused the points."), true);
        }
      })
      .catch(function (error) {
        say("Not calibrated: " + error.message, true);
      })
      .then(function () {
        planner.calibration = null;
        planner.diagram.renderOverlay();
      });
  }

  if (photoSelect) {
    data.photos
      .filter(function (photo) {
        return photo.view === "frontal";
      })
      .forEach(function (photo) {
        const option = document.createElement("option");
        option.value = String(photo.id);
        option.textContent = photo.label;
        option.selected = photo.id === data.plan.calibration_photo;
        photoSelect.appendChild(option);
      });
  }

  return { start: start, mark: mark };
}
