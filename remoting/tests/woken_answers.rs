//! Answers woken by one event (a SYNC_FLUSH group commit wakes every send it covers, a task
//! each) leave in one write: `Connection::send_woken` lets the writer queue them all first.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::StreamExt;
use remoting::{Connection, PeerLimits};
use remoting_codec::code::response;
use remoting_codec::{RemotingCodec, RemotingCommand, DEFAULT_MAX_FRAME_LENGTH};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::{mpsc, Notify};
use tokio_util::codec::FramedRead;

/// A stream that counts the writes the connection's writer makes.
struct CountingWrites {
    inner: DuplexStream,
    writes: Arc<AtomicUsize>,
}

impl AsyncRead for CountingWrites {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingWrites {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One worker thread, as tokio schedules it in the broker: the waking happens on the worker
/// (a task's wakee runs next there, in its LIFO slot), so the order is deterministic.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn answers_woken_together_leave_in_one_write() {
    const ANSWERS: i32 = 8;
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let writes = Arc::new(AtomicUsize::new(0));
    let stream = CountingWrites {
        inner: ours,
        writes: writes.clone(),
    };
    let peer = "127.0.0.1:1".parse().unwrap();
    let conn = Connection::spawn_io(
        stream,
        peer,
        DEFAULT_MAX_FRAME_LENGTH,
        PeerLimits::default(),
        |_, _| {},
    );
    // Every answer waits for the same event, in a task of its own.
    let event = Arc::new(Notify::new());
    let (waiting, mut all_waiting) = mpsc::channel(ANSWERS as usize);
    for opaque in 0..ANSWERS {
        let (conn, event, waiting) = (conn.clone(), event.clone(), waiting.clone());
        tokio::spawn(async move {
            let woken = event.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            waiting.send(()).await.unwrap();
            woken.await;
            let mut request = RemotingCommand::request_without_header(10);
            request.opaque = opaque;
            let answer = RemotingCommand::response_to(&request, response::SUCCESS);
            conn.send_woken(answer).await.unwrap();
        });
    }
    for _ in 0..ANSWERS {
        all_waiting.recv().await.unwrap();
    }
    // The event fires on the worker, as a group commit's wake-ups reach it.
    let wake = event.clone();
    tokio::spawn(async move { wake.notify_waiters() })
        .await
        .unwrap();
    let mut frames = FramedRead::new(theirs, RemotingCodec::new(DEFAULT_MAX_FRAME_LENGTH));
    let mut opaques = Vec::new();
    for _ in 0..ANSWERS {
        let frame = frames.next().await.unwrap().unwrap();
        assert!(frame.is_response());
        opaques.push(frame.opaque);
    }
    opaques.sort();
    assert_eq!(opaques, (0..ANSWERS).collect::<Vec<_>>());
    assert_eq!(
        writes.load(Ordering::SeqCst),
        1,
        "one write for the woken answers"
    );
    conn.close();
}
