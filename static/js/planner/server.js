// The planner's JSON endpoints (treatments.views.plans): POST a body, read the JSON answer.
//
// Resolves to {status, body} for any JSON answer, 4xx and 409 included; rejects, with a
// message to show after "Not saved: " or "Not calibrated: ", when the answer is not JSON
// (a sign-in page after the session ended, or a proxy's error page).
export function postJson(url, body, csrf) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      "X-CSRFToken": csrf,
    },
    body: JSON.stringify(body),
  }).then(function (response) {
    const type = response.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") < 0) {
      throw new Error(
        response.redirected
          ? "your session has ended. Sign in again in another tab, then try again; your " +
              "changes are kept on this device."
          : "the server answered " + response.status + "."
      );
    }
    return response.json().then(function (json) {
      return { status: response.status, body: json };
    });
  });
}
