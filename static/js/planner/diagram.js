// The SVG face diagram: the vectors of the view shown, the handles of the selected ones, the
// overlay (an entry point waiting for its end, the line being drawn, the pupils marked), and
// what is underneath (the front or profile drawing, and a photo at the chosen opacity).
//
// No inline style (the page's Content-Security-Policy): colours are presentation attributes.
import { clear, svgElement } from "./dom.js";

export const UNITS = 1000; // the diagram's viewBox is 1000 × 1000
const COLOURS = [
  "#0b5ed7", "#b02a37", "#146c43", "#6f42c1", "#8a4b00", "#087990", "#ab296a", "#495057",
];
const DASHES = { subdermal: "4 12", subcutaneous: "", smas: "24 12" };

function scaled(point) {
  return [point[0] * UNITS, point[1] * UNITS];
}

export function createDiagram(planner) {
  const root = planner.root;
  const data = planner.data;
  const ui = planner.ui;
  const svg = root.querySelector("[data-diagram]");
  const faceLayer = root.querySelector("[data-face-layer]");
  const photoLayer = root.querySelector("[data-photo-layer]");
  const vectorLayer = root.querySelector("[data-vector-layer]");
  const overlayLayer = root.querySelector("[data-overlay-layer]");
  const photoChoice = root.querySelector("[data-photo-choice]");
  const photoOpacity = root.querySelector("[data-photo-opacity]");
  const opacityOutput = root.querySelector("[data-opacity-output]");

  function colourOf(productId) {
    const product = planner.products[productId];
    return COLOURS[product ? product.colour % COLOURS.length : COLOURS.length - 1];
  }

  function render() {
    clear(vectorLayer);
    const handles = [];
    const summary = planner.summary;
    planner.model.vectors.forEach(function (vector, index) {
      if (!planner.visible(vector)) {
        return;
      }
      const a = scaled(vector.entry);
      const b = scaled(vector.end);
      const colour = colourOf(vector.product);
      const warning = summary && summary.vectorWarnings[index];
      const selected = planner.selection[vector.uid];
      const group = svgElement("g", {
        class: "vector" + (selected ? " is-selected" : "") + (warning ? " has-warning" : ""),
        "data-uid": vector.uid,
      });
      const title = svgElement("title");
      title.textContent = planner.describe(vector, index) + (warning ? ". " + warning : "");
      group.appendChild(title);
      const line = { x1: a[0], y1: a[1], x2: b[0], y2: b[1] };
      group.appendChild(svgElement("line", Object.assign({ class: "vector-halo" }, line)));
      const stroke = svgElement(
        "line",
        Object.assign({ class: "vector-line", stroke: colour }, line)
      );
      if (DASHES[vector.depth]) {
        stroke.setAttribute("stroke-dasharray", DASHES[vector.depth]);
      }
      group.appendChild(stroke);
      group.appendChild(svgElement("circle", { cx: a[0], cy: a[1], r: 9, fill: colour }));
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const length = Math.sqrt(dx * dx + dy * dy);
      if (length > 1) {
        const ux = dx / length;
        const uy = dy / length;
        const head = Math.min(26, length / 2);
        const baseX = b[0] - ux * head;
        const baseY = b[1] - uy * head;
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
        const label = svgElement("text", {
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
      if (planner.editable && selected) {
        handles.push([vector, "entry", a], [vector, "end", b]);
      }
    });
    handles.forEach(function (handle) {
      const circle = svgElement("circle", {
        class: "handle",
        cx: handle[2][0],
        cy: handle[2][1],
        r: 16,
        "data-uid": handle[0].uid,
        "data-end": handle[1],
      });
      const title = svgElement("title");
      title.textContent =
        "Drag to move the " + (handle[1] === "entry" ? "entry point" : "end point");
      circle.appendChild(title);
      vectorLayer.appendChild(circle);
    });
    renderOverlay();
  }

  function renderOverlay() {
    clear(overlayLayer);
    const gesture = planner.gesture;
    const start = planner.pending || (gesture && gesture.moved ? gesture.start : null);
    if (start) {
      const a = scaled(start);
      overlayLayer.appendChild(
        svgElement("circle", { class: "pending-entry", cx: a[0], cy: a[1], r: 10 })
      );
      if (gesture && gesture.current) {
        const b = scaled(gesture.current);
        overlayLayer.appendChild(
          svgElement("line", { class: "preview-line", x1: a[0], y1: a[1], x2: b[0], y2: b[1] })
        );
      }
    }
    if (planner.calibration) {
      planner.calibration.points.forEach(function (point) {
        const p = scaled(point);
        overlayLayer.appendChild(
          svgElement("circle", { class: "pupil-mark", cx: p[0], cy: p[1], r: 18 })
        );
      });
    }
  }

  // The view and the photo underneath -----------------------------------------------------
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
    const photos = photosForView();
    const wanted = ui.photoByView[ui.view];
    while (photoChoice.options.length > 1) {
      photoChoice.remove(1);
    }
    photos.forEach(function (photo) {
      const option = document.createElement("option");
      option.value = String(photo.id);
      option.textContent = photo.label;
      photoChoice.appendChild(option);
    });
    photoChoice.value = photos.some(function (p) { return String(p.id) === wanted; }) ? wanted : "";
    photoChoice.disabled = !photos.length;
    showPhoto();
  }

  function showPhoto() {
    const chosen = photoChoice ? photoChoice.value : "";
    let photo = null;
    data.photos.forEach(function (item) {
      if (String(item.id) === chosen) {
        photo = item;
      }
    });
    const only = root.querySelector("[data-photo-only]");
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

  // Show a frontal photo at least this opaque (calibration marks the pupils on it).
  function showFrontalPhoto(photoId, opacity) {
    setView("front");
    ui.photoByView.front = photoId;
    fillPhotoChoice();
    if (Number(photoOpacity.value) < 50) {
      photoOpacity.value = String(opacity);
      updateOpacity();
    }
  }

  function setView(view) {
    ui.view = view === "profile" ? "profile" : "front";
    planner.pending = null;
    planner.gesture = null;
    root.querySelectorAll("[data-view-choice]").forEach(function (radio) {
      radio.checked = radio.value === ui.view;
    });
    faceLayer.setAttribute(
      "href",
      root.getAttribute(ui.view === "front" ? "data-face-front" : "data-face-profile")
    );
    const profileOnly = root.querySelector("[data-profile-only]");
    if (profileOnly) {
      profileOnly.hidden = ui.view !== "profile";
    }
    fillPhotoChoice();
    render();
  }

  function updateOpacity() {
    if (opacityOutput) {
      opacityOutput.textContent = photoOpacity.value + "%";
    }
    photoLayer.setAttribute("opacity", String(Number(photoOpacity.value) / 100));
  }

  root.querySelectorAll("[data-view-choice]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked) {
        setView(radio.value);
      }
    });
  });
  const profileSide = root.querySelector("[data-profile-side]");
  if (profileSide) {
    profileSide.addEventListener("change", function () {
      ui.profileSide = profileSide.value;
      render();
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
  svg.classList.toggle("is-read-only", !planner.editable);

  return {
    svg: svg,
    render: render,
    renderOverlay: renderOverlay,
    setView: setView,
    showFrontalPhoto: showFrontalPhoto,
  };
}
