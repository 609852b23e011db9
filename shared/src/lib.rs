//! taskgate: the shared logic behind every taskgate Lambda function and the local server.
//!
//! Data flows one way: event -> [`http`] (route, parse) -> [`auth`] (who) -> [`handlers`]
//! (may they; what) -> [`tasks`] store -> [`http`] response.

pub mod app;
pub mod auth;
pub mod aws;
pub mod config;
pub mod handlers;
pub mod http;
pub mod lambda;
pub mod logging;
pub mod tasks;

pub use app::App;
pub use http::routes::Route;

/// Every binary built on this crate (the functions, the local server, the tests and benchmarks)
/// allocates with mimalloc: a request makes some forty small allocations, and mimalloc serves
/// them in fewer instructions than glibc's malloc, which also stops to merge its free lists
/// whenever a larger block is asked for (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
