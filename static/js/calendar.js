// The calendar: appointment colours, the current-time line, and drag and drop to move a
// booked appointment. Without JavaScript the grid, the booking links and the appointment
// links all still work; an appointment is then moved from its own page (the reschedule form).
// No inline styles or handlers: the CSP allows only this file to set styles (through the CSSOM).
(function () {
  "use strict";

  var COLOUR = /^#[0-9a-fA-F]{6}$/;
  var ROW_MINUTES = 15;

  function paint(grid) {
    grid.querySelectorAll("[data-colour]").forEach(function (element) {
      var colour = element.getAttribute("data-colour");
      if (COLOUR.test(colour)) {
        element.style.setProperty("--appt-colour", colour);
      }
    });
  }

  // The location's wall clock now: its date (YYYY-MM-DD) and minutes after midnight.
  function wallClock(zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date())
      .forEach(function (part) {
        parts[part.type] = part.value;
      });
    return {
      date: parts.year + "-" + parts.month + "-" + parts.day,
      minutes: Number(parts.hour) * 60 + Number(parts.minute),
    };
  }

  function placeNowLine(grid) {
    var line = grid.querySelector("[data-now-line]");
    if (!line) {
      return;
    }
    var now;
    try {
      now = wallClock(grid.getAttribute("data-zone"));
    } catch (error) {
      line.hidden = true;
      return;
    }
    var offset = now.minutes - Number(grid.getAttribute("data-first-minute"));
    var rows = Number(grid.getAttribute("data-rows"));
    var columns = [];
    grid.querySelectorAll(".cal-head[data-day]").forEach(function (head) {
      if (head.getAttribute("data-day") === now.date) {
        columns.push(Number(head.getAttribute("data-grid-column")));
      }
    });
    if (!columns.length || offset < 0 || offset >= rows * ROW_MINUTES) {
      line.hidden = true;
      return;
    }
    line.style.gridRow = String(Math.floor(offset / ROW_MINUTES) + 2);
    line.style.gridColumn =
      Math.min.apply(null, columns) + " / " + (Math.max.apply(null, columns) + 1);
    line.style.top = ((offset % ROW_MINUTES) / ROW_MINUTES) * 100 + "%";
    line.hidden = false;
  }

  // Today: open the grid scrolled to the current time rather than to the opening hour.
  function scrollToNow(grid) {
    var line = grid.querySelector("[data-now-line]");
    var scroller = grid.closest(".calendar-scroll");
    if (line && !line.hidden && scroller) {
      scroller.scrollTop = Math.max(0, line.offsetTop - scroller.clientHeight / 3);
    }
  }

  function feedbackArea() {
    return document.getElementById("calendar-feedback");
  }

  function say(text, kind) {
    var area = feedbackArea();
    if (!area) {
      return null;
    }
    area.replaceChildren();
    var box = document.createElement("div");
    box.className = "alert alert-" + (kind || "info");
    if (kind === "danger" || kind === "warning") {
      box.setAttribute("role", "alert");
    }
    var message = document.createElement("p");
    message.className = "mb-0";
    message.textContent = text;
    box.appendChild(message);
    area.appendChild(box);
    return box;
  }

  function refresh(grid, message) {
    var url = grid.getAttribute("data-self-url");
    var done = function () {
      say(message, "success");
    };
    if (window.htmx && url) {
      window.htmx
        .ajax("GET", url, { target: "#calendar-region", swap: "innerHTML" })
        .then(done, done);
    } else {
      window.location.reload();
    }
  }

  function showConflict(grid, url, data) {
    var box = say(data.error || "That time is taken.", "warning");
    if (!box) {
      return;
    }
    var slots = data.next_slots || [];
    var intro = document.createElement("p");
    intro.className = "mt-2 mb-1";
    intro.textContent = slots.length
      ? "Next free slots: choose one to move the appointment there."
      : "No free slot was found in the next weeks.";
    box.appendChild(intro);
    var list = document.createElement("ul");
    list.className = "list-unstyled next-slots mb-0";
    slots.forEach(function (slot) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-outline-primary btn-sm mb-1";
      button.textContent = "Move to " + (slot.label || slot.starts_at);
      button.addEventListener("click", function () {
        var body = { starts_at: slot.starts_at, practitioner: slot.practitioner_id };
        if (slot.room_id) {
          body.room = slot.room_id;
        }
        move(grid, url, body);
      });
      item.appendChild(button);
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function move(grid, url, body) {
    say("Moving the appointment…", "info");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": grid.getAttribute("data-csrf-token") || "",
      },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { status: response.status, data: data };
          });
      })
      .then(function (result) {
        if (result.status === 200 && result.data.ok) {
          refresh(grid, result.data.message || "Moved.");
        } else if (result.status === 409) {
          showConflict(grid, url, result.data);
        } else {
          say(result.data.error || "The appointment could not be moved.", "danger");
        }
      })
      .catch(function () {
        say("The appointment could not be moved: check the connection and try again.", "danger");
      });
  }

  function setUpDragAndDrop(grid) {
    var moving = null;
    var target = null;

    // The quarter hour under the pointer, also when it is over another appointment
    // (dropping there asks the server, which answers with the next free slots).
    function cellAt(event) {
      var direct = event.target.closest && event.target.closest("[data-drop]");
      if (direct) {
        return direct;
      }
      var stack = document.elementsFromPoint(event.clientX, event.clientY);
      for (var i = 0; i < stack.length; i += 1) {
        if (stack[i].hasAttribute("data-drop") && grid.contains(stack[i])) {
          return stack[i];
        }
      }
      return null;
    }

    function highlight(cell) {
      if (target === cell) {
        return;
      }
      if (target) {
        target.classList.remove("drop-target");
      }
      target = cell;
      if (cell) {
        cell.classList.add("drop-target");
      }
    }

    function finish() {
      highlight(null);
      if (moving) {
        moving.classList.remove("dragging");
      }
      grid.classList.remove("is-dragging");
      moving = null;
    }

    grid.addEventListener("dragstart", function (event) {
      var appointment = event.target.closest && event.target.closest("[data-move-url]");
      if (!appointment) {
        return;
      }
      moving = appointment;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", appointment.getAttribute("data-label") || "");
      // After the browser has taken the drag image: let the cells under it take the drop.
      window.setTimeout(function () {
        if (moving) {
          moving.classList.add("dragging");
          grid.classList.add("is-dragging");
        }
      }, 0);
    });
    grid.addEventListener("dragover", function (event) {
      var cell = moving && cellAt(event);
      if (!cell) {
        highlight(null);
        return;
      }
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      highlight(cell);
    });
    grid.addEventListener("drop", function (event) {
      var cell = moving && cellAt(event);
      if (!cell) {
        return;
      }
      event.preventDefault();
      var body = { starts_at: cell.getAttribute("data-start") };
      var practitioner = cell.getAttribute("data-practitioner");
      var room = cell.getAttribute("data-room");
      if (practitioner) {
        body.practitioner = Number(practitioner);
      }
      if (room) {
        body.room = Number(room);
      }
      var url = moving.getAttribute("data-move-url");
      finish();
      move(grid, url, body);
    });
    grid.addEventListener("dragend", finish);
  }

  function setUp() {
    document.querySelectorAll("[data-calendar-grid]").forEach(function (grid) {
      if (grid.hasAttribute("data-ready")) {
        return;
      }
      grid.setAttribute("data-ready", "");
      paint(grid);
      placeNowLine(grid);
      scrollToNow(grid);
      setUpDragAndDrop(grid);
    });
  }

  document.addEventListener("htmx:load", setUp);
  setUp();
  window.setInterval(function () {
    document.querySelectorAll("[data-calendar-grid]").forEach(placeNowLine);
  }, 60 * 1000);
})();
