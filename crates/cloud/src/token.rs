//! The native EKS authentication token (feature `aws`), as `aws eks get-token` and
//! aws-iam-authenticator make it, so that kubectl needs no AWS CLI.
//!
//! The token is `k8s-aws-v1.` and the unpadded base64url of a presigned STS GetCallerIdentity
//! URL. The URL is signed (SigV4, in query parameters) with the `x-k8s-aws-id` header naming the
//! cluster among the signed headers; the EKS API server replays it to STS to learn who is asking.
//! aws-sdk-sts has no presigner for this call, so the URL is signed with aws-sigv4 directly.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_eks::primitives::{DateTime, DateTimeFormat};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::eks::loader;
use crate::error::{Error, Result};

/// The prefix that marks an EKS token.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";

/// The header that binds a token to one cluster.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";

/// How long the presigned URL itself is valid, as `aws eks get-token` signs it.
const URL_EXPIRY: Duration = Duration::from_secs(60);

/// When clients should fetch a new token. EKS accepts a token for 15 minutes after its signing
/// time (whatever `X-Amz-Expires` says), so clients are told to renew a minute before that.
const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);

/// Which cluster the token is for, and where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The EKS cluster name (not its ARN).
    pub cluster: String,
    /// The cluster's region; empty means the environment's (`AWS_REGION`, the profile).
    pub region: String,
}

/// A client-go `ExecCredential` (`client.authentication.k8s.io/v1beta1`), what a kubeconfig exec
/// plugin prints on stdout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecCredential {
    /// Always `ExecCredential`.
    pub kind: String,
    /// Always `client.authentication.k8s.io/v1beta1`.
    pub api_version: String,
    /// Empty: the plugin reads nothing from kubectl.
    pub spec: ExecCredentialSpec,
    /// The token and when to renew it.
    pub status: ExecCredentialStatus,
}

/// The empty `spec` of an [`ExecCredential`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExecCredentialSpec {}

/// The `status` of an [`ExecCredential`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecCredentialStatus {
    /// RFC 3339, UTC, before the token stops working.
    pub expiration_timestamp: String,
    /// `k8s-aws-v1.` + base64url of the presigned URL.
    pub token: String,
}

/// Makes a token for `options.cluster` with credentials from the default chain (environment,
/// profile, SSO, web identity, container and instance metadata).
pub async fn exec_credential(options: &Options) -> Result<ExecCredential> {
    let eks_options = crate::eks::Options { region: options.region.clone(), endpoint_url: None };
    let sdk_config = loader(&eks_options).load().await;
    let region = sdk_config.region().map(ToString::to_string).ok_or(Error::NoRegion)?;
    let provider = sdk_config.credentials_provider().ok_or(Error::NoCredentials)?;
    let credentials = provider.provide_credentials().await.map_err(|error| match error {
        CredentialsError::CredentialsNotLoaded(_) => Error::NoCredentials,
        other => Error::LoadCredentials { source: Box::new(other) },
    })?;
    let credential = sign_token(&options.cluster, &region, &credentials, SystemTime::now())?;
    tracing::debug!(cluster = %options.cluster, region = %region, "signed EKS token");
    Ok(credential)
}

/// Signs the token of `cluster` in `region` with `credentials` at time `now`. Pure: the same
/// inputs give the same token.
pub fn sign_token(cluster: &str, region: &str, credentials: &Credentials, now: SystemTime) -> Result<ExecCredential> {
    let url = presigned_url(cluster, region, credentials, now)?;
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(url));
    let expires = now.checked_add(TOKEN_LIFETIME).unwrap_or(now);
    let seconds = expires.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let expiration_timestamp = DateTime::from_secs(seconds)
        .fmt(DateTimeFormat::DateTime)
        .map_err(|source| Error::SignToken { cluster: cluster.to_owned(), source: Box::new(source) })?;
    Ok(ExecCredential {
        kind: "ExecCredential".into(),
        api_version: crate::kubeconfig::EXEC_API_VERSION.into(),
        spec: ExecCredentialSpec {},
        status: ExecCredentialStatus { expiration_timestamp, token },
    })
}

