//! HTTP(S) GET through hyper (rustls on ring): status, body match, and RabbitMQ's management
//! API health check with basic authentication.

use std::sync::Arc;

use base64::Engine as _;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;

use super::{Failure, chain, excerpt};
use crate::target::{ALARMS_PATH, userinfo};

/// Bodies are read up to this many bytes: enough for any health endpoint, bounded for a page.
const BODY_LIMIT: usize = 64 * 1024;

/// How much of a body an error quotes.
const EXCERPT_CHARS: usize = 200;

pub(super) async fn check(url: &str, expect_status: u16, body_contains: Option<&str>, step: &mut String) -> Result<String, Failure> {
    let answer = get(url, None, step).await?;
    if answer.status.as_u16() != expect_status {
        return Err(Failure::Failed(format!(
            "status {}, expected {expect_status}; body: {}",
            answer.status,
            excerpt(&answer.body, EXCERPT_CHARS)
        )));
    }
    if let Some(needle) = body_contains
        && !answer.body.contains(needle)
    {
        return Err(Failure::Failed(format!(
            "status {} but the body does not contain {needle:?}; body: {}",
            answer.status,
            excerpt(&answer.body, EXCERPT_CHARS)
        )));
    }
    Ok(answer.status.to_string())
}

pub(super) async fn management(url: &str, user: &str, password: &str, step: &mut String) -> Result<String, Failure> {
    let url = format!("{}{ALARMS_PATH}", url.trim_end_matches('/'));
    let answer = get(&url, Some((user.to_owned(), password.to_owned())), step).await?;
    match answer.status {
        StatusCode::OK => Ok("no alarms".to_owned()),
        StatusCode::UNAUTHORIZED => Err(Failure::Failed(format!("status {}: wrong user or password", answer.status))),
        status => Err(Failure::Failed(format!("status {status}: {}", excerpt(&answer.body, EXCERPT_CHARS)))),
    }
}

struct Answer {
    status: StatusCode,
    body: String,
}

/// `GET url`; credentials, explicit or from the URL's user info, go in an `Authorization`
/// header and never on the wire as part of the URL.
async fn get(url: &str, credentials: Option<(String, String)>, step: &mut String) -> Result<Answer, Failure> {
    *step = "parse url".to_owned();
    let uri: Uri = url.parse().map_err(|e| Failure::Invalid(format!("not a URL: {e}")))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        other => return Err(Failure::Invalid(format!("unsupported scheme {:?}; expected http or https", other.unwrap_or_default()))),
    };
    let Some(authority) = uri.authority() else {
        return Err(Failure::Invalid("the URL names no host".to_owned()));
    };
    let host = authority.as_str().rsplit_once('@').map_or(authority.as_str(), |(_, host)| host);
    let path = uri.path().to_owned();
    let uri = Uri::builder()
        .scheme(if https { "https" } else { "http" })
        .authority(host)
        .path_and_query(uri.path_and_query().map_or("/", |pq| pq.as_str()))
        .build()
        .map_err(|e| Failure::Invalid(e.to_string()))?;

    let mut request = Request::get(uri).header(header::USER_AGENT, concat!("stack-health/", env!("CARGO_PKG_VERSION")));
    if let Some((user, password)) = credentials.or_else(|| userinfo(url)) {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request = request.header(header::AUTHORIZATION, format!("Basic {token}"));
    }
    let request = request.body(Empty::<Bytes>::new()).map_err(|e| Failure::Invalid(e.to_string()))?;

    let response = if https {
        *step = "load root certificates".to_owned();
        // The provider is named here rather than taken from a process-wide default, so this
        // works whatever else the process links.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| Failure::Failed(e.to_string()))?
            .https_only()
            .enable_http1()
            .build();
        *step = format!("GET {path}");
        send(connector, request).await?
    } else {
        *step = format!("GET {path}");
        send(HttpConnector::new(), request).await?
    };
    let status = response.status();
    *step = format!("read body of GET {path}");
    let body = read_body(response.into_body()).await?;
    // What follows judges the answer to the GET as a whole.
    *step = format!("GET {path}");
    Ok(Answer { status, body })
}

async fn send<C>(connector: C, request: Request<Empty<Bytes>>) -> Result<Response<Incoming>, Failure>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    // One request per client: no connection is kept in a pool after the probe.
    let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(connector);
    client.request(request).await.map_err(|e| Failure::Failed(chain(&e)))
}

/// The body as text, up to [`BODY_LIMIT`] bytes; the rest is not read.
async fn read_body(mut body: Incoming) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    while bytes.len() < BODY_LIMIT {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|e| Failure::Failed(chain(&e)))?;
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    bytes.truncate(BODY_LIMIT);
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
