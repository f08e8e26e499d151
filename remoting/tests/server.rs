//! The runtime end to end: dispatch, server → peer requests matched by opaque (and their
//! timeout), oneway, errors, close notification.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use remoting::{Connection, ProcessError, RemotingServer, RequestProcessor};
use remoting_codec::code::response;
use remoting_codec::{RemotingCommand, DEFAULT_MAX_FRAME_LENGTH};
use tokio::net::TcpStream;

/// A timeout only a hang reaches.
const LONG: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Echo {
    closed: AtomicUsize,
}

impl RequestProcessor for Echo {
    async fn process(
        &self,
        conn: &Arc<Connection>,
        req: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessError> {
        match req.code {
            // Ask the peer (code 2, answered) or time out asking it (code 4, never answered):
            // a short timeout for the question that is never answered, a long one for the
            // answered question, which a loaded machine may answer slowly.
            1 | 3 => {
                let back = RemotingCommand::request_without_header(req.code + 1);
                let timeout = if req.code == 1 {
                    LONG
                } else {
                    Duration::from_millis(300)
                };
                let answer = conn
                    .invoke(back, timeout)
                    .await
                    .map_err(|e| ProcessError::Failed(e.to_string()))?;
                Ok(Some(
                    RemotingCommand::response_to(&req, response::SUCCESS)
                        .with_remark(answer.remark.unwrap_or_default()),
                ))
            }
            5 => Ok(None),
            _ => Err(ProcessError::NotSupported),
        }
    }

    fn on_connection_closed(&self, _conn: &Arc<Connection>) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn requests_both_ways_errors_and_close() {
    let server = RemotingServer::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let echo = Arc::new(Echo::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(echo.clone(), async {
        let _ = stopped.await;
    }));

    // The peer answers code 2 with "pong" and ignores code 4.
    let stream = TcpStream::connect(addr).await.unwrap();
    let peer = Connection::spawn(stream, DEFAULT_MAX_FRAME_LENGTH, |conn, req| {
        if req.code == 2 {
            tokio::spawn(async move {
                let pong = RemotingCommand::response_to(&req, 0).with_remark("pong");
                conn.send(pong).await.unwrap();
            });
        }
    });
    let t = LONG;
    let ask = |code| RemotingCommand::request_without_header(code);

    let r = peer.invoke(ask(1), t).await.unwrap();
    assert_eq!((r.code, r.remark.as_deref()), (0, Some("pong")));

    let r = peer.invoke(ask(3), t).await.unwrap();
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert!(r.remark.unwrap().starts_with("no response from"));

    let r = peer.invoke(ask(77), t).await.unwrap();
    assert_eq!(r.code, response::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(r.remark.as_deref(), Some(" request type 77 not supported"));

    // Oneway and "no answer" requests produce nothing: the next answer is the next request's.
    peer.invoke_oneway(ask(77)).await.unwrap();
    assert!(peer
        .invoke(ask(5), Duration::from_millis(200))
        .await
        .is_err());
    let r = peer.invoke(ask(1), t).await.unwrap();
    assert_eq!(r.remark.as_deref(), Some("pong"));

    peer.close();
    let deadline = tokio::time::Instant::now() + LONG;
    while echo.closed.load(Ordering::SeqCst) == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(echo.closed.load(Ordering::SeqCst), 1);
    stop.send(()).unwrap();
    running.await.unwrap();
}

/// Answers code 10 at once and code 11 after a wait, each with the request's opaque as remark.
struct Ordered;

impl RequestProcessor for Ordered {
    async fn process(
        &self,
        _conn: &Arc<Connection>,
        req: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessError> {
        if req.code == 11 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        if req.code == 12 {
            panic!("a handler bug");
        }
        Ok(Some(
            RemotingCommand::response_to(&req, response::SUCCESS)
                .with_remark(req.opaque.to_string()),
        ))
    }
}

/// Many frames arriving in one write are answered in the order they came, by the reader task
/// that decoded them; a request that has to wait moves to a task of its own and holds none of
/// the frames after it back.
#[tokio::test]
async fn frames_of_one_read_are_answered_in_order_and_a_waiting_one_holds_nothing_back() {
    use bytes::BytesMut;
    use futures::StreamExt;
    use remoting_codec::RemotingCodec;
    use tokio::io::AsyncWriteExt;
    use tokio_util::codec::{Encoder, FramedRead};

    let server = RemotingServer::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(Arc::new(Ordered), async {
        let _ = stopped.await;
    }));

    let mut codec = RemotingCodec::new(DEFAULT_MAX_FRAME_LENGTH);
    let mut bytes = BytesMut::new();
    const FRAMES: i32 = 200;
    for opaque in 0..FRAMES {
        let code = if opaque == 50 { 11 } else { 10 };
        let mut req = RemotingCommand::request_without_header(code);
        req.opaque = opaque;
        codec.encode(req, &mut bytes).unwrap();
    }
    let stream = TcpStream::connect(addr).await.unwrap();
    let (read_half, mut write_half) = stream.into_split();
    write_half.write_all(&bytes).await.unwrap();
    let mut frames = FramedRead::new(read_half, RemotingCodec::new(DEFAULT_MAX_FRAME_LENGTH));
    let mut order = Vec::new();
    while order.len() < FRAMES as usize {
        let frame = tokio::time::timeout(LONG, frames.next())
            .await
            .expect("answers")
            .expect("open")
            .unwrap();
        assert!(frame.is_response());
        assert_eq!(frame.remark, Some(frame.opaque.to_string()));
        order.push(frame.opaque);
    }
    let mut expected: Vec<i32> = (0..FRAMES).filter(|&o| o != 50).collect();
    expected.push(50);
    assert_eq!(order, expected);

    // A handler that panics loses its request only: the connection answers the next one.
    let mut bytes = BytesMut::new();
    for (opaque, code) in [(1000, 12), (1001, 10)] {
        let mut req = RemotingCommand::request_without_header(code);
        req.opaque = opaque;
        codec.encode(req, &mut bytes).unwrap();
    }
    write_half.write_all(&bytes).await.unwrap();
    let frame = tokio::time::timeout(LONG, frames.next())
        .await
        .expect("an answer")
        .expect("open")
        .unwrap();
    assert_eq!(frame.opaque, 1001);
    stop.send(()).unwrap();
    running.await.unwrap();
}
