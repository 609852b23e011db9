//! HTTP in and out: the route table, request parsing, JSON and RFC 9457 problem responses.

pub mod problem;
pub mod request;
pub mod response;
pub mod routes;

pub use problem::{Problem, ProblemKind};
