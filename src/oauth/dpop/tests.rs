//! The proof checks of RFC 9449 §4.3, one refusal each, and RFC 7638's thumbprint.

use serde_json::{Value, json};

use super::*;
use crate::keys::jws::{Signer, sign_hs256, sign_with_header};

const NOW: i64 = 1_700_000_000;
const HTU: &str = "https://id.example.com/token";
const WINDOW: Window = Window {
    past: 60,
    future: 5,
};

fn key(alg: Alg) -> (Signer, Value) {
    let (s, _) = Signer::generate(alg).unwrap();
    let mut jwk = s.public_jwk();
    let o = jwk.as_object_mut().unwrap();
    o.remove("use");
    o.remove("alg");
    (s, jwk)
}

fn claims() -> Value {
    json!({"jti": "j-1", "htm": "POST", "htu": HTU, "iat": NOW})
}

fn proof_with(s: &Signer, header: Value, claims: Value) -> String {
    sign_with_header(s, &header, &claims).unwrap()
}

fn proof(alg: Alg, claims: Value) -> (String, Value) {
    let (s, jwk) = key(alg);
    let h = json!({"typ": "dpop+jwt", "alg": alg.as_str(), "jwk": jwk});
    (proof_with(&s, h, claims), jwk)
}

fn want() -> Expected<'static> {
    Expected {
        htm: "POST",
        htu: HTU,
        access_token: None,
    }
}

fn refused(raw: &str, w: &Expected<'_>) -> &'static str {
    check(raw, w, NOW, WINDOW).unwrap_err().0
}

#[test]
fn a_good_proof_of_each_alg_names_its_key() {
    for alg in ALGS {
        let (p, jwk) = proof(alg, claims());
        let ok = check(&p, &want(), NOW, WINDOW).unwrap();
        assert_eq!(ok.jkt, thumbprint(&jwk).unwrap(), "{alg:?}");
        assert_eq!((ok.jti.as_str(), ok.iat, ok.nonce), ("j-1", NOW, None));
    }
}

#[test]
fn the_typ_must_be_dpop_jwt() {
    let (s, jwk) = key(Alg::ES256);
    for typ in [json!("JWT"), json!("at+jwt"), Value::Null] {
        let p = proof_with(
            &s,
            json!({"typ": typ, "alg": "ES256", "jwk": jwk}),
            claims(),
        );
        assert!(refused(&p, &want()).contains("typ"));
    }
}

#[test]
fn none_and_symmetric_algs_are_refused() {
    let (_, jwk) = key(Alg::ES256);
    let h = crate::util::b64(
        json!({"typ": "dpop+jwt", "alg": "none", "jwk": jwk})
            .to_string()
            .as_bytes(),
    );
    let none = format!("{h}.{}.", crate::util::b64(claims().to_string().as_bytes()));
    assert!(refused(&none, &want()).contains("alg"));
    // An HS256 token with a `typ` and `jwk` of its own.
    let hs = sign_hs256(&[7u8; 32], None, &claims());
    assert!(!refused(&hs, &want()).is_empty());
    let h = crate::util::b64(
        json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "AAAA"}})
            .to_string()
            .as_bytes(),
    );
    let (_, payload_sig) = hs.split_once('.').unwrap();
    assert!(refused(&format!("{h}.{payload_sig}"), &want()).contains("alg"));
}

#[test]
fn a_private_or_symmetric_jwk_is_refused() {
    let (s, jwk) = key(Alg::ES256);
    for (member, value) in [("d", "AAAA"), ("k", "AAAA"), ("p", "AAAA")] {
        let mut k = jwk.clone();
        k[member] = json!(value);
        let p = proof_with(
            &s,
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": k}),
            claims(),
        );
        assert!(refused(&p, &want()).contains("private"), "{member}");
    }
    let p = proof_with(&s, json!({"typ": "dpop+jwt", "alg": "ES256"}), claims());
    assert!(refused(&p, &want()).contains("no jwk"));
}

#[test]
fn the_signature_must_verify_with_the_embedded_key() {
    let (s, _) = key(Alg::ES256);
    let (_, other) = key(Alg::ES256);
    let p = proof_with(
        &s,
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": other}),
        claims(),
    );
    assert!(refused(&p, &want()).contains("signature"));
    // An RSA key under an ES256 header.
    let (_, rsa) = key(Alg::RS256);
    let p = proof_with(
        &s,
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": rsa}),
        claims(),
    );
    assert!(refused(&p, &want()).contains("signature"));
}

