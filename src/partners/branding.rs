//! A partner's portal customization (docs/product.md §1), parsed from the free-form
//! `branding` JSON of its record. Every value that reaches the page or its headers is
//! checked here first: colours are `#` + 3 or 6 hex digits, links are https (or http on
//! a loopback host), frame origins are bare `scheme://host[:port]`. Anything else is
//! ignored (logged) and the default used, so a bad value can never break out of the CSS,
//! an attribute or the `Content-Security-Policy`.

use serde_json::Value;

/// Portal sections a partner may hide (`hidden_sections`).
pub const SECTIONS: [&str; 4] = ["details", "credentials", "usage", "apps"];

const DEFAULT_PRIMARY: &str = "#2747d8";
const DEFAULT_BACKGROUND: &str = "#f4f5f7";
/// Longest display name shown (characters).
const MAX_NAME: usize = 128;
/// Most frame origins honoured.
const MAX_ORIGINS: usize = 16;

/// A partner's branding, every field validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Branding {
    pub display_name: String,
    pub logo_url: Option<String>,
    pub primary_color: Colour,
    pub background_color: Colour,
    pub support_url: Option<String>,
    pub hidden_sections: Vec<&'static str>,
    /// Origins allowed to frame the portal, in the partner's order.
    pub frame_origins: Vec<String>,
}

impl Branding {
    /// Reads `branding` of the partner named `partner_name` (the display-name fallback).
    pub fn of(partner_name: &str, v: &Value) -> Self {
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let display_name = text("display_name")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(partner_name)
            .chars()
            .take(MAX_NAME)
            .collect();
        let colour = |k: &str, default: &str| {
            text(k)
                .and_then(|c| checked(k, Colour::parse(c)))
                .unwrap_or_else(|| Colour(default.to_owned()))
        };
        let link = |k: &str| text(k).and_then(|u| checked(k, web_url(u)));
        let strings = |k: &str| {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let hidden_sections = SECTIONS
            .into_iter()
            .filter(|s| strings("hidden_sections").contains(s))
            .collect();
        let mut frame_origins: Vec<String> = Vec::new();
        for o in strings("frame_origins") {
            if let Some(o) = checked("frame_origins", frame_origin(o))
                && !frame_origins.contains(&o)
                && frame_origins.len() < MAX_ORIGINS
            {
                frame_origins.push(o);
            }
        }
        Self {
            display_name,
            logo_url: link("logo_url"),
            primary_color: colour("primary_color", DEFAULT_PRIMARY),
            background_color: colour("background_color", DEFAULT_BACKGROUND),
            support_url: link("support_url"),
            hidden_sections,
            frame_origins,
        }
    }

    pub fn shows(&self, section: &str) -> bool {
        !self.hidden_sections.contains(&section)
    }

    /// The `frame-ancestors` source list: the frame origins, or `'none'`.
    pub fn frame_ancestors(&self) -> String {
        if self.frame_origins.is_empty() {
            "'none'".to_owned()
        } else {
            self.frame_origins.join(" ")
        }
    }

    /// The logo's origin when it is plain http (loopback only), for `img-src`.
    pub fn insecure_logo_origin(&self) -> Option<String> {
        let u = url::Url::parse(self.logo_url.as_deref()?).ok()?;
        (u.scheme() == "http").then(|| u.origin().ascii_serialization())
    }
}

fn checked<T>(field: &str, v: Option<T>) -> Option<T> {
    if v.is_none() {
        tracing::debug!(field, "ignoring an invalid branding value");
    }
    v
}

/// A CSS colour: `#` followed by 3 or 6 hex digits.
#[derive(Debug, Clone, PartialEq)]
pub struct Colour(String);

impl Colour {
    pub fn parse(s: &str) -> Option<Self> {
        let hex = s.strip_prefix('#')?;
        (matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Black or white, whichever reads better on this colour (WCAG relative luminance).
    pub fn text_on(&self) -> &'static str {
        let hex = &self.0[1..];
        let channel = |i: usize| -> f64 {
            let v = if hex.len() == 3 {
                u8::from_str_radix(&hex[i..=i], 16).map(|d| d * 17)
            } else {
                u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            };
            let c = f64::from(v.unwrap_or(0)) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let l = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
        if l > 0.179 { "#111111" } else { "#ffffff" }
    }
}

fn is_loopback(host: Option<&str>) -> bool {
    matches!(host, Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// An absolute https URL (or http on a loopback host), as the URL parser serializes it.
pub fn web_url(s: &str) -> Option<String> {
    if s.chars().count() > 2048 || crate::uri::check_web_url(s).is_err() {
        return None;
    }
    let u = url::Url::parse(s).ok()?;
    let ok = match u.scheme() {
        "https" => true,
        "http" => is_loopback(u.host_str()),
        _ => false,
    };
    (ok && u.username().is_empty() && u.password().is_none()).then(|| u.to_string())
}

/// A bare origin, `scheme://host[:port]` (a trailing `/` tolerated, no wildcard), https
/// or loopback http ([`crate::uri::check_origin`]); returned in its serialized form
/// (lowercase host, no default port), safe inside a CSP source list and as a
/// `postMessage` target origin.
pub fn frame_origin(s: &str) -> Option<String> {
    crate::uri::check_origin(s).ok()?;
    let u = url::Url::parse(s).ok()?;
    Some(u.origin().ascii_serialization())
}

/// The `branding` object in the OpenAPI documents: what [`validate`] accepts.
pub struct BrandingInput;

impl utoipa::PartialSchema for BrandingInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        let text = |pattern: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern))
        };
        let colour = || text("^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$");
        let url = || text(crate::uri::WEB_URL_PATTERN).max_length(Some(2048));
        ObjectBuilder::new()
            .property(
                "display_name",
                text(r"^[^\u0000]*[^\s\u0000][^\u0000]*$").max_length(Some(MAX_NAME)),
            )
            .property("logo_url", url())
            .property("support_url", url())
            .property("primary_color", colour())
            .property("background_color", colour())
            .property(
                "hidden_sections",
                ArrayBuilder::new().items(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(SECTIONS)),
                ),
            )
            .property(
                "frame_origins",
                ArrayBuilder::new()
                    .items(text(crate::uri::ORIGIN_PATTERN))
                    .max_items(Some(MAX_ORIGINS)),
            )
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ))
            .description(Some(
                "How the embedded account portal looks and where it may be framed.",
            ))
            .into()
    }
}
impl utoipa::ToSchema for BrandingInput {}

