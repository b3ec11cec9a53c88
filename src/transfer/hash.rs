//! Streaming SHA-256 in cache-sized pieces, shared by both sides: the sender
//! hashes what it sends, the receiver what it writes (and the prefix it
//! already has when resuming). It only hashes; it reads and writes nothing.

use sha2::{Digest, Sha256};

/// Bytes fed to SHA-256 per call: L2-sized pieces hash markedly faster than
/// the whole 512 KiB chunk at once.
pub const HASH_PIECE: usize = 64 * 1024;

/// Feeds the hasher L2-sized pieces.
pub fn hash_in_pieces(hasher: &mut Sha256, bytes: &[u8]) {
    for piece in bytes.chunks(HASH_PIECE) {
        hasher.update(piece);
    }
}
