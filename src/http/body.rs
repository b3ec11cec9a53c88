//! Response bodies: small fixed ones, and a streamed one fed by a blocking
//! producer (a file reader or the ZIP writer) through a bounded channel, so a
//! download holds at most a few chunks in memory whatever its size. The
//! streamed body also counts what the network took and reports download
//! progress and the outcome. It reads no file itself.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, SizeHint};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::{Events, STALL_TIMEOUT};
use crate::api::ShareEvent;
use crate::api::TransferId;
use crate::transfer::progress::PROGRESS_INTERVAL;

/// Every response body of the share server.
pub type ResponseBody = BoxBody<Bytes, io::Error>;

/// Size of the pieces a producer hands to the network.
pub const CHUNK: usize = 256 * 1024;

/// Chunks a producer may run ahead of the network (memory per download:
/// about `CHUNK * (CHANNEL_DEPTH + 1)`).
const CHANNEL_DEPTH: usize = 2;

/// A body that is all here already.
pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> ResponseBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}

/// Reports a download's progress and, when the body is dropped, its outcome.
pub struct DownloadMeter {
    id: TransferId,
    events: Events,
    total: Option<u64>,
    done: u64,
    last: Instant,
    outcome: Option<Result<u64, String>>,
}

impl DownloadMeter {
    /// A meter for download `id`, which carries `total` bytes when known.
    pub fn new(id: TransferId, events: Events, total: Option<u64>) -> Self {
        DownloadMeter {
            id,
            events,
            total,
            done: 0,
            last: Instant::now(),
            outcome: None,
        }
    }

    fn add(&mut self, n: usize) {
        self.done += n as u64;
        if self.last.elapsed() >= PROGRESS_INTERVAL {
            self.last = Instant::now();
            self.events.emit_lossy(ShareEvent::DownloadProgress {
                id: self.id,
                done: self.done,
                total: self.total,
            });
        }
    }
}

impl Drop for DownloadMeter {
    fn drop(&mut self) {
        let result = self
            .outcome
            .take()
            .unwrap_or_else(|| Err("The browser stopped the download.".to_string()));
        self.events.emit(ShareEvent::DownloadFinished {
            id: self.id,
            result,
        });
    }
}

/// The receiving end of a producer: a body the network pulls from.
pub struct StreamedBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    size: Option<u64>,
    meter: DownloadMeter,
}

impl Body for StreamedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.meter.add(chunk.len());
                // With a known length the network stops asking after the last byte.
                if self.size.is_some_and(|size| self.meter.done >= size) {
                    self.meter.outcome = Some(Ok(self.meter.done));
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Poll::Ready(Some(Err(e))) => {
                self.meter.outcome = Some(Err(format!("Reading the shared file failed: {e}")));
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                if self.meter.outcome.is_none() {
                    let short = self.size.is_some_and(|size| self.meter.done < size);
                    self.meter.outcome = Some(if short {
                        Err("The shared file could not be read to the end.".to_string())
                    } else {
                        Ok(self.meter.done)
                    });
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.size.is_some_and(|size| self.meter.done >= size)
    }

    fn size_hint(&self) -> SizeHint {
        match self.size {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

/// The sending end, used from a blocking thread.
pub struct Producer {
    tx: mpsc::Sender<io::Result<Bytes>>,
    handle: Handle,
}

impl Producer {
    /// Hands one chunk to the network. False when the browser went away or
    /// stopped reading for [`STALL_TIMEOUT`]; the producer should stop then.
    pub fn send(&self, item: io::Result<Bytes>) -> bool {
        let tx = self.tx.clone();
        self.handle
            .block_on(async move { tokio::time::timeout(STALL_TIMEOUT, tx.send(item)).await })
            .is_ok_and(|sent| sent.is_ok())
    }
}

/// A streamed body of `size` bytes (when known) and the producer that fills it.
pub fn streamed(size: Option<u64>, meter: DownloadMeter) -> (StreamedBody, Producer) {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    let mut meter = meter;
    if size == Some(0) {
        meter.outcome = Some(Ok(0));
    }
    let body = StreamedBody { rx, size, meter };
    let producer = Producer {
        tx,
        handle: Handle::current(),
    };
    (body, producer)
}