/// Checks a submitted `branding` object (admin API) so a partner hears about a bad value
/// when it sets it, not by its silent absence from the page.
pub fn validate(v: &Value) -> Result<(), crate::admin::FieldError> {
    use crate::admin::FieldError;
    let bad = |m: String| Err(FieldError::invalid("branding", m));
    let Some(obj) = v.as_object() else {
        return bad("must be an object".into());
    };
    for (k, val) in obj {
        let text = val.as_str();
        let ok = match k.as_str() {
            "display_name" => {
                text.is_some_and(|t| !t.trim().is_empty() && t.chars().count() <= MAX_NAME)
            }
            "logo_url" | "support_url" => text.and_then(web_url).is_some(),
            "primary_color" | "background_color" => text.and_then(Colour::parse).is_some(),
            "hidden_sections" => val.as_array().is_some_and(|a| {
                a.iter()
                    .all(|x| x.as_str().is_some_and(|s| SECTIONS.contains(&s)))
            }),
            "frame_origins" => val.as_array().is_some_and(|a| {
                a.len() <= MAX_ORIGINS
                    && a.iter()
                        .all(|x| x.as_str().and_then(frame_origin).is_some())
            }),
            _ => return bad(format!("unknown key {k}")),
        };
        if !ok {
            return bad(format!("invalid {k}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn colours_are_hex_only() {
        assert_eq!(Colour::parse("#A1b2C3").unwrap().as_str(), "#a1b2c3");
        assert!(Colour::parse("#fff").is_some());
        for bad in [
            "red",
            "#ffff",
            "#gggggg",
            "fff",
            "#fff;}body{x:y",
            "#ffffff\"",
            "",
        ] {
            assert!(Colour::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Colour::parse("#ffffff").unwrap().text_on(), "#111111");
        assert_eq!(Colour::parse("#000").unwrap().text_on(), "#ffffff");
        assert_eq!(Colour::parse("#2747d8").unwrap().text_on(), "#ffffff");
    }

    #[test]
    fn urls_are_https_or_loopback_http() {
        assert!(web_url("https://help.example.com/a?b=c").is_some());
        assert!(web_url("http://127.0.0.1:9000/logo.png").is_some());
        assert!(web_url("http://localhost/x").is_some());
        for bad in [
            "http://help.example.com",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "//evil.example",
            "/relative",
            "https://user:pw@example.com",
        ] {
            assert!(web_url(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn frame_origins_are_bare_origins() {
        assert_eq!(
            frame_origin("https://partner.example").as_deref(),
            Some("https://partner.example")
        );
        assert_eq!(
            frame_origin("https://partner.example:8443/").as_deref(),
            Some("https://partner.example:8443")
        );
        assert!(frame_origin("http://127.0.0.1:3000").is_some());
        for bad in [
            "https://partner.example/path",
            "https://partner.example?x",
            "https://*.partner.example",
            "http://partner.example",
            "https://a.example https://b.example",
            "https://a.example;script-src *",
            "'self'",
            "*",
            "HTTPS://Partner.Example",
        ] {
            assert!(frame_origin(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn branding_falls_back_and_filters() {
        let b = Branding::of(
            "Acme",
            &json!({
                "display_name": "  ",
                "primary_color": "red",
                "background_color": "#000",
                "support_url": "javascript:alert(1)",
                "logo_url": "https://cdn.example/logo.png",
                "hidden_sections": ["usage", "nope", 3],
                "frame_origins": ["https://a.example", "https://a.example/", "ftp://x", "https://b.example"]
            }),
        );
        assert_eq!(b.display_name, "Acme");
        assert_eq!(b.primary_color.as_str(), DEFAULT_PRIMARY);
        assert_eq!(b.background_color.as_str(), "#000");
        assert_eq!(b.support_url, None);
        assert_eq!(b.logo_url.as_deref(), Some("https://cdn.example/logo.png"));
        assert_eq!(b.hidden_sections, vec!["usage"]);
        assert!(!b.shows("usage") && b.shows("apps"));
        assert_eq!(b.frame_ancestors(), "https://a.example https://b.example");
        assert_eq!(Branding::of("Acme", &json!({})).frame_ancestors(), "'none'");
        assert_eq!(Branding::of("Acme", &json!("x")).display_name, "Acme");
    }
}
