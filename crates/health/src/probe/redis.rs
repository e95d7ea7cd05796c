//! Redis: connect (with `AUTH` when the URL has a password), then `PING`.

use ::redis::{Client, ErrorKind};

use super::Failure;

pub(super) async fn ping(url: &str, step: &mut String) -> Result<String, Failure> {
    *step = "parse url".to_owned();
    let client = Client::open(url).map_err(|e| Failure::Invalid(e.to_string()))?;
    *step = "connect".to_owned();
    let mut connection = client.get_multiplexed_async_connection().await.map_err(|e| {
        // The connection's setup sends AUTH; name that step when it is the one that failed.
        if e.kind() == ErrorKind::AuthenticationFailed {
            "AUTH".clone_into(step);
        }
        Failure::Failed(e.to_string())
    })?;
    *step = "PING".to_owned();
    let answer: String = ::redis::cmd("PING").query_async(&mut connection).await.map_err(|e| Failure::Failed(e.to_string()))?;
    Ok(answer)
}
