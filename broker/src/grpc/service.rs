//! `MessagingService` itself: each RPC reads its caller and hands the request to its family
//! module. Every answer is a response message with a `Status` (as the proxy answers); a gRPC
//! error status is only for a stream the protocol ends that way (Telemetry's INVALID_ARGUMENT)
//! and for a method the service does not know (tonic's UNIMPLEMENTED).

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use grpc::v2::messaging_service_server::MessagingService;
use grpc::v2::*;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{client, consume, offset, receive, route, send, transaction, Caller, GrpcContext};

type Answer<T> = Result<Response<T>, Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The service, sharing one [`GrpcContext`].
pub struct Messaging {
    cx: Arc<GrpcContext>,
}

impl Messaging {
    pub fn new(cx: Arc<GrpcContext>) -> Self {
        Messaging { cx }
    }
}

#[tonic::async_trait]
impl MessagingService for Messaging {
    async fn query_route(&self, request: Request<QueryRouteRequest>) -> Answer<QueryRouteResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(route::query_route(
            &self.cx,
            &caller,
            request.into_inner(),
        )))
    }

    async fn heartbeat(&self, request: Request<HeartbeatRequest>) -> Answer<HeartbeatResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            client::heartbeat(&self.cx, &caller, request.into_inner()).await,
        ))
    }

    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> Answer<SendMessageResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            send::send_message(&self.cx, &caller, request.into_inner()).await,
        ))
    }

    async fn query_assignment(
        &self,
        request: Request<QueryAssignmentRequest>,
    ) -> Answer<QueryAssignmentResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(route::query_assignment(
            &self.cx,
            &caller,
            request.into_inner(),
        )))
    }

    type ReceiveMessageStream = BoxStream<ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        request: Request<ReceiveMessageRequest>,
    ) -> Answer<Self::ReceiveMessageStream> {
        let (caller, info) = (Caller::of(&request), receive::CallInfo::of(&request));
        let (tx, rx) = tokio::sync::mpsc::channel(receive::MAX_BATCH as usize + 2);
        let cx = self.cx.clone();
        tokio::spawn(receive::receive_message(
            cx,
            caller,
            info,
            request.into_inner(),
            tx,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn ack_message(&self, request: Request<AckMessageRequest>) -> Answer<AckMessageResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            consume::ack_message(&self.cx, &caller, request.into_inner()).await,
        ))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> Answer<ForwardMessageToDeadLetterQueueResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            consume::forward_message_to_dead_letter_queue(&self.cx, &caller, request.into_inner())
                .await,
        ))
    }

    type PullMessageStream = BoxStream<PullMessageResponse>;

    async fn pull_message(
        &self,
        request: Request<PullMessageRequest>,
    ) -> Answer<Self::PullMessageStream> {
        let caller = Caller::of(&request);
        let items = offset::pull_message(&self.cx, &caller, request.into_inner()).await;
        Ok(Response::new(Box::pin(futures::stream::iter(
            items.into_iter().map(Ok),
        ))))
    }

    async fn update_offset(
        &self,
        request: Request<UpdateOffsetRequest>,
    ) -> Answer<UpdateOffsetResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            offset::update_offset(&self.cx, &caller, request.into_inner()).await,
        ))
    }

    async fn get_offset(&self, request: Request<GetOffsetRequest>) -> Answer<GetOffsetResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            offset::get_offset(&self.cx, &caller, request.into_inner()).await,
        ))
    }

    async fn query_offset(
        &self,
        request: Request<QueryOffsetRequest>,
    ) -> Answer<QueryOffsetResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            offset::query_offset(&self.cx, &caller, request.into_inner()).await,
        ))
    }

    async fn end_transaction(
        &self,
        request: Request<EndTransactionRequest>,
    ) -> Answer<EndTransactionResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            transaction::end_transaction(&self.cx, &caller, request.into_inner()).await,
        ))
    }

    type TelemetryStream = BoxStream<TelemetryCommand>;

    async fn telemetry(
        &self,
        request: Request<tonic::Streaming<TelemetryCommand>>,
    ) -> Answer<Self::TelemetryStream> {
        let caller = Caller::of(&request);
        let rx = client::telemetry(self.cx.clone(), caller, request.into_inner());
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn notify_client_termination(
        &self,
        request: Request<NotifyClientTerminationRequest>,
    ) -> Answer<NotifyClientTerminationResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            client::notify_client_termination(&self.cx, &caller, request.into_inner()).await,
        ))
    }

    async fn change_invisible_duration(
        &self,
        request: Request<ChangeInvisibleDurationRequest>,
    ) -> Answer<ChangeInvisibleDurationResponse> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            consume::change_invisible_duration(&self.cx, &caller, request.into_inner()).await,
        ))
    }
}
