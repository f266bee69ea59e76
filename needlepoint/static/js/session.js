// The session on every signed-in page: a warning a minute before the idle limit signs the user out, with a
// "stay signed in" button; and, when a page request comes back 401 because the session expired, a sign-in
// dialog in place that keeps everything on the page and sends the refused request again afterwards.
(function () {
  "use strict";

  var script = document.currentScript;
  var idleSeconds = parseInt(script.dataset.idleSeconds || "0", 10);
  var username = script.dataset.username || "";
  if (!username || !idleSeconds) return;

  var WARN_BEFORE_MS = 60 * 1000;
  var warnTimer = null;
  var expireTimer = null;
  var pending = [];  // requests refused with 401, sent again after signing in
  var banner = null;
  var dialog = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text) node.textContent = text;
    return node;
  }

  // --- the warning before expiry ------------------------------------------------------------------

  function showBanner(expired) {
    if (!banner) {
      banner = el("div", { "class": "alert warn session-banner", role: "alert", "data-testid": "session-warning" });
      banner.appendChild(el("span"));
      var button = el("button", { type: "button", "data-testid": "stay-signed-in" });
      button.addEventListener("click", stayOrSignIn);
      banner.appendChild(button);
      document.body.appendChild(banner);
    }
    banner.firstChild.textContent = expired
      ? "You were signed out after " + Math.round(idleSeconds / 60) + " minutes without activity. " +
        "Everything on this page is kept: sign in again to carry on. "
      : "You will be signed out in a minute for inactivity. ";
    banner.lastChild.textContent = expired ? "Sign in again" : "Stay signed in";
    banner.dataset.expired = expired ? "1" : "";
    banner.hidden = false;
  }

  function hideBanner() { if (banner) banner.hidden = true; }

  function restartClock() {
    clearTimeout(warnTimer);
    clearTimeout(expireTimer);
    hideBanner();
    warnTimer = setTimeout(function () { showBanner(false); }, Math.max(0, idleSeconds * 1000 - WARN_BEFORE_MS));
    expireTimer = setTimeout(function () { showBanner(true); }, idleSeconds * 1000);
  }

  function sessionStatus() {
    return fetch("/session/", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); });
  }

  function stayOrSignIn() {
    // A ping restarts the server's idle clock; if the session is already gone, sign in instead.
    sessionStatus().then(function (status) {
      if (status.authenticated) { useToken(status.csrf_token); restartClock(); } else { openDialog(); }
    }).catch(function () { openDialog(); });
  }

  // --- the sign-in dialog ----------------------------------------------------------------------------

  function buildDialog() {
    dialog = el("dialog", { "class": "card session-dialog", "aria-labelledby": "session-dialog-h", "data-testid": "session-dialog" });
    var form = el("form", { method: "dialog" });
    form.appendChild(el("h2", { id: "session-dialog-h" }, "Sign in to carry on"));
    form.appendChild(el("p", { "class": "muted" },
      "Your session expired. Nothing on this page is lost: sign in and what you were doing is sent again."));
    var error = el("p", { "class": "alert bad", role: "alert", "data-testid": "session-error" });
    error.hidden = true;
    form.appendChild(error);
    var userField = el("div", { "class": "field" });
    userField.appendChild(el("label", { "for": "session-username" }, "Username"));
    userField.appendChild(el("input", { id: "session-username", name: "username", type: "text", autocomplete: "username", readonly: "" }));
    form.appendChild(userField);
    var passField = el("div", { "class": "field" });
    passField.appendChild(el("label", { "for": "session-password" }, "Password"));
    passField.appendChild(el("input", { id: "session-password", name: "password", type: "password", autocomplete: "current-password", required: "" }));
    form.appendChild(passField);
    // Two-factor users give their app's code with the password, so signing in stays in place.
    var codeField = el("div", { "class": "field" });
    codeField.appendChild(el("label", { "for": "session-code" }, "Code from your authenticator app (if you use one)"));
    codeField.appendChild(el("input", { id: "session-code", name: "code", type: "text", inputmode: "numeric", autocomplete: "one-time-code" }));
    form.appendChild(codeField);
    var actions = el("div", { "class": "actions" });
    actions.appendChild(el("button", { type: "submit", "data-testid": "session-sign-in" }, "Sign in"));
    form.appendChild(actions);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      signIn(form.querySelector("#session-password").value, error);
    });
    dialog.appendChild(form);
    // Escape would leave the refused request unsent with no word; keep the dialog until signed in.
    dialog.addEventListener("cancel", function (event) { event.preventDefault(); });
    document.body.appendChild(dialog);
    dialog.querySelector("#session-username").value = username;
  }

  function openDialog() {
    if (!dialog) buildDialog();
    if (!dialog.open) dialog.showModal();
    dialog.querySelector("#session-password").focus();
  }

  function csrfToken() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }

  // Signing in gives the session a new form token: every form on the page and htmx's header take it.
  function useToken(token) {
    if (!token) return;
    var headers = {};
    try { headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { headers = {}; }
    headers["X-CSRFToken"] = token;
    document.body.setAttribute("hx-headers", JSON.stringify(headers));
    document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (input) { input.value = token; });
  }

  function signIn(password, error) {
    error.hidden = true;
    sessionStatus().then(function (status) {
      var body = new URLSearchParams();
      body.set("username", username);
      body.set("password", password);
      body.set("code", dialog.querySelector("#session-code").value);
      body.set("next", "/session/");
      body.set("csrfmiddlewaretoken", status.csrf_token || csrfToken());
      return fetch("/login/", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": status.csrf_token || csrfToken() },
        body: body,
      });
    }).then(function (response) {
      // Success redirects to /session/ (JSON); a wrong password or a lock-out answers the sign-in page.
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (/\/login\/(code|enrol)\/$/.test(response.url)) {
        throw new Error(/code\/$/.test(response.url)
          ? "Enter the code from your authenticator app as well."
          : "Your clinic now requires two-factor sign-in: set it up on the sign-in page in another tab, then sign in here.");
      }
      if (!response.ok || !json) {
        return response.text().then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var message = page.querySelector(".alert.bad, .alert, [role=alert]");
          throw new Error(message ? message.textContent.trim() : "Sign-in failed; try again.");
        });
      }
      return response.json();
    }).then(function (status) {
      if (!status.authenticated) throw new Error("Sign-in failed; try again.");
      if (status.username !== username) {
        // Another person's sign-in must not send this user's work under their name.
        window.location.reload();
        return;
      }
      useToken(status.csrf_token);
      dialog.querySelector("#session-password").value = "";
      dialog.querySelector("#session-code").value = "";
      dialog.close();
      restartClock();
      resend();
    }).catch(function (problem) {
      error.textContent = problem.message;
      error.hidden = false;
    });
  }

  function resend() {
    var requests = pending;
    pending = [];
    requests.forEach(function (request) {
      if (!document.body.contains(request.elt)) return;
      if (request.form) {
        request.elt.dataset.sessionChecked = "1";
        request.elt.requestSubmit(request.submitter && document.body.contains(request.submitter) ? request.submitter : undefined);
      } else {
        htmx.ajax(request.verb, request.path, { source: request.elt });
      }
    });
  }

  // --- plain forms (a whole page is posted) ----------------------------------------------------------

  // A plain form posted after the session expired would land on the sign-in page with what was typed
  // gone. So ask first whether the session still holds; if not, sign in here and then post the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "post") return;
    if (form.hasAttribute("hx-post") || /\/(login|logout)\/$/.test(form.action)) return;
    if (form.dataset.sessionChecked) { delete form.dataset.sessionChecked; return; }
    event.preventDefault();
    var submitter = event.submitter;
    sessionStatus().then(function (status) {
      if (status.authenticated && status.username === username) {
        form.dataset.sessionChecked = "1";
        form.requestSubmit(submitter || undefined);
      } else {
        pending.push({ form: true, elt: form, submitter: submitter });
        openDialog();
      }
    }).catch(function () {
      form.dataset.sessionChecked = "1";
      form.requestSubmit(submitter || undefined);
    });
  }, true);

  // --- htmx ----------------------------------------------------------------------------------------

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status !== 401 && xhr.status !== 0) restartClock();
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status !== 401) return;
    var config = event.detail.requestConfig || {};
    pending.push({ verb: (config.verb || "post").toUpperCase(), path: config.path, elt: event.detail.elt });
    openDialog();
  });

  document.addEventListener("DOMContentLoaded", restartClock);
})();
