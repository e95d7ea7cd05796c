//! MongoDB: `ping`, and "the replica set has a PRIMARY" from the `hello` answer.

use std::time::Duration;

use mongodb::bson::{Document, doc};
use mongodb::error::ErrorKind;
use mongodb::options::ClientOptions;

use super::Failure;

pub(super) async fn check(uri: &str, require_primary: bool, attempt_timeout: Duration, step: &mut String) -> Result<String, Failure> {
    *step = "parse uri".to_owned();
    let mut options = ClientOptions::parse(uri).await.map_err(|e| match *e.kind {
        ErrorKind::InvalidArgument { .. } => Failure::Invalid(message(&e)),
        // `mongodb+srv://` resolves DNS records while parsing; that can fail and then work.
        _ => Failure::Failed(message(&e)),
    })?;
    // The driver's own timeouts end before the attempt's, so its error (which says what it saw
    // of each server) is reported rather than a bare timeout.
    let driver_timeout = attempt_timeout / 5 * 4;
    options.server_selection_timeout = Some(driver_timeout);
    options.connect_timeout = Some(driver_timeout);
    options.app_name.get_or_insert_with(|| "stack-health".to_owned());
    // One host and no replica set named: talk to that host as it is (possibly an uninitiated
    // replica-set member, whose members' names are reachable only inside its own network).
    let srv = uri.starts_with("mongodb+srv://");
    if options.hosts.len() == 1 && options.repl_set_name.is_none() && options.direct_connection.is_none() && !srv {
        options.direct_connection = Some(true);
    }
    let client = mongodb::Client::with_options(options).map_err(|e| Failure::Invalid(message(&e)))?;
    let admin = client.database("admin");

    *step = "ping".to_owned();
    admin.run_command(doc! { "ping": 1 }).await.map_err(|e| failed(&e, step))?;
    if !require_primary {
        return Ok("ping ok".to_owned());
    }
    *step = "hello".to_owned();
    let hello = admin.run_command(doc! { "hello": 1 }).await.map_err(|e| failed(&e, step))?;
    *step = "replica set check".to_owned();
    primary_of(&hello).map_err(Failure::Failed)
}

/// The driver's `Display` wraps the kind in `Kind: ..., labels: {}, source: None, ...`; the kind
/// alone says what happened.
fn message(error: &mongodb::error::Error) -> String {
    error.kind.to_string()
}

/// A failed command; authentication happens when the first connection is made, so a failure
/// there is named as its own step.
fn failed(error: &mongodb::error::Error, step: &mut String) -> Failure {
    if matches!(*error.kind, ErrorKind::Authentication { .. }) {
        "authenticate".clone_into(step);
    }
    Failure::Failed(message(error))
}

/// Whether a `hello` answer shows a replica set with a PRIMARY; the detail names it.
fn primary_of(hello: &Document) -> Result<String, String> {
    let Ok(set) = hello.get_str("setName") else {
        return Err(if hello.get_bool("isreplicaset").unwrap_or(false) {
            let info = hello.get_str("info").unwrap_or("no replica set config");
            format!("replica set not initiated ({info})")
        } else {
            "not a replica set member (a standalone server)".to_owned()
        });
    };
    let writable = hello.get_bool("isWritablePrimary").or_else(|_| hello.get_bool("ismaster")).unwrap_or(false);
    let me = hello.get_str("me").unwrap_or("this member");
    match (writable, hello.get_str("primary")) {
        (true, _) => Ok(format!("PRIMARY {me} of replica set {set}")),
        (false, Ok(primary)) => Ok(format!("replica set {set} has PRIMARY {primary}")),
        (false, Err(_)) => {
            let state = if hello.get_bool("secondary").unwrap_or(false) { "SECONDARY" } else { "not PRIMARY" };
            Err(format!("replica set {set} has no PRIMARY yet ({me} is {state})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(hello: Document, expected: Result<&str, &str>) {
        assert_eq!(primary_of(&hello).as_deref().map_err(String::as_str), expected, "{hello}");
    }

    #[test]
    fn hello_answers() {
        check(
            doc! { "isWritablePrimary": false, "isreplicaset": true, "info": "Does not have a valid replica set config" },
            Err("replica set not initiated (Does not have a valid replica set config)"),
        );
        check(doc! { "isWritablePrimary": true }, Err("not a replica set member (a standalone server)"));
        check(doc! { "setName": "rs0", "secondary": true, "me": "m:1" }, Err("replica set rs0 has no PRIMARY yet (m:1 is SECONDARY)"));
        check(doc! { "setName": "rs0", "isWritablePrimary": true, "me": "m:1" }, Ok("PRIMARY m:1 of replica set rs0"));
        check(doc! { "setName": "rs0", "ismaster": true, "me": "m:1" }, Ok("PRIMARY m:1 of replica set rs0"));
        check(doc! { "setName": "rs0", "secondary": true, "primary": "p:1" }, Ok("replica set rs0 has PRIMARY p:1"));
    }
}
