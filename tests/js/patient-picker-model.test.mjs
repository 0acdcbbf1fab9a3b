import assert from "node:assert/strict";
import { test } from "node:test";

import {
  chosenLabel,
  nextActive,
  optionDetail,
  registerQuery,
  searchable,
} from "../../static/js/patient-picker-model.js";

const iris = {
  id: 7,
  name: "Iris Murdoch",
  record_number: "TL000061",
  date_of_birth: "15 Jul 1980",
  phone: "ending 123",
};

test("two letters or digits start a search; punctuation alone does not", () => {
  assert.equal(searchable("i"), false);
  assert.equal(searchable("%_"), false);
  assert.equal(searchable(" % _ "), false);
  assert.equal(searchable("ir"), true);
  assert.equal(searchable("Zoë"), true);
  assert.equal(searchable("12"), true);
});

test("the arrow keys move through the matches and wrap round", () => {
  assert.equal(nextActive(-1, 3, "ArrowDown"), 0);
  assert.equal(nextActive(0, 3, "ArrowDown"), 1);
  assert.equal(nextActive(2, 3, "ArrowDown"), 0);
  assert.equal(nextActive(-1, 3, "ArrowUp"), 2);
  assert.equal(nextActive(0, 3, "ArrowUp"), 2);
  assert.equal(nextActive(1, 3, "ArrowUp"), 0);
});

test("no matches means no active option", () => {
  assert.equal(nextActive(-1, 0, "ArrowDown"), -1);
  assert.equal(nextActive(4, 2, "Enter"), 1);
});

test("a chosen patient shows their name and record number", () => {
  assert.equal(chosenLabel(iris), "Iris Murdoch (TL000061)");
  assert.equal(optionDetail(iris), "TL000061 · born 15 Jul 1980 · phone ending 123");
  assert.equal(optionDetail({ ...iris, phone: "" }), "TL000061 · born 15 Jul 1980");
});

test("the registration link carries the slot as the form stands, empty fields left out", () => {
  const query = registerQuery("3", {
    practitioner: "12",
    starts_at: "2026-12-01T10:15",
    appointment_type: "4",
    room: "",
  });
  assert.equal(query, "location=3&practitioner=12&start=2026-12-01T10%3A15&type=4");
});
