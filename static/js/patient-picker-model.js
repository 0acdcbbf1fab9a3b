// The booking form's patient type-ahead, its plain part: no DOM, so Node tests it
// (tests/js/patient-picker-model.test.mjs) as the browser runs it. patient-picker.js wires
// it to the page following the WAI-ARIA 1.2 combobox pattern (an editable combobox with a
// listbox popup: https://www.w3.org/WAI/ARIA/apg/patterns/combobox/).

// The server searches only with two letters or digits (consultations.views.calendar).
export const MIN_CHARACTERS = 2;
export const HINT = "Type at least two letters or digits of a name, record number, date or phone.";

// The slot a "Register a new patient" link carries, named as the booking form's link reads it.
const SLOT_FIELDS = [
  ["practitioner", "practitioner"],
  ["start", "starts_at"],
  ["type", "appointment_type"],
  ["room", "room"],
];

export function searchable(text) {
  const found = String(text ?? "").match(/[\p{L}\p{N}]/gu);
  return (found ? found.length : 0) >= MIN_CHARACTERS;
}

// The option made active by an arrow key, wrapping round; -1 when there is none.
export function nextActive(active, count, key) {
  if (count <= 0) return -1;
  if (key === "ArrowDown") return active < count - 1 ? active + 1 : 0;
  if (key === "ArrowUp") return active > 0 ? active - 1 : count - 1;
  return Math.min(active, count - 1);
}

// What the box shows once a patient is chosen (the record number tells namesakes apart).
export function chosenLabel(patient) {
  return `${patient.name} (${patient.record_number})`;
}

// The second line of an option: record number, birth date and the phone's last digits.
export function optionDetail(patient) {
  return [
    patient.record_number,
    patient.date_of_birth ? `born ${patient.date_of_birth}` : "",
    patient.phone ? `phone ${patient.phone}` : "",
  ]
    .filter(Boolean)
    .join(" · ");
}

// The registration link's query: the location it was made for, then the slot chosen so far.
// `values` maps the booking form's field names to their values.
export function registerQuery(location, values) {
  const query = new URLSearchParams();
  if (location) query.set("location", location);
  for (const [parameter, field] of SLOT_FIELDS) {
    const value = String(values[field] ?? "").trim();
    if (value) query.set(parameter, value);
  }
  return query.toString();
}
