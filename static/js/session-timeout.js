/* Warn a minute before an idle session ends; go to the sign-in page once it has.
 *
 * The server ends a session <body data-idle-seconds> seconds after it last renewed
 * it. A request renews it only once the last renewal is more than
 * <body data-idle-slack-seconds> old (clinic/idle_sessions.py), so a request counts
 * here as a renewal that long before it: the warning never comes late. Any request
 * this page makes (htmx, fetch) and any page opened in another tab restart the count
 * too. "Stay signed in" asks the keep-alive URL, whose answer (204) renews the
 * session at once.
 * Loaded with data-login-url and data-keepalive-url on its <script> tag.
 */
(function () {
  "use strict";

  var WARN_BEFORE_SECONDS = 60;
  // Go to the sign-in page a little after the server's deadline, so the session
  // has certainly ended there (the page then says why the user must sign in).
  var GRACE_SECONDS = 5;
  var STORAGE_KEY = "threadline:last-activity";

  var script = document.currentScript;
  var idleSeconds = parseInt(document.body.getAttribute("data-idle-seconds") || "", 10);
  var slackSeconds =
    parseInt(document.body.getAttribute("data-idle-slack-seconds") || "0", 10) || 0;
  if (!script || !(idleSeconds > 0)) {
    return; // not signed in
  }
  var loginUrl = script.getAttribute("data-login-url");
  var keepaliveUrl = script.getAttribute("data-keepalive-url");
  var warnAfter = Math.max(idleSeconds - WARN_BEFORE_SECONDS, 1);

  var lastActivity = Date.now();
  var warnTimer = null;
  var expireTimer = null;
  var dialog = null;
  var focusBefore = null;

  function sharedActivity() {
    try {
      return parseInt(window.localStorage.getItem(STORAGE_KEY) || "0", 10) || 0;
    } catch (error) {
      return 0; // storage disabled: this tab alone counts
    }
  }

  function shareActivity() {
    try {
      window.localStorage.setItem(STORAGE_KEY, String(lastActivity));
    } catch (error) {
      /* storage disabled */
    }
  }

  function schedule() {
    window.clearTimeout(warnTimer);
    window.clearTimeout(expireTimer);
    var elapsed = Date.now() - lastActivity;
    warnTimer = window.setTimeout(warn, warnAfter * 1000 - elapsed);
    expireTimer = window.setTimeout(expire, (idleSeconds + GRACE_SECONDS) * 1000 - elapsed);
  }

  // A request renewed the session now (`renewedNow`), or at most the slack ago.
  function activity(renewedNow) {
    lastActivity = Date.now() - (renewedNow ? 0 : slackSeconds * 1000);
    shareActivity();
    closeDialog();
    schedule();
  }

  // Another tab was used more recently than this one: its request renewed the session.
  function caughtUpWithOtherTabs() {
    var shared = sharedActivity();
    if (shared > lastActivity) {
      lastActivity = shared;
      closeDialog();
      schedule();
      return true;
    }
    return false;
  }

  function secondsText(seconds) {
    if (seconds >= 60) {
      var minutes = Math.round(seconds / 60);
      return minutes === 1 ? "a minute" : minutes + " minutes";
    }
    return seconds === 1 ? "1 second" : seconds + " seconds";
  }

  function warn() {
    if (caughtUpWithOtherTabs() || dialog) {
      return;
    }
    var left = Math.max(Math.round(idleSeconds - (Date.now() - lastActivity) / 1000), 1);
    focusBefore = document.activeElement;

    dialog = document.createElement("div");
    dialog.id = "session-timeout";
    dialog.className =
      "card border-warning shadow position-fixed bottom-0 end-0 m-3 z-3 col-11 col-sm-8 col-lg-4";
    dialog.setAttribute("role", "alertdialog");
    dialog.setAttribute("aria-labelledby", "session-timeout-title");
    dialog.setAttribute("aria-describedby", "session-timeout-text");
    dialog.tabIndex = -1;

    var body = document.createElement("div");
    body.className = "card-body";
    var title = document.createElement("h2");
    title.id = "session-timeout-title";
    title.className = "h5 card-title";
    title.textContent = "You will be signed out soon";
    var text = document.createElement("p");
    text.id = "session-timeout-text";
    text.className = "card-text";
    text.textContent =
      "Nothing has happened for a while. To protect patient data, Threadline will sign you out in " +
      secondsText(left) +
      ".";
    var stay = document.createElement("button");
    stay.type = "button";
    stay.className = "btn btn-primary";
    stay.textContent = "Stay signed in";
    stay.addEventListener("click", staySignedIn);

    body.appendChild(title);
    body.appendChild(text);
    body.appendChild(stay);
    dialog.appendChild(body);
    document.body.appendChild(dialog);
    stay.focus();
  }

  function closeDialog() {
    if (!dialog) {
      return;
    }
    var hadFocus = dialog.contains(document.activeElement);
    dialog.remove();
    dialog = null;
    if (hadFocus && focusBefore && document.contains(focusBefore)) {
      focusBefore.focus();
    }
    focusBefore = null;
  }

  function staySignedIn() {
    window
      .fetch(keepaliveUrl, {
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
      })
      .then(function (response) {
        if (response.status === 204) {
          activity(true);
        } else {
          goToSignIn(); // the session had already ended
        }
      })
      .catch(function () {
        var text = document.getElementById("session-timeout-text");
        if (text) {
          text.textContent = "Threadline cannot be reached. Check the connection and try again.";
        }
      });
  }

  function goToSignIn() {
    var here = window.location.pathname + window.location.search;
    window.location.assign(loginUrl + "?next=" + encodeURIComponent(here));
  }

  function expire() {
    if (!caughtUpWithOtherTabs()) {
      goToSignIn();
    }
  }

  // Requests this page makes (htmx, fetch) renew the session on the server.
  if ("PerformanceObserver" in window) {
    try {
      new PerformanceObserver(function (list) {
        var renewed = list.getEntries().some(function (entry) {
          return (
            (entry.initiatorType === "fetch" || entry.initiatorType === "xmlhttprequest") &&
            entry.name.indexOf(window.location.origin + "/") === 0
          );
        });
        if (renewed) {
          activity();
        }
      }).observe({ type: "resource" });
    } catch (error) {
      /* resource timing unsupported: page loads and "Stay signed in" still count */
    }
  }

  // Other tabs of Threadline: their requests renewed the same session.
  window.addEventListener("storage", function (event) {
    if (event.key === STORAGE_KEY) {
      caughtUpWithOtherTabs();
    }
  });

  activity();
})();
