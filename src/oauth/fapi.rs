//! Per-client security rules: PAR required (RFC 9126 §5, §6), signed request objects
//! required (RFC 9101 §10.5), and the FAPI 2.0 Security Profile (final, §5.3) as a client
//! profile (client metadata `surety_profile`, or the server's `default_profile`).
//!
//! What the profile enforces for a client, and where:
//! - PAR for every authorization request (§5.3.2.2 item 1; `authorize::request`),
//!   with `redirect_uri` in it (item 4);
//! - PKCE with S256 (item 5; `authorize::request`);
//! - only `response_type=code` (§5.3.2.2 item 2), `iss` in the response (RFC 9207, always);
//! - a confidential client authenticated with `private_key_jwt` (§5.3.2.1 item 1,
//!   §5.3.3.4; `client_auth`, and registration in `admin::clients`);
//! - DPoP-bound access tokens (§5.3.2.1 item 2; `dpop::binding`);
//! - an authorization code that lives at most 60 s (§5.3.2.2 item 8);
//! - PS256, ES256 or EdDSA for client assertions and request objects (§5.4.1).
//!
//! Not built: mTLS client authentication and certificate-bound tokens (RFC 8705).

use crate::config::Settings;
use crate::keys::jws::Alg;
use crate::store::{ClientMetadata, SecurityProfile};

/// The signing algorithms the profile allows (FAPI 2.0 §5.4.1).
pub const ALGS: [Alg; 3] = [Alg::PS256, Alg::ES256, Alg::EdDSA];

/// The longest authorization-code lifetime the profile allows (§5.3.2.2 item 8).
pub const MAX_CODE_TTL: u64 = 60;

/// The profile the client is held to: its own, else the server's default.
pub fn profile(s: &Settings, c: &ClientMetadata) -> SecurityProfile {
    c.surety_profile.unwrap_or(s.default_profile)
}

/// Whether the client is held to the FAPI 2.0 Security Profile.
pub fn applies(s: &Settings, c: &ClientMetadata) -> bool {
    profile(s, c) == SecurityProfile::Fapi2Security
}

/// Whether the client's authorization requests must be pushed.
pub fn par_required(s: &Settings, c: &ClientMetadata) -> bool {
    s.require_par || c.require_pushed_authorization_requests || applies(s, c)
}

/// Whether the client's access tokens must be DPoP-bound (RFC 9449 §5.2).
pub fn dpop_required(s: &Settings, c: &ClientMetadata) -> bool {
    c.dpop_bound_access_tokens || applies(s, c)
}

/// Whether the profile lets `alg` sign the client's assertions and request objects.
pub fn alg_allowed(s: &Settings, c: &ClientMetadata, alg: Alg) -> bool {
    !applies(s, c) || ALGS.contains(&alg)
}

/// The lifetime of the client's authorization codes (seconds).
pub fn code_ttl(s: &Settings, c: &ClientMetadata) -> u64 {
    if applies(s, c) {
        s.code_ttl.min(MAX_CODE_TTL)
    } else {
        s.code_ttl
    }
}

/// The ID-token signing alg of a client that registered none: ES256 under the profile
/// (RS256 is not among its algorithms), else RS256.
pub fn default_id_token_alg(s: &Settings, c: &ClientMetadata) -> Alg {
    if applies(s, c) {
        Alg::ES256
    } else {
        Alg::RS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fapi() -> ClientMetadata {
        ClientMetadata {
            surety_profile: Some(SecurityProfile::Fapi2Security),
            ..ClientMetadata::default()
        }
    }

    #[test]
    fn the_profile_comes_from_the_client_or_the_server_default() {
        let mut s = Settings::default();
        let plain = ClientMetadata::default();
        assert!(!applies(&s, &plain) && applies(&s, &fapi()));
        s.default_profile = SecurityProfile::Fapi2Security;
        assert!(applies(&s, &plain));
        let opted_out = ClientMetadata {
            surety_profile: Some(SecurityProfile::None),
            ..ClientMetadata::default()
        };
        assert!(!applies(&s, &opted_out));
    }

    #[test]
    fn profile_rules() {
        let s = Settings {
            code_ttl: 300,
            ..Settings::default()
        };
        let c = fapi();
        assert!(par_required(&s, &c) && dpop_required(&s, &c));
        assert_eq!(code_ttl(&s, &c), 60);
        assert_eq!(code_ttl(&s, &ClientMetadata::default()), 300);
        assert!(alg_allowed(&s, &c, Alg::PS256) && !alg_allowed(&s, &c, Alg::RS256));
        assert!(alg_allowed(&s, &ClientMetadata::default(), Alg::RS256));
        assert_eq!(default_id_token_alg(&s, &c), Alg::ES256);
    }

    #[test]
    fn par_is_required_per_client_or_server_wide() {
        let mut s = Settings::default();
        let mut c = ClientMetadata::default();
        assert!(!par_required(&s, &c));
        c.require_pushed_authorization_requests = true;
        assert!(par_required(&s, &c));
        s.require_par = true;
        assert!(par_required(&s, &ClientMetadata::default()));
    }
}
