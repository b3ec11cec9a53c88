//! Every hard limit of the wire, in one place. Each constant is documented in
//! `docs/PROTOCOL.md` and pinned by a test, so changing one is a visible,
//! deliberate protocol change. This module only states numbers; it enforces nothing.

/// Largest control frame payload (a bincode message), in bytes. A page of
/// [`MAX_PAGE_ENTRIES`] entries of long paths still fits.
pub const MAX_CONTROL_FRAME: u32 = 16 * 1024 * 1024;

/// Largest first control payload of a connection (a hello or the pairing
/// commitment; an offer comes later): a device that has proven nothing but a
/// self-made key gets no more than this before it has taken part in pairing.
pub const MAX_FIRST_FRAME: u32 = 64 * 1024;

/// Largest data frame payload (raw file bytes), in bytes.
pub const MAX_DATA_FRAME: u32 = 1024 * 1024;

/// Size of the data frames a sender emits while streaming a file. Large enough
/// that the 5-byte frame header is noise (0.002 %), small enough to keep memory low.
pub const DATA_CHUNK: usize = 512 * 1024;

/// Most top-level items (files, folders and texts together) one offer may
/// carry. Not a limit on the files sent: everything inside a folder comes in
/// pages; this only bounds what one decoded offer takes (a person picks
/// folders, not 65,536 loose files).
pub const MAX_OFFER_ITEMS: usize = 65_536;

/// Most entries in one page of a folder's listing.
pub const MAX_PAGE_ENTRIES: usize = 1024;

/// Most pages a receiver holds whose files have not all arrived; a sender
/// that lists further ahead is in breach (Ferry's sender keeps 4 ahead).
pub const MAX_OPEN_PAGES: usize = 8;

/// Most path components in one entry's relative path.
pub const MAX_PATH_DEPTH: usize = 48;

/// Longest single path component (file or folder name), in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// Largest total size of all text entries in one offer, in UTF-8 bytes.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

/// Longest device alias, in UTF-8 bytes.
pub const MAX_ALIAS_BYTES: usize = 64;

/// Longest free-form reason (decline, cancel, failure), in UTF-8 bytes.
pub const MAX_REASON_BYTES: usize = 1024;

/// Largest discovery beacon datagram, in bytes (header included). The
/// largest legal beacon (every name at [`MAX_ALIAS_BYTES`]) takes 244.
pub const MAX_BEACON_BYTES: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;

    /// These numbers are part of the protocol: a change here must also change
    /// docs/PROTOCOL.md and, usually, the protocol version.
    #[test]
    fn limits_are_pinned() {
        assert_eq!(MAX_CONTROL_FRAME, 16_777_216);
        assert_eq!(MAX_DATA_FRAME, 1_048_576);
        assert_eq!(DATA_CHUNK, 524_288);
        assert_eq!(MAX_OFFER_ITEMS, 65_536);
        assert_eq!(MAX_PAGE_ENTRIES, 1024);
        assert_eq!(MAX_OPEN_PAGES, 8);
        assert_eq!(MAX_PATH_DEPTH, 48);
        assert_eq!(MAX_NAME_BYTES, 255);
        assert_eq!(MAX_TEXT_BYTES, 262_144);
        assert_eq!(MAX_ALIAS_BYTES, 64);
        assert_eq!(MAX_REASON_BYTES, 1024);
        assert_eq!(MAX_BEACON_BYTES, 512);
        assert!(DATA_CHUNK as u32 <= MAX_DATA_FRAME);
    }
}
