//! The body of one LocalSend upload: a file read from disk on a blocking
//! thread and handed to hyper piece by piece, exactly the announced number
//! of bytes. It owns the reading thread's queue and how the body ends; it
//! knows nothing of sessions, tokens or answers (`send` does).
//!
//! Why not `http_body_util::channel::Channel`: that body polls its frame
//! queue, finds it empty, then sees the sender gone and ends — but the
//! sender may have queued its last frame and been dropped between the two
//! looks. The frame is lost, hyper finds fewer bytes than the
//! `Content-Length` and fails the request with "user body write aborted"
//! (the 1-in-25 flake of the 2,000-file benchmark: one lost race in about
//! 50,000 uploads, almost all of them one frame long). Here the body ends
//! only when tokio's queue says so, which it does only once it is closed
//! *and* empty, and a queue that ends short of the announced size is an
//! error rather than a silent short body.

use std::io::Read;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// Bytes read from disk per piece.
pub const CHUNK: usize = 256 * 1024;

/// Pieces read ahead of the network.
const AHEAD: usize = 4;

/// A request body of exactly `left` bytes fed by a reading thread.
pub struct FileBody {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    left: u64,
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        // `None` only once the queue is closed and drained: no frame is lost.
        Poll::Ready(match ready!(self.rx.poll_recv(cx)) {
            Some(Ok(data)) => {
                let len = data.len() as u64;
                if len > self.left {
                    Some(Err(std::io::Error::other(
                        "the file grew while it was sent",
                    )))
                } else {
                    self.left -= len;
                    Some(Ok(Frame::data(data)))
                }
            }
            Some(Err(e)) => Some(Err(e)),
            None => Some(Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file ended before its announced size",
            ))),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

impl FileBody {
    /// A body of `size` bytes and the queue that feeds it.
    pub fn new(size: u64) -> (mpsc::Sender<std::io::Result<Bytes>>, FileBody) {
        let (tx, rx) = mpsc::channel(AHEAD);
        (tx, FileBody { rx, left: size })
    }

    /// Reads `path` on a blocking thread: a file of at most [`CHUNK`] bytes
    /// in one read (one hop for a small file), a larger one piece by piece,
    /// at most [`AHEAD`] pieces ahead of the network. `sent(n)` is called
    /// after each piece is queued; `stop()` true ends the body with an error.
    pub fn read(
        path: PathBuf,
        size: u64,
        stop: impl Fn() -> bool + Send + 'static,
        sent: impl Fn(usize) + Send + 'static,
    ) -> FileBody {
        let (tx, body) = FileBody::new(size);
        tokio::task::spawn_blocking(move || {
            let fail = |e: std::io::Error| {
                let _ = tx.blocking_send(Err(e));
            };
            let mut file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(e) => return fail(e),
            };
            let mut left = size;
            while left > 0 {
                if stop() {
                    return fail(std::io::Error::other("cancelled"));
                }
                // Exactly the announced size: the receiver checks it, and a
                // file that grew since it was hashed is not read past it.
                let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
                let mut buf = vec![0u8; want];
                if let Err(e) = file.read_exact(&mut buf) {
                    return fail(e);
                }
                left -= want as u64;
                if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                    return;
                }
                sent(want);
            }
        });
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// Polls `body` in a busy loop (no waiting on wakers) until it ends,
    /// so that its polls overlap the feeding thread's last send and drop
    /// as often as they can; returns the bytes it yielded.
    fn spin_collect<B: Body<Data = Bytes> + Unpin>(mut body: B) -> Vec<u8> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut out = Vec::new();
        loop {
            match Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        out.extend_from_slice(&data);
                    }
                }
                Poll::Ready(Some(Err(_)) | None) => return out,
                Poll::Pending => std::hint::spin_loop(),
            }
        }
    }

    /// The race that lost the last frame: a feeding thread queues one piece
    /// and goes away while the body is being polled. Every one of many
    /// tries must give exactly the bytes queued
    /// (`http_body_util::channel::Channel` lost 103 of 50,000 here: see the
    /// module doc).
    #[test]
    fn last_piece_is_never_lost_when_the_sender_goes_away() {
        let (feed, feeder_rx) = std::sync::mpsc::sync_channel::<(mpsc::Sender<_>, Bytes)>(1);
        let feeder = std::thread::Builder::new()
            .name("feeder".into())
            .spawn(move || {
                for (tx, piece) in feeder_rx {
                    let _ = tx.blocking_send(Ok(piece));
                }
            })
            .expect("thread");
        for i in 0..50_000u32 {
            let piece = Bytes::from(i.to_le_bytes().to_vec());
            let (tx, body) = FileBody::new(4);
            feed.send((tx, piece)).expect("feed");
            assert_eq!(spin_collect(body), i.to_le_bytes(), "try {i}");
        }
        drop(feed);
        feeder.join().expect("feeder");
    }

    /// A feeder that stops short of the announced size is an error, never
    /// a shorter body.
    #[test]
    fn a_short_body_is_an_error() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let (tx, body) = FileBody::new(10);
            tx.send(Ok(Bytes::from_static(b"12345")))
                .await
                .expect("send");
            drop(tx);
            let err = body.collect().await.expect_err("short body");
            assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        });
    }

    /// The file is read from disk, exactly its announced size.
    #[test]
    fn reads_a_file_in_pieces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(CHUNK * 2 + 17)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).expect("write");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("runtime");
        let got = runtime.block_on(async {
            let body = FileBody::read(path, data.len() as u64, || false, |_| {});
            body.collect().await.expect("body").to_bytes()
        });
        assert_eq!(&got[..], &data[..]);
    }
}
