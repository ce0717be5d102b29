//! Registration rules of a client's subject identifiers (OpenID Connect Core §8.1,
//! Registration 1.0 §2 `subject_type`, `sector_identifier_uri`): a pairwise client needs
//! a sector — its redirect URIs on one host, or a `sector_identifier_uri`; a
//! `sector_identifier_uri` is an https URL, fetched at registration (`crate::fetch`:
//! timeout, size limit, no private addresses), whose JSON array must list every redirect
//! URI of the client. Refusals are `invalid_client_metadata` naming the field. What the
//! sector then derives: `oauth::subject`. The OpenAPI document does not state these rules
//! as schema (a schema cannot compare hosts; see `client_schema::key_rule` on the schema's
//! budget): the field descriptions do.

use std::collections::HashSet;

use serde_json::Value;

use super::FieldError;
use crate::fetch::Fetcher;
use crate::store::ClientMetadata;

const FIELD: &str = "sector_identifier_uri";

/// The rules that need no fetch: the URL's grammar, and that a pairwise client has a
/// sector.
pub fn check(m: &ClientMetadata) -> Result<(), FieldError> {
    if let Some(u) = &m.sector_identifier_uri {
        crate::uri::check_web_url(u).map_err(|e| FieldError::new(FIELD, e))?;
    }
    crate::oauth::subject::sector_of(m).map_err(|e| FieldError::new(FIELD, e))?;
    Ok(())
}

/// Fetches the client's `sector_identifier_uri`, if any, and checks that its JSON array
/// lists every redirect URI (Registration 1.0 §2, Core §8.1).
pub async fn check_document(fetch: &Fetcher, m: &ClientMetadata) -> Result<(), FieldError> {
    let Some(u) = &m.sector_identifier_uri else {
        return Ok(());
    };
    let refuse = |msg: String| FieldError::new(FIELD, msg);
    let doc = fetch.json(u).await.map_err(|e| refuse(e.to_string()))?;
    let Some(items) = doc.as_array() else {
        return Err(refuse(
            "the document is not a JSON array of redirect URIs".into(),
        ));
    };
    let listed: HashSet<&str> = items.iter().filter_map(Value::as_str).collect();
    match m
        .redirect_uris
        .iter()
        .find(|r| !listed.contains(r.as_str()))
    {
        Some(missing) => Err(refuse(format!(
            "the document does not list the redirect URI {missing}"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SubjectType;

    fn pairwise(uris: &[&str], sector: Option<&str>) -> ClientMetadata {
        ClientMetadata {
            subject_type: SubjectType::Pairwise,
            redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
            sector_identifier_uri: sector.map(str::to_owned),
            ..ClientMetadata::default()
        }
    }

    #[test]
    fn a_pairwise_client_needs_a_sector() {
        assert!(
            check(&pairwise(
                &["https://a.example/1", "https://a.example/2"],
                None
            ))
            .is_ok()
        );
        let spans = check(&pairwise(
            &["https://a.example/cb", "https://b.example/cb"],
            None,
        ));
        assert_eq!(spans.unwrap_err().field, FIELD);
        assert!(
            check(&pairwise(
                &["https://a.example/cb", "https://b.example/cb"],
                Some("https://s.example/ids.json")
            ))
            .is_ok()
        );
        let bad_url = check(&pairwise(&[], Some("ftp://s.example/ids.json")));
        assert_eq!(bad_url.unwrap_err().code, "invalid_client_metadata");
    }

    #[tokio::test]
    async fn the_document_must_be_fetchable() {
        let m = pairwise(&["https://a.example/cb"], Some("https://10.0.0.1/ids.json"));
        let e = check_document(&Fetcher::new(false), &m).await.unwrap_err();
        assert_eq!(e.field, FIELD);
        assert!(e.message.contains("private"), "{}", e.message);
    }
}
