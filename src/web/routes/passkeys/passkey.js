// Surety's passkey pages (WebAuthn). Served as a static file under a strict CSP
// (script-src 'self'); no inline script. A form with data-webauthn="create" or "get"
// carries the server's options as JSON in data-options; the script runs the ceremony
// when the form is submitted (or, for a form with data-conditional, at once through the
// browser's autofill UI), puts the credential's JSON in the form's "credential" field
// and submits the form like any other: the server checks the answer (webauthn-rs) and
// the form's CSRF token.
"use strict";
(function () {
  const b64 = {
    // base64url (no padding) <-> ArrayBuffer
    decode(s) {
      const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
      return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
    },
    encode(buf) {
      const bytes = new Uint8Array(buf);
      let bin = "";
      for (const b of bytes) bin += String.fromCharCode(b);
      return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };

  function creationOptions(o) {
    const pk = Object.assign({}, o.publicKey);
    pk.challenge = b64.decode(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: b64.decode(pk.user.id) });
    pk.excludeCredentials = (pk.excludeCredentials || []).map((c) => Object.assign({}, c, { id: b64.decode(c.id) }));
    return { publicKey: pk };
  }

  function requestOptions(o) {
    const pk = Object.assign({}, o.publicKey);
    pk.challenge = b64.decode(pk.challenge);
    pk.allowCredentials = (pk.allowCredentials || []).map((c) => Object.assign({}, c, { id: b64.decode(c.id) }));
    return { publicKey: pk };
  }

  function attestationJSON(c) {
    const r = c.response;
    return {
      id: c.id,
      rawId: b64.encode(c.rawId),
      type: c.type,
      response: {
        attestationObject: b64.encode(r.attestationObject),
        clientDataJSON: b64.encode(r.clientDataJSON),
        transports: typeof r.getTransports === "function" ? r.getTransports() : undefined,
      },
      extensions: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
    };
  }

  function assertionJSON(c) {
    const r = c.response;
    return {
      id: c.id,
      rawId: b64.encode(c.rawId),
      type: c.type,
      response: {
        authenticatorData: b64.encode(r.authenticatorData),
        clientDataJSON: b64.encode(r.clientDataJSON),
        signature: b64.encode(r.signature),
        userHandle: r.userHandle ? b64.encode(r.userHandle) : null,
      },
      extensions: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
    };
  }

  function say(form, text) {
    let p = form.querySelector(".passkey-status");
    if (!p) {
      p = document.createElement("p");
      p.className = "passkey-status error";
      p.setAttribute("role", "alert");
      form.appendChild(p);
    }
    p.textContent = text;
  }

  async function run(form, mediation, signal) {
    const options = JSON.parse(form.dataset.options);
    let credential;
    if (form.dataset.webauthn === "create") {
      credential = attestationJSON(await navigator.credentials.create(creationOptions(options)));
    } else {
      const req = requestOptions(options);
      if (mediation) req.mediation = mediation;
      if (signal) req.signal = signal;
      credential = assertionJSON(await navigator.credentials.get(req));
    }
    // An autofill request and a button's may both answer: the first submits.
    if (form.dataset.done) return;
    form.querySelector('input[name="credential"]').value = JSON.stringify(credential);
    form.dataset.done = "1";
    form.submit();
  }

  let conditional = null;
  for (const form of document.querySelectorAll("form[data-webauthn]")) {
    if (!window.PublicKeyCredential) {
      say(form, "This browser does not support passkeys.");
      continue;
    }
    form.addEventListener("submit", (e) => {
      if (form.dataset.done) return;
      e.preventDefault();
      if (conditional) conditional.abort();
      conditional = null;
      run(form, null, null).catch(() => say(form, "The passkey was not used. Try again."));
    });
    if (form.dataset.conditional !== undefined && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
        if (!ok) return;
        conditional = new AbortController();
        run(form, "conditional", conditional.signal).catch(() => {});
      });
    }
  }
})();
