//! Downloads: one shared file (whole, or one byte range so browsers and curl
//! can resume), or a shared folder as a ZIP written on the fly. Bytes are
//! read on a blocking thread in [`CHUNK`]-sized pieces and handed to the
//! network through a bounded channel, so memory stays small for any size.
//! Every download is sent as an attachment under
//! `Content-Security-Policy: sandbox` (and the common `nosniff`), and a type
//! a browser would render with script (HTML, SVG, XML) goes as
//! `application/octet-stream`: a shared file never runs in the page's origin.
//! This module reads shared files; it never writes to disk.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::State;
use super::body::{self, CHUNK, DownloadMeter, Producer, ResponseBody};
use super::items::{self, SharedItem};
use super::range::{self, RangeAnswer};
use super::server::{respond_text, with_common_headers};
use crate::api::ShareEvent;
use crate::api::TransferId;

fn header_str(req: &Request<Incoming>, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn set(response: &mut Response<ResponseBody>, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// The common headers, and those that keep downloaded bytes inert: should a
/// browser render the file despite the attachment, it runs in a sandbox (an
/// opaque origin, no script), never in the share page's origin.
fn download_response(body: ResponseBody, name: &str) -> Response<ResponseBody> {
    let mut response = with_common_headers(Response::new(body));
    set(&mut response, header::CONTENT_SECURITY_POLICY, "sandbox");
    set(
        &mut response,
        header::CONTENT_DISPOSITION,
        &items::content_disposition(name),
    );
    response
}

/// Serves the file at `path` under the download name `name`.
pub fn file(
    req: &Request<Incoming>,
    state: &State,
    peer: SocketAddr,
    name: &str,
    path: &Path,
) -> Response<ResponseBody> {
    let opened = File::open(path).and_then(|f| {
        let meta = f.metadata()?;
        if meta.is_file() {
            Ok((f, meta))
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, "not a file"))
        }
    });
    let (file, meta) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::warn!(path = %path.display(), "shared file unavailable: {e}");
            return respond_text(
                StatusCode::GONE,
                "This file is no longer available on the computer that shares it.",
            );
        }
    };
    let len = meta.len();
    let modified = meta.modified().ok();
    let etag = format!(
        "\"{len:x}-{:x}\"",
        modified
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis())
    );
    let last_modified = modified.map(httpdate::fmt_http_date);

    // If-Range: honour the range only while the file is the one the client has part of.
    let range_header =
        header_str(req, header::RANGE).filter(|_| match header_str(req, header::IF_RANGE) {
            None => true,
            Some(validator) => {
                validator == etag || last_modified.as_deref() == Some(validator.trim())
            }
        });
    let (status, start, count) = match range::answer(range_header, len) {
        RangeAnswer::Full => (StatusCode::OK, 0, len),
        RangeAnswer::Partial { start, end } => {
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeAnswer::Unsatisfiable => {
            let mut response = respond_text(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "That byte range is not in the file.",
            );
            set(
                &mut response,
                header::CONTENT_RANGE,
                &format!("bytes */{len}"),
            );
            return response;
        }
    };

    let body = if req.method() == Method::HEAD {
        body::empty()
    } else {
        let id = TransferId::fresh();
        state.events.emit(ShareEvent::DownloadStarted {
            id,
            from: peer,
            name: name.to_string(),
            bytes: Some(count),
        });
        let meter = DownloadMeter::new(id, state.events.clone(), Some(count));
        let (streamed, producer) = body::streamed(Some(count), meter);
        tokio::task::spawn_blocking(move || pump_file(file, start, count, producer));
        streamed.boxed()
    };
    let mut response = download_response(body, name);
    *response.status_mut() = status;
    set(
        &mut response,
        header::CONTENT_TYPE,
        items::content_type(name),
    );
    set(&mut response, header::CONTENT_LENGTH, &count.to_string());
    set(&mut response, header::ACCEPT_RANGES, "bytes");
    set(&mut response, header::ETAG, &etag);
    if let Some(lm) = &last_modified {
        set(&mut response, header::LAST_MODIFIED, lm);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let end = start + count - 1;
        set(
            &mut response,
            header::CONTENT_RANGE,
            &format!("bytes {start}-{end}/{len}"),
        );
    }
    response
}

