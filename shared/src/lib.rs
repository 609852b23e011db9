//! taskgate: the shared logic behind every taskgate Lambda function and the local server.
//!
//! Data flows one way: event -> [`http`] (route, parse) -> [`auth`] (who) -> [`handlers`]
//! (may they: the path's user, then [`revocation`]; what) -> [`tasks`] store -> [`http`]
//! response. The Lambda authorizer ([`authorizer`]) runs the same `auth` and `revocation` checks
//! for routes in any language.

pub mod app;
pub mod auth;
pub mod authorizer;
pub mod aws;
mod ca_bundle;
pub mod config;
pub mod handlers;
pub mod http;
pub mod lambda;
pub mod logging;
pub mod metrics;
pub mod revocation;
pub mod tasks;

pub use app::App;
pub use http::routes::Route;
