//! Helpers every family uses to read request bodies and build Java-shaped responses.

use remoting_codec::{fastjson, ExtFields, RemotingCommand};
use serde::Serialize;

use super::Refusal;

/// A response whose Java header class has no fields: `extFields` is `{}`, not absent.
pub(crate) fn empty_header_response(request: &RemotingCommand, code: i32) -> RemotingCommand {
    let mut response = RemotingCommand::response_to(request, code);
    response.ext_fields = Some(ExtFields::new());
    response
}

/// Java decodes a body with fastjson and fails the request (SYSTEM_ERROR with the exception
/// text) when it is missing or unreadable.
pub(crate) fn decode_body<T: serde::de::DeserializeOwned>(
    request: &RemotingCommand,
    what: &str,
) -> Result<T, Refusal> {
    if request.body.is_empty() {
        return Err(Refusal::system_error(format!(
            "the request body ({what}) is missing"
        )));
    }
    fastjson::from_slice(&request.body)
        .map_err(|e| Refusal::system_error(format!("the request body is not a valid {what}: {e}")))
}

/// SUCCESS with `body` encoded as fastjson writes it.
pub(crate) fn json_response<T: Serialize + ?Sized>(
    request: &RemotingCommand,
    body: &T,
) -> Result<RemotingCommand, Refusal> {
    Ok(
        RemotingCommand::response_to(request, remoting_codec::code::response::SUCCESS)
            .with_body(fastjson::to_vec(body)?),
    )
}
