//! A software WebAuthn authenticator for the tests: a P-256 key (aws-lc), "none"
//! attestation, a signature counter, user verification always performed. It builds what
//! a browser would send (authenticator data, client data JSON, the attestation object in
//! CBOR with the COSE key) so that the server's `webauthn-rs` checks a real ceremony;
//! only the few CBOR items needed are encoded here.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use surety::util::{b64, b64_decode, sha256};

/// One credential held by the authenticator.
pub(crate) struct SoftKey {
    key: EcdsaKeyPair,
    pub(crate) cred_id: Vec<u8>,
    pub(crate) counter: u32,
    user_handle: Vec<u8>,
    /// A synced passkey (backup eligible and backed up): `swk` rather than `hwk`.
    synced: bool,
}

fn cbor_head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

fn cbor_int(v: i64, out: &mut Vec<u8>) {
    if v >= 0 {
        cbor_head(0, v as u64, out);
    } else {
        cbor_head(1, (-1 - v) as u64, out);
    }
}

fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    cbor_head(2, b.len() as u64, out);
    out.extend(b);
}

fn cbor_text(s: &str, out: &mut Vec<u8>) {
    cbor_head(3, s.len() as u64, out);
    out.extend(s.as_bytes());
}

/// Unescapes the HTML attribute that carries the server's options.
pub(crate) fn options_in(page: &str, form_id: &str) -> Value {
    let form = page
        .split(&format!("id=\"{form_id}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no form {form_id}"));
    let raw = form
        .split("data-options=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let json = raw
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

fn client_data(kind: &str, options: &Value, origin: &str) -> Vec<u8> {
    let challenge = options["publicKey"]["challenge"].as_str().unwrap();
    json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
        .to_string()
        .into_bytes()
}

impl SoftKey {
    pub(crate) fn new(synced: bool) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let mut cred_id = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut cred_id).unwrap();
        SoftKey {
            key,
            cred_id,
            counter: 0,
            user_handle: Vec::new(),
            synced,
        }
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut f = 0x01 | 0x04; // UP, UV
        if self.synced {
            f |= 0x08 | 0x10; // BE, BS
        }
        if attested {
            f |= 0x40; // AT
        }
        f
    }

    fn cose_key(&self) -> Vec<u8> {
        let pk = self.key.public_key().as_ref();
        let (x, y) = (&pk[1..33], &pk[33..65]);
        let mut out = Vec::new();
        cbor_head(5, 5, &mut out);
        cbor_int(1, &mut out);
        cbor_int(2, &mut out); // kty: EC2
        cbor_int(3, &mut out);
        cbor_int(-7, &mut out); // alg: ES256
        cbor_int(-1, &mut out);
        cbor_int(1, &mut out); // crv: P-256
        cbor_int(-2, &mut out);
        cbor_bytes(x, &mut out);
        cbor_int(-3, &mut out);
        cbor_bytes(y, &mut out);
        out
    }

    fn auth_data(&self, rp_id: &str, attested: bool) -> Vec<u8> {
        let mut d = sha256(rp_id.as_bytes()).to_vec();
        d.push(self.flags(attested));
        d.extend(self.counter.to_be_bytes());
        if attested {
            d.extend([0u8; 16]); // AAGUID
            d.extend((self.cred_id.len() as u16).to_be_bytes());
            d.extend(&self.cred_id);
            d.extend(self.cose_key());
        }
        d
    }

    /// `navigator.credentials.create` with the server's creation options.
    pub(crate) fn create(&mut self, options: &Value, origin: &str) -> String {
        let pk = &options["publicKey"];
        let rp_id = pk["rp"]["id"].as_str().unwrap();
        self.user_handle = b64_decode(pk["user"]["id"].as_str().unwrap()).unwrap();
        let cd = client_data("webauthn.create", options, origin);
        let mut att = Vec::new();
        cbor_head(5, 3, &mut att);
        cbor_text("fmt", &mut att);
        cbor_text("none", &mut att);
        cbor_text("attStmt", &mut att);
        cbor_head(5, 0, &mut att);
        cbor_text("authData", &mut att);
        cbor_bytes(&self.auth_data(rp_id, true), &mut att);
        json!({
            "id": b64(&self.cred_id), "rawId": b64(&self.cred_id), "type": "public-key",
            "response": {"attestationObject": b64(&att), "clientDataJSON": b64(&cd), "transports": ["internal"]},
            "extensions": {}
        })
        .to_string()
    }

    /// `navigator.credentials.get` with the server's request options; the counter moves
    /// on by one.
    pub(crate) fn get(&mut self, options: &Value, origin: &str) -> String {
        self.counter += 1;
        let rp_id = options["publicKey"]["rpId"].as_str().unwrap();
        let cd = client_data("webauthn.get", options, origin);
        let ad = self.auth_data(rp_id, false);
        let mut msg = ad.clone();
        msg.extend(sha256(&cd));
        let sig = self.key.sign(&SystemRandom::new(), &msg).unwrap();
        json!({
            "id": b64(&self.cred_id), "rawId": b64(&self.cred_id), "type": "public-key",
            "response": {"authenticatorData": b64(&ad), "clientDataJSON": b64(&cd),
                "signature": b64(sig.as_ref()), "userHandle": b64(&self.user_handle)},
            "extensions": {}
        })
        .to_string()
    }
}
