//! Sign-out that ends API access. Each user's revocation state (a `not_before` second and the
//! revoked session ids) lives in the user's own partition; every authenticated request is
//! checked against it, through a per-instance cache whose age bound (`REVOCATION_TTL_S`) is how
//! late any instance can learn of a revocation. The model, bound and cost: docs/sessions.md.

mod cache;
mod memory;
mod session_id;
mod state;
mod store;

pub use cache::{DEFAULT_REVOCATION_TTL, Revocations, revocation_ttl};
pub use memory::MemoryRevocations;
pub use session_id::SessionId;
pub use state::{MAX_REVOKED_SESSIONS, Revocation, RevocationState, Scope};
pub use store::RevocationStore;
