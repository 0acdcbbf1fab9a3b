// The DOM helpers more than one part of the planner needs.
const SVGNS = "http://www.w3.org/2000/svg";

export function clear(element) {
  while (element.firstChild) {
    element.removeChild(element.firstChild);
  }
}

export function svgElement(name, attributes) {
  const element = document.createElementNS(SVGNS, name);
  Object.keys(attributes || {}).forEach(function (attribute) {
    element.setAttribute(attribute, attributes[attribute]);
  });
  return element;
}

// A list of lines: one item per line, or one item saying `empty` when there are none.
export function fillList(list, items, empty) {
  clear(list);
  if (!items.length && empty) {
    const none = document.createElement("li");
    none.className = "text-body-secondary";
    none.textContent = empty;
    list.appendChild(none);
  }
  items.forEach(function (item) {
    const li = document.createElement("li");
    li.textContent = Array.isArray(item) ? item[0] + ": " + item[1] : item;
    list.appendChild(li);
  });
}
