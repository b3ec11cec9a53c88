//! A data frame laid out as the TLS 1.3 records that will carry it, so a
//! file's bytes can be read from disk straight into their final place and
//! sealed there: no copy between the reader's buffer and the record being
//! encrypted. It owns that layout (record geometry of RFC 8446 §5: 5-byte
//! header, at most 2^14 bytes of plaintext, content type and 16-byte tag
//! after it) and the [`SealWrite`] seam a stream implements to take such a
//! buffer. It does not encrypt (the TLS layer does) and changes nothing on
//! the wire: the frame's bytes are the same, only where they sit in memory
//! differs. A stream that seals nothing writes the plaintext in order.

use std::io::{self, Write};

/// Plaintext carried by one full record (RFC 8446 §5.1).
pub const RECORD_PLAIN: usize = 16 * 1024;

/// A record's header: type, legacy version, length.
pub const RECORD_HEADER: usize = 5;

/// What follows a record's plaintext: its content type and the AEAD tag.
pub const RECORD_TRAILER: usize = 1 + 16;

/// Bytes one full record takes.
const RECORD_SPAN: usize = RECORD_HEADER + RECORD_PLAIN + RECORD_TRAILER;

/// The frame header at the front of the plaintext: kind and length.
const FRAME_HEADER: usize = 5;

/// One data frame's plaintext (frame header, then payload) spread over
/// record-sized slots with room between them for each record's header and
/// trailer. Its buffer is allocated once and refilled.
#[derive(Debug)]
pub struct DataBuf {
    buf: Vec<u8>,
    capacity: usize,
    len: usize,
}

/// Where plaintext byte `pos` of the frame sits in the buffer.
fn offset(pos: usize) -> usize {
    pos / RECORD_PLAIN * RECORD_SPAN + RECORD_HEADER + pos % RECORD_PLAIN
}

impl DataBuf {
    /// A buffer for up to `capacity` payload bytes.
    pub fn new(capacity: usize) -> DataBuf {
        let records = (FRAME_HEADER + capacity).div_ceil(RECORD_PLAIN).max(1);
        DataBuf {
            buf: vec![0u8; records * RECORD_SPAN],
            capacity,
            len: 0,
        }
    }

    /// Payload bytes it can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Payload bytes it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds no payload.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets how many payload bytes it holds (at most its capacity).
    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(self.capacity);
    }

    /// The whole buffer as plain scratch space of at least `capacity` bytes
    /// (its contents are not the payload's).
    pub fn scratch(&mut self) -> &mut [u8] {
        &mut self.buf[..self.capacity]
    }

    /// The slots of payload bytes `from..to`, in order (for a vectored read).
    pub fn slots_mut(&mut self, from: usize, to: usize) -> Vec<&mut [u8]> {
        let to = to.min(self.capacity);
        let mut slots = Vec::with_capacity((to.saturating_sub(from)) / RECORD_PLAIN + 2);
        let mut rest: &mut [u8] = &mut self.buf;
        let mut base = 0;
        let mut pos = FRAME_HEADER + from;
        let end = FRAME_HEADER + to;
        while pos < end {
            let n = (RECORD_PLAIN - pos % RECORD_PLAIN).min(end - pos);
            let at = offset(pos);
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(at - base);
            let (slot, tail) = tail.split_at_mut(n);
            slots.push(slot);
            rest = tail;
            base = at + n;
            pos += n;
        }
        slots
    }

    /// The frame's plaintext (header and payload) in order, slot by slot.
    pub fn plaintext(&self) -> impl Iterator<Item = &[u8]> {
        let end = FRAME_HEADER + self.len;
        (0..end.div_ceil(RECORD_PLAIN)).map(move |record| {
            let pos = record * RECORD_PLAIN;
            let at = offset(pos);
            &self.buf[at..at + RECORD_PLAIN.min(end - pos)]
        })
    }

    /// Writes the frame header (kind, payload length big-endian).
    pub(super) fn set_header(&mut self, kind: u8, len: u32) {
        let at = offset(0);
        self.buf[at] = kind;
        self.buf[at + 1..at + FRAME_HEADER].copy_from_slice(&len.to_be_bytes());
    }

    /// For a stream that seals records in place: the buffer, and how many
    /// plaintext bytes it carries (frame header included). Record `i` starts
    /// at `i * (RECORD_HEADER + RECORD_PLAIN + RECORD_TRAILER)`; every record
    /// but the last is full.
    pub fn records_mut(&mut self) -> (&mut [u8], usize) {
        (&mut self.buf, FRAME_HEADER + self.len)
    }
}

/// A stream that can take a [`DataBuf`]: a TLS writer seals its records in
/// place; any other stream writes its plaintext in order.
pub trait SealWrite: Write {
    /// Writes the frame in `data` (its header already set). The buffer's
    /// contents are spent afterwards.
    fn write_in_place(&mut self, data: &mut DataBuf) -> io::Result<()> {
        for slot in data.plaintext() {
            self.write_all(slot)?;
        }
        Ok(())
    }
}

impl<T: SealWrite + ?Sized> SealWrite for Box<T> {
    fn write_in_place(&mut self, data: &mut DataBuf) -> io::Result<()> {
        (**self).write_in_place(data)
    }
}

impl<T: SealWrite + ?Sized> SealWrite for &mut T {
    fn write_in_place(&mut self, data: &mut DataBuf) -> io::Result<()> {
        (**self).write_in_place(data)
    }
}

impl SealWrite for Vec<u8> {}

impl SealWrite for std::net::TcpStream {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cover_the_payload_in_order_between_record_gaps() {
        let len = 3 * RECORD_PLAIN + 100;
        let mut data = DataBuf::new(len);
        let mut next = 0u8;
        for (from, to) in [(0, 7), (7, RECORD_PLAIN), (RECORD_PLAIN, len)] {
            for slot in data.slots_mut(from, to) {
                for b in slot.iter_mut() {
                    *b = next;
                    next = next.wrapping_add(1);
                }
            }
        }
        data.set_len(len);
        data.set_header(1, len as u32);
        let plain: Vec<u8> = data.plaintext().flatten().copied().collect();
        assert_eq!(plain.len(), FRAME_HEADER + len);
        assert_eq!(plain[..FRAME_HEADER], [1, 0, 0, 0xc0, 100]);
        let want: Vec<u8> = (0..len).map(|i| i as u8).collect();
        assert_eq!(plain[FRAME_HEADER..], want);
        // The gaps are left for record headers and trailers.
        let (buf, carried) = data.records_mut();
        assert_eq!(carried, FRAME_HEADER + len);
        assert!(buf.len() >= 4 * RECORD_SPAN);
        assert_eq!(buf[..RECORD_HEADER], [0; RECORD_HEADER]);
    }
}