#[test]
fn htm_and_htu_must_name_this_request() {
    let mut c = claims();
    c["htm"] = json!("GET");
    assert!(refused(&proof(Alg::ES256, c).0, &want()).contains("htm"));
    for htu in [
        "https://id.example.com/userinfo",
        "https://other.example/token",
        "/token",
    ] {
        let mut c = claims();
        c["htu"] = json!(htu);
        assert!(
            refused(&proof(Alg::ES256, c).0, &want()).contains("htu"),
            "{htu}"
        );
    }
    // Normalised: case of scheme and host, the default port, query and fragment.
    for htu in [
        "HTTPS://ID.Example.COM/token",
        "https://id.example.com:443/token",
        "https://id.example.com/token?x=1#f",
    ] {
        let mut c = claims();
        c["htu"] = json!(htu);
        assert!(
            check(&proof(Alg::ES256, c).0, &want(), NOW, WINDOW).is_ok(),
            "{htu}"
        );
    }
    let mut c = claims();
    c["htu"] = json!("https://id.example.com/Token");
    assert!(
        refused(&proof(Alg::ES256, c).0, &want()).contains("htu"),
        "paths keep their case"
    );
}

#[test]
fn iat_must_be_recent_and_not_ahead() {
    for (iat, ok) in [
        (NOW - 60, true),
        (NOW - 61, false),
        (NOW + 5, true),
        (NOW + 6, false),
    ] {
        let mut c = claims();
        c["iat"] = json!(iat);
        let r = check(&proof(Alg::ES256, c).0, &want(), NOW, WINDOW);
        assert_eq!(r.is_ok(), ok, "iat {iat}");
    }
    let mut c = claims();
    c.as_object_mut().unwrap().remove("iat");
    assert!(refused(&proof(Alg::ES256, c).0, &want()).contains("iat"));
    let mut c = claims();
    c.as_object_mut().unwrap().remove("jti");
    assert!(refused(&proof(Alg::ES256, c).0, &want()).contains("jti"));
}

#[test]
fn ath_must_hash_the_presented_token() {
    let token = "eyJ.access.token";
    let w = Expected {
        access_token: Some(token),
        ..want()
    };
    assert!(refused(&proof(Alg::ES256, claims()).0, &w).contains("ath"));
    let mut c = claims();
    c["ath"] = json!(access_token_hash("another token"));
    assert!(refused(&proof(Alg::ES256, c).0, &w).contains("ath"));
    let mut c = claims();
    c["ath"] = json!(access_token_hash(token));
    assert!(check(&proof(Alg::ES256, c).0, &w, NOW, WINDOW).is_ok());
}

#[test]
fn oversized_proofs_are_refused_before_parsing() {
    let big = "a".repeat(MAX_PROOF_LEN + 1);
    assert!(refused(&big, &want()).contains("too large"));
}

#[test]
fn rfc_7638_thumbprint_vector() {
    // RFC 7638 §3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    assert_eq!(
        thumbprint(&jwk).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    // Members beyond the required ones do not change it; a missing one is refused.
    let (_, ec) = key(Alg::ES256);
    let mut more = ec.clone();
    more["kid"] = json!("k");
    assert_eq!(thumbprint(&ec).unwrap(), thumbprint(&more).unwrap());
    let mut less = ec;
    less.as_object_mut().unwrap().remove("y");
    assert!(thumbprint(&less).is_err());
    assert!(thumbprint(&json!({"kty": "oct", "k": "AAAA"})).is_err());
}

#[test]
fn htu_normalisation() {
    assert_eq!(
        normalize_htu("HTTP://Example.COM:80/a/B?q#f").as_deref(),
        Some("http://example.com/a/B")
    );
    assert_eq!(normalize_htu("ftp://example.com/x"), None);
    assert_eq!(normalize_htu("not a uri"), None);
}

#[test]
fn code_and_refresh_bindings() {
    use super::binding::{check_code, check_refresh, parse_dpop_jkt};
    use crate::oauth::customize::Confirmation;
    let k = Confirmation {
        jkt: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into(),
    };
    let other = Confirmation {
        jkt: "x".repeat(43),
    };
    assert!(check_code(None, None).is_ok());
    assert!(check_code(Some(&k.jkt), Some(&k)).is_ok());
    assert!(check_code(Some(&k.jkt), Some(&other)).is_err());
    assert!(check_refresh(Some(&k.jkt), None).is_err());
    assert!(check_refresh(None, Some(&other)).is_ok());
    assert_eq!(parse_dpop_jkt(Some(&k.jkt)), Ok(Some(k.jkt.clone())));
    assert!(parse_dpop_jkt(Some("short")).is_err());
    assert!(parse_dpop_jkt(Some(&"+".repeat(43))).is_err());
}
