//! InitProducerId for idempotent producers (any broker answers; the lab has no transactions,
//! so a transactional id is refused with `TRANSACTIONAL_ID_AUTHORIZATION_FAILED`).

use super::{Ctx, Reply, Start};
use crate::errors;
use broker_core::{CorrelationId, Message};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

/// Waiting for the broker's id.
pub struct Pending {
    reply: Reply,
    correlation_id: CorrelationId,
}

pub(super) fn start(request: InitProducerIdRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    if request.transactional_id.is_some() {
        let refused = InitProducerIdResponse::default()
            .with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        return Start::Answer(reply.encode(&refused));
    }
    let correlation_id = ctx.correlation();
    Start::Send(
        vec![Message::InitProducerId(
            broker_core::InitProducerIdRequest { correlation_id },
        )],
        super::Pending::InitProducerId(Pending {
            reply,
            correlation_id,
        }),
    )
}

impl Pending {
    pub(super) fn on_message(&mut self, message: Message) -> Option<crate::request::Frame> {
        let Message::InitProducerIdResponse(broker_core::InitProducerIdResponse {
            correlation_id,
            error,
            producer_id,
            producer_epoch,
        }) = message
        else {
            return None;
        };
        if correlation_id != self.correlation_id {
            return None;
        }
        let ok = error.is_ok();
        let response = InitProducerIdResponse::default()
            .with_error_code(errors::wire(error))
            .with_producer_id(ProducerId(if ok { producer_id.0 as i64 } else { -1 }))
            .with_producer_epoch(if ok { producer_epoch as i16 } else { -1 });
        Some(self.reply.encode(&response))
    }
}
