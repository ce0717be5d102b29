//! Surety: an OAuth 2.0 / OpenID Connect identity provider.
//!
//! Layers (arrows point down only; `docs/architecture.md`): `app` (wiring) → `web`
//! (axum, the only HTTP-aware layer) → the product modules (`accounts`, `admin`,
//! `connect`, `partners`, `resource`, `verify`) → `oauth`, the protocol engine, which
//! products plug into through its extension points (`oauth::extensions`) → the lower
//! layers: `store` (durable state, SQLite or PostgreSQL), `cache` (ephemeral, single-use
//! state, in-process or Redis), `keys`, `outbox`, `fetch` (registration documents),
//! `clock`, `config`, `util`. Only `web` knows HTTP (axum); only `store` and `cache` know
//! sqlx and redis. `layering` checks the arrows.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connect;
pub mod demo;
pub mod fetch;
pub mod keys;
#[cfg(test)]
mod layering;
pub mod oauth;
pub mod outbox;
pub mod partners;
pub mod resource;
pub mod scope;
pub mod store;
pub mod synth;
pub mod uri;
pub mod util;
pub mod verify;
pub mod web;
