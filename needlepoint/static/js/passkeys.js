// Passkeys (WebAuthn): add one on the "Password & sign-in" page, use one as the second sign-in step.
// The server makes the options and checks the answers; this file only converts between JSON and the
// browser's ArrayBuffers and carries the form token.
(function () {
  "use strict";

  function toBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function toBase64url(buffer) {
    let text = "";
    new Uint8Array(buffer).forEach((b) => { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function formToken() {
    const field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": formToken(), Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || "The passkey request failed. Try again.");
    return data;
  }

  function credentialJSON(credential) {
    const r = credential.response;
    const json = { id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response: {} };
    json.response.clientDataJSON = toBase64url(r.clientDataJSON);
    if (r.attestationObject) {
      json.response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) json.response.transports = r.getTransports();
    } else {
      json.response.authenticatorData = toBase64url(r.authenticatorData);
      json.response.signature = toBase64url(r.signature);
      if (r.userHandle) json.response.userHandle = toBase64url(r.userHandle);
    }
    json.clientExtensionResults = credential.getClientExtensionResults ? credential.getClientExtensionResults() : {};
    return json;
  }

  function showError(button, message) {
    const box = document.querySelector(button.dataset.errorBox || "#passkey-error");
    if (box) { box.textContent = message; box.hidden = false; }
  }

  async function register(button) {
    const options = await post(button.dataset.optionsUrl);
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    (options.excludeCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    const credential = await navigator.credentials.create({ publicKey: options });
    const nameField = document.querySelector("#passkey-name");
    const done = await post(button.dataset.submitUrl, {
      credential: credentialJSON(credential),
      name: nameField ? nameField.value : "",
    });
    window.location.assign(done.next);
  }

  async function signIn(button) {
    const options = await post(button.dataset.optionsUrl);
    options.challenge = toBytes(options.challenge);
    (options.allowCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    const credential = await navigator.credentials.get({ publicKey: options });
    const done = await post(button.dataset.submitUrl, { credential: credentialJSON(credential) });
    window.location.assign(done.next);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-passkey]");
    if (!button) return;
    event.preventDefault();
    if (!window.PublicKeyCredential) {
      showError(button, "This browser does not support passkeys.");
      return;
    }
    const run = button.dataset.passkey === "register" ? register : signIn;
    run(button).catch((error) => showError(button, error.message || String(error)));
  });
})();
