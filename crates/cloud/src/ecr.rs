//! ECR registry logins: a registry host's region ([`region_of`], any build) and, with the `aws`
//! feature, the login from GetAuthorizationToken ([`login`]) that `images push` gives the engine.

/// The region of an ECR registry host (`<account>.dkr.ecr.<region>.amazonaws.com[/path]`), or
/// `None` for any other registry.
pub fn region_of(registry: &str) -> Option<&str> {
    let host = registry.split('/').next()?;
    let (_, rest) = host.split_once(".dkr.ecr.")?;
    let region = rest.strip_suffix(".amazonaws.com").or_else(|| rest.strip_suffix(".amazonaws.com.cn"))?;
    (!region.is_empty() && !region.contains('.')).then_some(region)
}

/// A registry login. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub password: String,
    /// The registry endpoint ECR names (`https://<account>.dkr.ecr.<region>.amazonaws.com`).
    pub endpoint: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("username", &self.username).field("password", &"(hidden)").field("endpoint", &self.endpoint).finish()
    }
}

/// The login of the account's registry in `options.region` (GetAuthorizationToken: a base64
/// `AWS:<password>` valid for 12 hours). `options.endpoint_url` overrides the ECR endpoint
/// (a moto server); without it the SDK honours `AWS_ENDPOINT_URL_ECR` and `AWS_ENDPOINT_URL`.
#[cfg(feature = "aws")]
pub async fn login(options: &crate::eks::Options) -> crate::Result<Login> {
    use crate::Error;
    use base64::Engine as _;
    let sdk_config = crate::eks::loader(options).load().await;
    if sdk_config.region().is_none() {
        return Err(Error::NoRegion);
    }
    let mut builder = aws_sdk_ecr::config::Builder::from(&sdk_config);
    if let Some(url) = &options.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    let client = aws_sdk_ecr::Client::from_conf(builder.build());
    let failed = |message: String| Error::EcrLogin { region: options.region.clone(), message };
    let output =
        client.get_authorization_token().send().await.map_err(|e| failed(aws_sdk_ecr::error::DisplayErrorContext(&e).to_string()))?;
    let data = output.authorization_data().first().ok_or_else(|| failed("the answer holds no authorization data".to_owned()))?;
    let token = data.authorization_token().ok_or_else(|| failed("the answer holds no token".to_owned()))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(token).map_err(|_| failed("the token is not base64".to_owned()))?;
    let text = String::from_utf8(decoded).map_err(|_| failed("the token is not UTF-8".to_owned()))?;
    let (username, password) = text.split_once(':').ok_or_else(|| failed("the token is not `user:password`".to_owned()))?;
    Ok(Login {
        username: username.to_owned(),
        password: password.to_owned(),
        endpoint: data.proxy_endpoint().unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_hosts_give_their_region() {
        assert_eq!(region_of("123456789012.dkr.ecr.eu-west-1.amazonaws.com"), Some("eu-west-1"));
        assert_eq!(region_of("123456789012.dkr.ecr.us-east-2.amazonaws.com/team"), Some("us-east-2"));
        assert_eq!(region_of("localhost:5000"), None);
        assert_eq!(region_of("ghcr.io/org"), None);
        let login = Login { username: "AWS".into(), password: "hunter2".into(), endpoint: "https://x".into() };
        assert!(!format!("{login:?}").contains("hunter2"));
    }
}
