//! Surety's assurance ladder: the `acr` levels relying parties ask for (OpenID Connect
//! Core §2) and the `amr` values sessions carry (RFC 8176 §2). A level is a set of
//! properties of a sign-in (see `oauth::authorize::acr::Level`):
//!
//! | property | proven by | `amr` |
//! |---|---|---|
//! | (none) | a password, or a passkey alone | `pwd` / `hwk` or `swk`, `user`, `mfa` |
//! | multi-factor | a password and a one-time code or recovery code; a passkey | `otp` + `mfa`; `hwk`/`swk` + `user` + `mfa` |
//! | phishing-resistant (implies multi-factor) | a passkey with user verification | `hwk`/`swk` + `user` + `mfa` |
//! | verified identity | the verified-entity challenge (`verify::step`), held for `SURETY_VERIFIED_POLICY_AGE` | `kba` when questions were answered |
//!
//! The named levels, weakest first (discovery's `acr_values_supported` in this order):
//! password < multi-factor < phishing-resistant, and verified, verified + multi-factor,
//! verified + phishing-resistant; "verified" and "multi-factor" do not meet each other.

use std::sync::LazyLock;

use crate::oauth::authorize::acr::{Level, Levels};
use crate::oauth::authorize::steps::AuthnSteps;

/// Any sign-in (a password, or a passkey).
pub const ACR_PASSWORD: &str = "urn:surety:acr:password";
/// Two factors: a password and a one-time code (TOTP or a recovery code), or a passkey.
pub const ACR_MFA: &str = "urn:surety:acr:mfa";
/// A passkey (WebAuthn) with user verification: phishing-resistant and multi-factor.
pub const ACR_PHISHING_RESISTANT: &str = "urn:surety:acr:phishing-resistant";
/// The user passed a verified-entity challenge (step-up, `amr` `["pwd", "kba"]`), now or
/// within the policy age (universal credentials).
pub const ACR_VERIFIED: &str = "urn:surety:acr:verified";
/// Verified identity and a multi-factor sign-in.
pub const ACR_VERIFIED_MFA: &str = "urn:surety:acr:verified:mfa";
/// Verified identity and a phishing-resistant sign-in.
pub const ACR_VERIFIED_PHISHING_RESISTANT: &str = "urn:surety:acr:verified:phishing-resistant";

/// Two factors were used.
pub const MFA: Level = Level::property(0);
/// A passkey with user verification (always multi-factor too).
pub const PHISHING_RESISTANT: Level = MFA.and(Level::property(1));
/// Verified identity (the entity challenge).
pub const VERIFIED: Level = Level::property(2);

/// The ladder: every named level, weakest first.
pub const LADDER: [(&str, Level); 6] = [
    (ACR_PASSWORD, Level::BASE),
    (ACR_MFA, MFA),
    (ACR_PHISHING_RESISTANT, PHISHING_RESISTANT),
    (ACR_VERIFIED, VERIFIED),
    (ACR_VERIFIED_MFA, VERIFIED.and(MFA)),
    (
        ACR_VERIFIED_PHISHING_RESISTANT,
        VERIFIED.and(PHISHING_RESISTANT),
    ),
];

/// RFC 8176 `amr` values Surety asserts.
pub mod amr {
    /// Password.
    pub const PWD: &str = "pwd";
    /// One-time password: a TOTP code (RFC 6238) or a recovery code.
    pub const OTP: &str = "otp";
    /// Proof of possession of a hardware-secured key: a device-bound passkey.
    pub const HWK: &str = "hwk";
    /// Proof of possession of a software-secured key: a synced passkey (backup eligible).
    pub const SWK: &str = "swk";
    /// The authenticator verified the user (WebAuthn UV flag: PIN or biometric).
    pub const USER: &str = "user";
    /// Multiple factors.
    pub const MFA: &str = "mfa";
    /// Knowledge-based authentication (the verified-entity questions).
    pub const KBA: &str = "kba";
}

/// Names the ladder's levels on the engine's steps (`app.rs`).
pub fn define(steps: &mut AuthnSteps) {
    for (acr, level) in LADDER {
        steps.define(acr, level);
    }
}

/// The ladder as the engine's [`Levels`] (for code that has no provider at hand, such as
/// the resource servers' `web::guard::RequireAcr`).
pub fn ladder() -> &'static Levels {
    static L: LazyLock<Levels> = LazyLock::new(|| {
        let mut l = Levels::default();
        for (acr, level) in LADDER {
            l.define(acr, level);
        }
        l
    });
    &L
}

/// A level named by policy (a client's `minimum_acr`, a partner's, the server's): one of
/// the ladder's names.
pub fn parse_policy(acr: &str) -> Result<Level, &'static str> {
    ladder()
        .parse(acr)
        .ok_or("not an acr value of this server (see acr_values_supported)")
}

/// The `amr` of a sign-in or step that used `methods`, with `mfa` added when two
/// factors or a user-verified passkey were used (RFC 8176 §2: `mfa`).
pub fn amr_with(previous: &[String], methods: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = previous
        .iter()
        .filter(|m| *m != amr::MFA)
        .cloned()
        .collect();
    for m in methods {
        if !out.iter().any(|x| x == m) {
            out.push((*m).to_owned());
        }
    }
    let knowledge = out.iter().any(|m| m == amr::PWD);
    let otp = out.iter().any(|m| m == amr::OTP);
    let key = out.iter().any(|m| m == amr::HWK || m == amr::SWK);
    let uv = out.iter().any(|m| m == amr::USER);
    if (knowledge && (otp || key)) || (key && uv) {
        out.push(amr::MFA.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_is_ordered_and_combines() {
        let l = ladder();
        let names: Vec<&str> = l.all().collect();
        assert_eq!(names[0], ACR_PASSWORD);
        assert!(l.acr_meets(ACR_PHISHING_RESISTANT, ACR_MFA));
        assert!(l.acr_meets(ACR_VERIFIED_PHISHING_RESISTANT, ACR_VERIFIED));
        assert!(l.acr_meets(ACR_VERIFIED_PHISHING_RESISTANT, ACR_PHISHING_RESISTANT));
        assert!(l.acr_meets(ACR_VERIFIED_MFA, ACR_MFA));
        assert!(!l.acr_meets(ACR_VERIFIED, ACR_MFA));
        assert!(!l.acr_meets(ACR_MFA, ACR_VERIFIED));
        assert!(!l.acr_meets(ACR_VERIFIED_MFA, ACR_PHISHING_RESISTANT));
        assert_eq!(
            l.name(VERIFIED.and(PHISHING_RESISTANT)),
            Some(ACR_VERIFIED_PHISHING_RESISTANT)
        );
        assert!(parse_policy("urn:surety:acr:partner").is_err());
    }

    #[test]
    fn amr_says_mfa_only_for_two_factors() {
        let pwd = amr_with(&[], &[amr::PWD]);
        assert_eq!(pwd, vec!["pwd"]);
        assert_eq!(amr_with(&pwd, &[amr::OTP]), vec!["pwd", "otp", "mfa"]);
        assert_eq!(
            amr_with(&[], &[amr::HWK, amr::USER]),
            vec!["hwk", "user", "mfa"]
        );
        assert_eq!(amr_with(&pwd, &[amr::SWK]), vec!["pwd", "swk", "mfa"]);
        let twice = amr_with(&amr_with(&pwd, &[amr::OTP]), &[amr::OTP]);
        assert_eq!(twice, vec!["pwd", "otp", "mfa"]);
        assert_eq!(amr_with(&pwd, &[amr::KBA]), vec!["pwd", "kba"]);
    }
}
