//! Sequences from the wire are counted before they are allocated. The codec
//! bounds the bytes one message may take, but a frame of 16 MiB can claim
//! 800,000 empty offer entries that take 80 MB once decoded; each list in a
//! message is therefore decoded through a visitor that refuses a count over
//! the list's limit as soon as the length prefix is read, and never reserves
//! more than a small amount up front whatever the prefix claims. The wire
//! format is unchanged.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Error, SeqAccess, Visitor};

use super::limits::{MAX_OFFER_ITEMS, MAX_PAGE_ENTRIES, MAX_PATH_DEPTH};
use super::messages::{Contents, Entry, MAX_HEARD, WantedFile};

/// Most items reserved before they arrive (the rest grow as they do).
const PREALLOCATE: usize = 1024;

struct BoundedSeq<T> {
    max: usize,
    what: &'static str,
    item: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for BoundedSeq<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at most {} {}", self.max, self.what)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let claimed = seq.size_hint().unwrap_or(0);
        if claimed > self.max {
            return Err(A::Error::custom(format_args!(
                "{claimed} {} where at most {} are allowed",
                self.what, self.max
            )));
        }
        let mut items = Vec::with_capacity(claimed.min(PREALLOCATE));
        while let Some(item) = seq.next_element()? {
            if items.len() == self.max {
                return Err(A::Error::custom(format_args!(
                    "more than {} {}",
                    self.max, self.what
                )));
            }
            items.push(item);
        }
        Ok(items)
    }
}

fn bounded<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
    max: usize,
    what: &'static str,
) -> Result<Vec<T>, D::Error> {
    deserializer.deserialize_seq(BoundedSeq {
        max,
        what,
        item: PhantomData,
    })
}

/// An offer's top-level items: at most [`MAX_OFFER_ITEMS`].
pub(super) fn entries<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Entry>, D::Error> {
    bounded(d, MAX_OFFER_ITEMS, "offer entries")
}

/// An offer's folder contents: one per top-level folder at most.
pub(super) fn contents<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Contents>, D::Error> {
    bounded(d, MAX_OFFER_ITEMS, "folder contents")
}

/// The items an accept asks for: no more than an offer may hold.
pub(super) fn wanted<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<WantedFile>, D::Error> {
    bounded(d, MAX_OFFER_ITEMS, "wanted files")
}

/// One page of a folder's listing: at most [`MAX_PAGE_ENTRIES`].
pub(super) fn page<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Entry>, D::Error> {
    bounded(d, MAX_PAGE_ENTRIES, "page entries")
}

/// The files wanted from one page: no more than a page holds.
pub(super) fn page_wanted<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<WantedFile>, D::Error> {
    bounded(d, MAX_PAGE_ENTRIES, "wanted files")
}

/// A path's components: at most [`MAX_PATH_DEPTH`].
pub(super) fn path<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    bounded(d, MAX_PATH_DEPTH, "path components")
}

/// The device ids a hello lists: at most [`MAX_HEARD`].
pub(super) fn heard<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    bounded(d, MAX_HEARD, "device ids")
}

#[cfg(test)]
mod tests {
    use crate::protocol::codec;
    use crate::protocol::limits::MAX_OFFER_ITEMS as MAX_OFFER_ENTRIES;
    use crate::protocol::messages::{DeviceInfo, Entry, EntryKind, Message, Offer};

    fn offer_of(count: usize) -> Message {
        let empty = Entry {
            path: vec!["a".into()],
            kind: EntryKind::Directory,
            size: 0,
            modified_ms: None,
        };
        Message::Offer(Offer {
            transfer_id: 1,
            sender: DeviceInfo {
                device_id: "x".into(),
                alias: "x".into(),
                os: "linux".into(),
                port: 1,
            },
            entries: vec![empty; count],
            pin: None,
            contents: Vec::new(),
        })
    }

    #[test]
    fn an_offer_claiming_too_many_entries_is_refused_at_its_count() {
        let bytes = codec::encode(&offer_of(MAX_OFFER_ENTRIES + 1)).expect("encode");
        let err = codec::decode::<Message>(&bytes).expect_err("over the limit");
        let text = err.to_string();
        // Refused from the length prefix, before any entry was decoded.
        assert!(
            text.contains(&format!("{} offer entries", MAX_OFFER_ENTRIES + 1)),
            "{text}"
        );
    }

    #[test]
    fn an_offer_at_the_limit_still_decodes() {
        let bytes = codec::encode(&offer_of(MAX_OFFER_ENTRIES)).expect("encode");
        let Message::Offer(offer) = codec::decode::<Message>(&bytes).expect("decode") else {
            panic!("an offer")
        };
        assert_eq!(offer.entries.len(), MAX_OFFER_ENTRIES);
    }

    #[test]
    fn a_claimed_count_with_no_items_behind_it_allocates_nothing_big() {
        // A hello whose list claims 2^40 ids and carries none: the count is
        // refused; and a count under the limit with missing items fails as a
        // short message, having reserved at most a small amount.
        let mut bytes = codec::encode(&Message::Hello(crate::protocol::Hello {
            device: DeviceInfo {
                device_id: "x".into(),
                alias: "x".into(),
                os: "l".into(),
                port: 1,
            },
            heard: Vec::new(),
        }))
        .expect("encode");
        let len_at = bytes.len() - 8;
        bytes[len_at..].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let text = codec::decode::<Message>(&bytes)
            .expect_err("refused")
            .to_string();
        assert!(text.contains("device ids where at most"), "{text}");
        bytes[len_at..].copy_from_slice(&200u64.to_le_bytes());
        assert!(codec::decode::<Message>(&bytes).is_err());
    }
}
