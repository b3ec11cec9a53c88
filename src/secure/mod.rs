//! Who a device is and how we talk to it privately: this device's key and
//! certificate ([`identity`]), the TLS 1.3 record layer ([`tls`]) and the
//! authenticated connection built from both ([`link`]). Used by Ferry's own
//! transfers and discovery probes, and by every other service that needs a
//! device's identity. It never decides whom to trust — that is the caller's
//! rule — and never reads or writes a transfer's files.

pub mod identity;
pub mod link;
pub mod pairing;
pub mod pin;
pub mod random;
pub mod tls;

pub use identity::{Identity, IdentityError, short_code};