/// Reads `count` bytes from `start` and hands them to the network.
fn pump_file(mut file: File, start: u64, count: u64, producer: Producer) {
    let result = (|| -> io::Result<()> {
        file.seek(SeekFrom::Start(start))?;
        let mut left = count;
        while left > 0 {
            let want = left.min(CHUNK as u64) as usize;
            let mut buf = vec![0u8; want];
            let got = read_full(&mut file, &mut buf)?;
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file got shorter while it was being sent",
                ));
            }
            buf.truncate(got);
            left -= got as u64;
            if !producer.send(Ok(Bytes::from(buf))) {
                return Ok(()); // the browser went away
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        producer.send(Err(e));
    }
}

/// Fills `buf` as far as the file allows; returns the bytes read.
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Serves a shared folder as a ZIP streamed on the fly (stored, not
/// compressed: photos and videos do not shrink, and the CPU stays free).
pub fn zip(
    req: &Request<Incoming>,
    state: &State,
    peer: SocketAddr,
    item: &SharedItem,
) -> Response<ResponseBody> {
    let name = item.download_name();
    let body = if req.method() == Method::HEAD {
        body::empty()
    } else {
        let id = TransferId::fresh();
        state.events.emit(ShareEvent::DownloadStarted {
            id,
            from: peer,
            name: name.clone(),
            bytes: None,
        });
        let meter = DownloadMeter::new(id, state.events.clone(), None);
        let (streamed, producer) = body::streamed(None, meter);
        let item = item.clone();
        tokio::task::spawn_blocking(move || pump_zip(&item, producer));
        streamed.boxed()
    };
    let mut response = download_response(body, &name);
    set(&mut response, header::CONTENT_TYPE, "application/zip");
    response
}

/// Buffers the ZIP writer's output into [`CHUNK`]-sized pieces for the network.
struct ChunkWriter {
    producer: Producer,
    buf: Vec<u8>,
    gone: bool,
}

impl ChunkWriter {
    fn ship(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        if self.producer.send(Ok(Bytes::from(chunk))) {
            Ok(())
        } else {
            self.gone = true;
            Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the browser went away",
            ))
        }
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.gone {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the browser went away",
            ));
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.ship()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.ship()
    }
}

fn pump_zip(item: &SharedItem, producer: Producer) {
    let mut zip = zip::ZipWriter::new_stream(ChunkWriter {
        producer,
        buf: Vec::with_capacity(CHUNK),
        gone: false,
    });
    let result = (|| -> zip::result::ZipResult<()> {
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for dir in &item.dirs {
            zip.add_directory(format!("{dir}/"), stored)?;
        }
        let mut buf = vec![0u8; CHUNK];
        for f in &item.files {
            let mut src = File::open(&f.local)?;
            let size = src.metadata()?.len();
            let options = stored
                .large_file(size >= u64::from(u32::MAX))
                .last_modified_time(zip_time(f.modified_ms));
            zip.start_file(f.rel.as_str(), options)?;
            loop {
                let n = read_full(&mut src, &mut buf)?;
                if n == 0 {
                    break;
                }
                zip.write_all(&buf[..n])?;
            }
        }
        Ok(())
    })();
    let finished = result.and_then(|()| zip.finish());
    match finished {
        Ok(stream) => {
            let mut writer = stream.into_inner();
            let _ = writer.flush();
        }
        Err(e) => {
            tracing::warn!(folder = %item.path.display(), "ZIP download failed: {e}");
            // The writer is gone with the ZIP; the body reports the stop when dropped.
        }
    }
}

/// A ZIP (MS-DOS) timestamp for a modification time in ms since the epoch,
/// in UTC; 1980-01-01 when unknown or out of the format's range.
fn zip_time(modified_ms: Option<i64>) -> zip::DateTime {
    let Some(ms) = modified_ms else {
        return zip::DateTime::default();
    };
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    u16::try_from(y)
        .ok()
        .and_then(|y| zip::DateTime::from_date_and_time(y, m, d, hh as u8, mm as u8, ss as u8).ok())
        .unwrap_or_default()
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn zip_times_fall_back_to_1980() {
        let t = zip_time(Some(1_704_067_200_000 + 3_723_000)); // 2024-01-01 01:02:03 UTC
        assert_eq!((t.year(), t.month(), t.day()), (2024, 1, 1));
        assert_eq!((t.hour(), t.minute(), t.second()), (1, 2, 2));
        assert_eq!(zip_time(Some(0)), zip::DateTime::default());
        assert_eq!(zip_time(None), zip::DateTime::default());
    }
}