/// The presigned STS GetCallerIdentity URL, the part of the token before encoding.
fn presigned_url(cluster: &str, region: &str, credentials: &Credentials, now: SystemTime) -> Result<String> {
    let sign_error = |source: Box<dyn std::error::Error + Send + Sync>| Error::SignToken { cluster: cluster.to_owned(), source };
    // The regional endpoint: EKS verifies the token against the STS of its own region. The host
    // is fixed (never an endpoint override): the API server accepts only real STS hosts.
    let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    let base = format!("https://sts.{region}.{suffix}/?Action=GetCallerIdentity&Version=2011-06-15");
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(URL_EXPIRY);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| sign_error(Box::new(e)))?
        .into();
    let request = SignableRequest::new("GET", base.as_str(), [(CLUSTER_ID_HEADER, cluster)].into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| sign_error(Box::new(e)))?;
    let (instructions, _signature) = sign(request, &params).map_err(|e| sign_error(Box::new(e)))?.into_parts();
    let mut url = base;
    for (name, value) in instructions.params() {
        url.push('&');
        url.push_str(name);
        url.push('=');
        url.push_str(&stack_config::secret::percent_encode(value));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// 2026-11-27T07:00:00Z.
    const NOW: u64 = 1_795_762_800;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn credentials(session_token: Option<&str>) -> Credentials {
        Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", session_token.map(str::to_owned), None, "test")
    }

    /// The URL inside a token, and its query parameters (percent-decoded).
    fn decode(token: &str) -> (String, Vec<(String, String)>) {
        let encoded = token.strip_prefix(TOKEN_PREFIX).unwrap();
        assert!(!encoded.contains('='), "no padding: {encoded}");
        assert!(!encoded.contains('+') && !encoded.contains('/'), "base64url: {encoded}");
        let url = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap();
        let query = url.split_once('?').unwrap().1;
        let params = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (k.to_owned(), percent_decode(v))
            })
            .collect();
        (url, params)
    }

    fn percent_decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
        params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name} in {params:?}"))
    }

    #[test]
    fn token_is_a_presigned_get_caller_identity_url() {
        let credential = sign_token("srvthreds-dev", "us-west-2", &credentials(None), now()).unwrap();
        let (url, params) = decode(&credential.status.token);
        assert!(url.starts_with("https://sts.us-west-2.amazonaws.com/?"), "{url}");
        assert_eq!(param(&params, "Action"), "GetCallerIdentity");
        assert_eq!(param(&params, "Version"), "2011-06-15");
        assert_eq!(param(&params, "X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
        assert_eq!(param(&params, "X-Amz-Credential"), "AKIDEXAMPLE/20261127/us-west-2/sts/aws4_request");
        assert_eq!(param(&params, "X-Amz-Date"), "20261127T070000Z");
        assert_eq!(param(&params, "X-Amz-Expires"), "60");
        assert_eq!(param(&params, "X-Amz-SignedHeaders"), "host;x-k8s-aws-id");
        let signature = param(&params, "X-Amz-Signature");
        assert_eq!(signature.len(), 64, "{signature}");
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()), "{signature}");
        assert!(!url.contains("wJalrXUtnFEMI"), "the secret key never appears");
    }

    #[test]
    fn token_is_deterministic_and_bound_to_the_cluster() {
        let one = sign_token("srvthreds-dev", "us-west-2", &credentials(None), now()).unwrap();
        let again = sign_token("srvthreds-dev", "us-west-2", &credentials(None), now()).unwrap();
        let other = sign_token("srvthreds-prod", "us-west-2", &credentials(None), now()).unwrap();
        assert_eq!(one, again);
        assert_ne!(one.status.token, other.status.token);
    }

    #[test]
    fn session_tokens_travel_in_the_url() {
        let credential = sign_token("c", "eu-west-1", &credentials(Some("FwoG/session+token")), now()).unwrap();
        let (url, params) = decode(&credential.status.token);
        assert!(url.starts_with("https://sts.eu-west-1.amazonaws.com/"), "{url}");
        assert_eq!(param(&params, "X-Amz-Security-Token"), "FwoG/session+token");
    }

    #[test]
    fn china_regions_use_their_own_domain() {
        let credential = sign_token("c", "cn-north-1", &credentials(None), now()).unwrap();
        assert!(decode(&credential.status.token).0.starts_with("https://sts.cn-north-1.amazonaws.com.cn/"));
    }

    #[test]
    fn exec_credential_expires_before_the_token_and_serializes_as_client_go_expects() {
        let credential = sign_token("srvthreds-dev", "us-west-2", &credentials(None), now()).unwrap();
        let json = serde_json::to_value(&credential).unwrap();
        assert_eq!(json["kind"], "ExecCredential");
        assert_eq!(json["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert_eq!(json["spec"], serde_json::json!({}));
        assert_eq!(json["status"]["expirationTimestamp"], "2026-11-27T07:14:00Z");
        assert!(json["status"]["token"].as_str().unwrap().starts_with("k8s-aws-v1."));
    }
}
