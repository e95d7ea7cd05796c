//! RabbitMQ over AMQP: open a connection (which authenticates and opens the vhost), close it.

use lapin::uri::AMQPUri;
use lapin::{Connection, ConnectionProperties};

use super::{Failure, chain};
use crate::target::{authority, percent_decode};

pub(super) async fn open_close(url: &str, step: &mut String) -> Result<String, Failure> {
    *step = "parse url".to_owned();
    let uri = parse(url).map_err(Failure::Invalid)?;
    *step = "open connection".to_owned();
    let properties = ConnectionProperties::default().with_connection_name("stack-health".into());
    let connection = Connection::connect_uri(uri, properties).await.map_err(|e| Failure::Failed(chain(&e)))?;
    *step = "close connection".to_owned();
    connection.close(200, "health check done".into()).await.map_err(|e| Failure::Failed(chain(&e)))?;
    Ok("connection opened and closed".to_owned())
}

/// Parses an AMQP URL. amq-protocol-uri takes the host from `Url::domain`, which is empty for
/// an IP address, and then falls back to `localhost`: `amqp://10.0.0.5` would quietly probe the
/// local machine. The host is therefore taken from the URL as written.
fn parse(url: &str) -> Result<AMQPUri, String> {
    let mut uri: AMQPUri = url.parse()?;
    let place = authority(url);
    let host = match place.strip_prefix('[') {
        // An IPv6 literal: `[::1]:5672`.
        Some(rest) => rest.split_once(']').map_or(rest, |(host, _)| host),
        None => place.rsplit_once(':').map_or(place, |(host, _)| host),
    };
    if !host.is_empty() {
        uri.authority.host = percent_decode(host);
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_hosts_are_kept() {
        for (url, host, port) in [
            ("amqp://guest:guest@10.1.2.3:5673/%2f", "10.1.2.3", 5673),
            ("amqp://10.1.2.3", "10.1.2.3", 5672),
            ("amqps://u:p@[::1]:5671", "::1", 5671),
            ("amqp://u:p@rabbit.example:5672/vh", "rabbit.example", 5672),
        ] {
            let uri = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((uri.authority.host.as_str(), uri.authority.port), (host, port), "{url}");
        }
        assert!(parse("http://h").is_err());
    }
}
