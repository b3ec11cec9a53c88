//! Ferry's rules for the disk, shared by every way files arrive (Ferry's own
//! transfers, the browser share, and later LocalSend) and by the state Ferry
//! keeps: names from the wire made safe inside the download folder
//! ([`names`]), the open folder that creates partial files exclusively and
//! renames them without ever replacing anything ([`folder`]), the atomic
//! write of a small file with the permissions it needs from the start, and
//! owner-only folders and files for Ferry's own state ([`private`]). It owns
//! *how* a file is put on disk; it never talks to the network, never decides
//! whether a transfer is allowed, and leaves *what* is stored and *where* to
//! its callers (config, identity, single instance, transfers).

mod atomic;
pub mod folder;
pub mod names;
pub mod private;

pub(crate) use atomic::write_atomic;

/// Free bytes where `dir` is, or at its nearest existing ancestor (the
/// download folder may not exist yet); `None` when it cannot be told.
pub fn free_space(dir: &std::path::Path) -> Option<u64> {
    dir.ancestors()
        .find(|p| p.is_dir())
        .and_then(|p| fs4::available_space(p).ok())
}
