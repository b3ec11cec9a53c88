//! The request a later launch sends and the primary reads; see the module
//! documentation of `single_instance` for the byte layout. Every length is
//! checked against its limit before anything is allocated.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{MAGIC, MAX_FILES, MAX_PATH_BYTES, MAX_REQUEST_BYTES, MAX_TOKEN_BYTES};

pub(super) fn encode_request(token: &str, files: &[PathBuf]) -> io::Result<Vec<u8>> {
    let too_big = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
    let mut body = Vec::new();
    let token_len = u8::try_from(token.len()).map_err(|_| too_big("token too long".into()))?;
    body.push(token_len);
    body.extend_from_slice(token.as_bytes());
    let count = u32::try_from(files.len()).map_err(|_| too_big("too many files".into()))?;
    body.extend_from_slice(&count.to_be_bytes());
    for file in files {
        let bytes = path_to_bytes(file);
        if bytes.len() > MAX_PATH_BYTES {
            return Err(too_big(format!("path too long: {}", file.display())));
        }
        // Cannot overflow: MAX_PATH_BYTES fits in a u32.
        body.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        body.extend_from_slice(&bytes);
    }
    if body.len() > MAX_REQUEST_BYTES {
        return Err(too_big(format!(
            "the file list is {} bytes; at most {MAX_REQUEST_BYTES} can be passed on",
            body.len()
        )));
    }
    let mut request = Vec::with_capacity(MAGIC.len() + 4 + body.len());
    request.extend_from_slice(MAGIC);
    request.extend_from_slice(&(body.len() as u32).to_be_bytes());
    request.extend_from_slice(&body);
    Ok(request)
}

/// Reads one request from `stream`, checking every length before allocating.
/// Returns the token and the files.
pub(super) fn read_request(stream: &mut dyn Read) -> io::Result<(Vec<u8>, Vec<PathBuf>)> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut header = [0u8; MAGIC.len() + 4];
    stream.read_exact(&mut header)?;
    if &header[..MAGIC.len()] != MAGIC {
        return Err(invalid("not a Ferry instance request"));
    }
    let len = u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize;
    if len > MAX_REQUEST_BYTES {
        return Err(invalid("request too large"));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;

    let mut rest = body.as_slice();
    let mut take = |n: usize| -> io::Result<&[u8]> {
        if rest.len() < n {
            return Err(invalid("request cut short"));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let token_len = take(1)?[0] as usize;
    if token_len > MAX_TOKEN_BYTES {
        return Err(invalid("token too long"));
    }
    let token = take(token_len)?.to_vec();
    let count = u32_at(take(4)?) as usize;
    if count > MAX_FILES {
        return Err(invalid("too many files"));
    }
    let mut files = Vec::with_capacity(count);
    for _ in 0..count {
        let path_len = u32_at(take(4)?) as usize;
        if path_len > MAX_PATH_BYTES {
            return Err(invalid("path too long"));
        }
        let path = path_from_bytes(take(path_len)?).ok_or_else(|| invalid("path not valid"))?;
        if !path.is_absolute() {
            return Err(invalid("path not absolute"));
        }
        files.push(path);
    }
    if !rest.is_empty() {
        return Err(invalid("trailing bytes after the file list"));
    }
    Ok((token, files))
}

fn u32_at(bytes: &[u8]) -> u32 {
    let mut four = [0u8; 4];
    four.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(four)
}

#[cfg(unix)]
fn path_to_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_to_bytes(path: &Path) -> Vec<u8> {
    // Windows paths that are not valid Unicode (unpaired surrogates) are
    // replaced lossily; such names are vanishingly rare and then fail to open.
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    if bytes.contains(&0) {
        return None;
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(bytes.to_vec())))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.contains('\0') {
        return None;
    }
    Some(PathBuf::from(text))
}
