// The booking form's patient field as a type-ahead over the patient search.
//
// Without this script the field is a plain box for a record number. With it, the visible box
// becomes a WAI-ARIA combobox (arrow keys move through the matches, Enter chooses, Escape
// closes) and a hidden field carries what the form submits: the chosen patient's record
// number, or what was typed when nothing was chosen (a record number still works).
import {
  HINT,
  chosenLabel,
  nextActive,
  optionDetail,
  registerQuery,
  searchable,
} from "./patient-picker-model.js";

const DELAY_MS = 200;

function setUpPicker(picker) {
  const input = picker.querySelector('input[name="patient"]');
  if (!input) return;
  const url = picker.dataset.lookupUrl;

  const hidden = document.createElement("input");
  hidden.type = "hidden";
  hidden.name = "patient";
  hidden.value = input.value.trim();
  picker.append(hidden);
  input.removeAttribute("name");
  input.removeAttribute("maxlength");

  const listbox = document.createElement("ul");
  listbox.id = "patient-picker-options";
  listbox.className = "list-group patient-picker-options";
  listbox.setAttribute("role", "listbox");
  listbox.setAttribute("aria-label", "Matching patients");
  listbox.hidden = true;
  const status = document.createElement("div");
  status.id = "patient-picker-status";
  status.className = "form-text patient-picker-status";
  status.setAttribute("role", "status");
  status.dataset.testid = "patient-picker-status";
  input.after(listbox);
  listbox.after(status);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listbox.id);
  const described = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  input.setAttribute("aria-describedby", [...described, status.id].join(" "));
  if (picker.dataset.chosenLabel) input.value = picker.dataset.chosenLabel;

  let results = [];
  let active = -1;
  let timer = null;
  let controller = null;

  function options() {
    return listbox.querySelectorAll('[role="option"]');
  }

  function setActive(index) {
    active = index;
    options().forEach((option, i) => {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
      option.classList.toggle("active", i === index);
    });
    if (index >= 0) {
      const option = options()[index];
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function open() {
    if (!results.length) return;
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function close() {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    setActive(-1);
  }

  function choose(index) {
    const patient = results[index];
    if (!patient) return;
    hidden.value = patient.record_number;
    input.value = chosenLabel(patient);
    close();
    status.textContent = `Chosen: ${patient.name}, ${optionDetail(patient)}.`;
  }

  function show(patients) {
    results = patients;
    active = -1;
    listbox.replaceChildren(
      ...patients.map((patient, index) => {
        const option = document.createElement("li");
        option.id = `patient-option-${patient.id}`;
        option.className = "list-group-item list-group-item-action";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        const name = document.createElement("strong");
        name.textContent = patient.name;
        const detail = document.createElement("span");
        detail.className = "d-block small";
        detail.textContent = optionDetail(patient);
        option.append(name, detail);
        // Keep the focus in the box: choosing by pointer must not blur it first.
        option.addEventListener("mousedown", (event) => event.preventDefault());
        option.addEventListener("click", () => choose(index));
        return option;
      }),
    );
  }

  async function search(text) {
    controller?.abort();
    controller = new AbortController();
    let response;
    let data = {};
    try {
      response = await fetch(`${url}?${new URLSearchParams({ q: text })}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      });
      data = await response.json().catch(() => ({}));
    } catch (error) {
      if (error.name === "AbortError") return;
      show([]);
      close();
      status.textContent = "The search could not be reached: type the record number instead.";
      return;
    }
    if (!response.ok) {
      show([]);
      close();
      status.textContent = data.error || "The search failed: type the record number instead.";
      return;
    }
    show(Array.isArray(data.patients) ? data.patients : []);
    status.textContent = data.message || "";
    if (results.length) open();
    else close();
  }

  input.addEventListener("input", () => {
    const text = input.value.trim();
    hidden.value = text;
    // The page's "Booking for …" line names the patient it opened with: no longer so.
    document.querySelector('[data-testid="booking-patient"]')?.remove();
    clearTimeout(timer);
    if (!searchable(text)) {
      controller?.abort();
      show([]);
      close();
      status.textContent = text ? HINT : "";
      return;
    }
    timer = setTimeout(() => search(text), DELAY_MS);
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!results.length) return;
      event.preventDefault();
      if (listbox.hidden) open();
      setActive(nextActive(active, results.length, event.key));
    } else if (event.key === "Enter") {
      if (!listbox.hidden && active >= 0) {
        event.preventDefault(); // choose; do not submit the form yet
        choose(active);
      }
    } else if (event.key === "Escape") {
      if (!listbox.hidden) {
        event.preventDefault();
        close();
      }
    }
  });

  input.addEventListener("blur", () => close());
}

// "Register a new patient" carries the slot as the fields stand now, not as the page opened.
function setUpRegisterLink(form, link) {
  const update = () => {
    const target = new URL(link.href, window.location.href);
    const values = {};
    for (const name of ["practitioner", "starts_at", "appointment_type", "room"]) {
      values[name] = form.elements[name]?.value ?? "";
    }
    target.search = registerQuery(target.searchParams.get("location"), values);
    link.href = target.pathname + target.search;
  };
  form.addEventListener("change", update);
  update();
}

const picker = document.querySelector(".patient-picker");
if (picker) setUpPicker(picker);
const form = document.getElementById("booking-form");
const link = document.getElementById("register-from-booking");
if (form && link) setUpRegisterLink(form, link);
