//! Thumbnails of shared pictures for the page (`GET t/N`), made on the fly
//! and kept small in memory. A JPEG that carries the small preview a camera
//! or phone writes into its EXIF block is answered with that preview, read
//! from the first [`EXIF_WINDOW`] bytes only. Otherwise a PNG or JPEG up to
//! [`MAX_SOURCE_BYTES`] and [`MAX_PIXELS`] is decoded (streamed from disk,
//! under an allocation limit, one at a time) and shrunk to [`THUMB_SIZE`]
//! pixels; anything larger, or any other type, has no thumbnail (404) and
//! the page keeps its icon. This module reads shared files; it writes none.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::Response;
use hyper::header::{self, HeaderValue};

use super::State;
use super::body::{self, ResponseBody};
use super::server::{not_found, with_common_headers};

/// Longest side of a thumbnail, in pixels (twice the page's 2.5 rem icon).
pub const THUMB_SIZE: u32 = 96;

/// Largest picture file a thumbnail is decoded from.
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Most pixels a picture may have to be decoded (24 megapixels: about
/// 72 MiB decoded, so only one decode runs at a time).
pub const MAX_PIXELS: u64 = 24_000_000;

/// How much of a JPEG is read to find its EXIF preview.
const EXIF_WINDOW: usize = 64 * 1024;

/// Whether `name` is a picture the page shows a thumbnail for.
pub fn is_picture(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jpg", ".jpeg", ".png"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// `GET t/N`: the thumbnail of shared file `path`, or 404.
pub async fn respond(state: Arc<State>, path: PathBuf) -> Response<ResponseBody> {
    // One decode at a time bounds the memory all thumbnails take together.
    let Ok(_permit) = state.thumb_permit.acquire().await else {
        return not_found();
    };
    let made = tokio::task::spawn_blocking(move || thumbnail(&path)).await;
    match made {
        Ok(Some((bytes, mime))) => {
            let mut response = with_common_headers(Response::new(body::full(bytes)));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            response
        }
        _ => not_found(),
    }
}

/// The thumbnail's bytes and type, or `None` when there is none to make.
fn thumbnail(path: &Path) -> Option<(Vec<u8>, &'static str)> {
    let mut file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    let mut head = Vec::with_capacity(EXIF_WINDOW.min(size as usize));
    (&mut file)
        .take(EXIF_WINDOW as u64)
        .read_to_end(&mut head)
        .ok()?;
    if let Some(preview) = exif_preview(&head) {
        return Some((preview.to_vec(), "image/jpeg"));
    }
    if size > MAX_SOURCE_BYTES {
        return None;
    }
    drop(head);
    let open = || {
        image::ImageReader::new(BufReader::new(File::open(path).ok()?))
            .with_guessed_format()
            .ok()
    };
    let (width, height) = open()?.into_dimensions().ok()?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return None;
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_PIXELS * 4);
    let mut reader = open()?;
    reader.limits(limits);
    let picture = reader.decode().ok()?;
    let small = picture.thumbnail(THUMB_SIZE, THUMB_SIZE);
    drop(picture);
    let mut out = std::io::Cursor::new(Vec::new());
    small.write_to(&mut out, image::ImageFormat::Png).ok()?;
    Some((out.into_inner(), "image/png"))
}

/// The JPEG preview inside a JPEG's EXIF block (IFD1's
/// JPEGInterchangeFormat), when `head` holds all of it.
fn exif_preview(head: &[u8]) -> Option<&[u8]> {
    if head.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    // Walk the segments before the image data looking for APP1 "Exif".
    loop {
        let marker = head.get(at..at + 4)?;
        if marker[0] != 0xFF || marker[1] == 0xDA {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([marker[2], marker[3]]));
        let segment = head.get(at + 4..at + 2 + len)?;
        if marker[1] == 0xE1 && segment.starts_with(b"Exif\0\0") {
            return tiff_preview(&segment[6..]);
        }
        at += 2 + len;
    }
}

/// The preview named by IFD1 of a TIFF block.
fn tiff_preview(tiff: &[u8]) -> Option<&[u8]> {
    let little = match tiff.get(..4)? {
        [b'I', b'I', 42, 0] => true,
        [b'M', b'M', 0, 42] => false,
        _ => return None,
    };
    let u16_at = |i: usize| -> Option<usize> {
        let b = tiff.get(i..i + 2)?;
        let v = if little {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        };
        Some(usize::from(v))
    };
    let u32_at = |i: usize| -> Option<usize> {
        let b = tiff.get(i..i + 4)?;
        let v = if little {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        };
        usize::try_from(v).ok()
    };
    let ifd0 = u32_at(4)?;
    let ifd1 = u32_at(
        ifd0.checked_add(2)?
            .checked_add(u16_at(ifd0)?.checked_mul(12)?)?,
    )?;
    if ifd1 == 0 {
        return None;
    }
    let (mut offset, mut length) = (None, None);
    for entry in 0..u16_at(ifd1)?.min(64) {
        let e = ifd1 + 2 + entry * 12;
        match u16_at(e)? {
            0x0201 => offset = u32_at(e + 8),
            0x0202 => length = u32_at(e + 8),
            _ => {}
        }
    }
    let (offset, length) = (offset?, length?);
    let preview = tiff.get(offset..offset.checked_add(length)?)?;
    preview.starts_with(&[0xFF, 0xD8]).then_some(preview)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG whose EXIF block (little-endian TIFF) has an IFD1 preview.
    fn with_preview(preview: &[u8]) -> Vec<u8> {
        let mut tiff = vec![b'I', b'I', 42, 0, 8, 0, 0, 0];
        // IFD0: no entries, next IFD at 14.
        tiff.extend_from_slice(&[0, 0, 14, 0, 0, 0]);
        // IFD1 at 14: two entries, then no next IFD; the preview at 44.
        tiff.extend_from_slice(&[2, 0]);
        tiff.extend_from_slice(&[0x01, 0x02, 4, 0, 1, 0, 0, 0, 44, 0, 0, 0]);
        let len = u8::try_from(preview.len()).expect("short");
        tiff.extend_from_slice(&[0x02, 0x02, 4, 0, 1, 0, 0, 0, len, 0, 0, 0]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        tiff.extend_from_slice(preview);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let seg_len = u16::try_from(app1.len() + 2).expect("short");
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
        jpeg.extend_from_slice(&seg_len.to_be_bytes());
        jpeg.extend_from_slice(&app1);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
        jpeg
    }

    #[test]
    fn the_exif_preview_is_found_and_bounded() {
        let preview = [0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9];
        let jpeg = with_preview(&preview);
        assert_eq!(exif_preview(&jpeg), Some(&preview[..]));
        // Cut short, or not a JPEG: no preview, no panic.
        for cut in 0..jpeg.len() {
            let _ = exif_preview(&jpeg[..cut]);
        }
        assert_eq!(exif_preview(b"\x89PNG"), None);
        assert!(
            exif_preview(&with_preview(&[1, 2, 3])).is_none(),
            "not a JPEG preview"
        );
    }

    #[test]
    fn a_png_gets_a_small_png_thumbnail() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("big.png");
        image::RgbImage::from_pixel(640, 320, image::Rgb([200, 30, 30]))
            .save(&path)
            .expect("save");
        let (bytes, mime) = thumbnail(&path).expect("thumbnail");
        assert_eq!(mime, "image/png");
        let small = image::load_from_memory(&bytes).expect("decode");
        assert_eq!((small.width(), small.height()), (96, 48));
        std::fs::write(dir.path().join("not.png"), b"garbage").expect("write");
        assert!(thumbnail(&dir.path().join("not.png")).is_none());
    }
}
