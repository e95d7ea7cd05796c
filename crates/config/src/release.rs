//! The release record (`release.json`): the image each service runs, pinned by digest, with the
//! source revision it was built from and when. `images push` writes it; `k8s render|apply
//! --images`, `k8s pin` and `release --images` read it, so what was tested in one environment
//! is promoted to the next without a rebuild.
//!
//! ```
//! use stack_config::release::{Image, Release};
//!
//! let mut release = Release::new("localhost:5000", Some("0123abc".into()), std::time::UNIX_EPOCH);
//! let digest = format!("sha256:{}", "a".repeat(64));
//! release.images.insert("srvthreds-engine".into(), Image::new("localhost:5000/srvthreds-engine", "3f2a", &digest));
//! let text = release.to_json();
//! let back = Release::parse("release.json".as_ref(), &text).unwrap();
//! assert_eq!(back, release);
//! assert_eq!(back.images["srvthreds-engine"].reference(), format!("localhost:5000/srvthreds-engine@{digest}"));
//! assert_eq!(back.created, "1970-01-01T00:00:00Z");
//! ```

use std::collections::BTreeMap;
use std::time::SystemTime;

use camino::Utf8Path;
use serde::{Deserialize, Serialize};

use crate::Diagnostic;
use crate::node::Location;

/// The record's format version; a record of another version is refused.
pub const VERSION: u32 = 1;

/// A release: image name (as the manifests name it) → the pushed image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Release {
    pub version: u32,
    /// The registry the images were pushed to (`localhost:5000`, `<account>.dkr.ecr.<region>.amazonaws.com`).
    pub registry: String,
    /// The source revision (git commit) the images were built from, when known.
    pub revision: Option<String>,
    /// When the record was written, RFC 3339 in UTC.
    pub created: String,
    pub images: BTreeMap<String, Image>,
}

/// One pushed image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    /// `registry/name`, without tag or digest.
    pub repository: String,
    /// The tag it was pushed under (the build's content hash unless one was given).
    pub tag: String,
    /// `sha256:<64 hex>`, as the registry reports it.
    pub digest: String,
}

impl Image {
    pub fn new(repository: &str, tag: &str, digest: &str) -> Image {
        Image { repository: repository.to_owned(), tag: tag.to_owned(), digest: digest.to_owned() }
    }

    /// `repository@digest`: the immutable reference a pod runs. A planned image, not pushed
    /// yet (no digest; records read from files always have one): `repository:tag`.
    pub fn reference(&self) -> String {
        if self.digest.is_empty() { format!("{}:{}", self.repository, self.tag) } else { format!("{}@{}", self.repository, self.digest) }
    }
}

impl Release {
    /// An empty record of the current version, created at `now`.
    pub fn new(registry: &str, revision: Option<String>, now: SystemTime) -> Release {
        Release { version: VERSION, registry: registry.to_owned(), revision, created: rfc3339(now), images: BTreeMap::new() }
    }

    /// The record as pretty JSON, with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads `path`; every problem is a finding naming the file, the line and the field.
    pub fn read(path: &Utf8Path) -> Result<Release, Diagnostic> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::error(path, None, "", format!("cannot read the release record: {e}"))
                .with_help("`images push` writes one (release.json by default)")
        })?;
        Release::parse(path, &text)
    }

    /// Parses a record's text (`path` names it in findings).
    pub fn parse(path: &Utf8Path, text: &str) -> Result<Release, Diagnostic> {
        let release: Release = serde_json::from_str(text).map_err(|e| {
            let at = Location { line: e.line(), column: e.column() };
            Diagnostic::error(path, Some(at), "", format!("not a release record: {e}"))
                .with_help("a record has version, registry, revision, created and images {name: {repository, tag, digest}}")
        })?;
        if release.version != VERSION {
            return Err(Diagnostic::error(path, None, "version", format!("release record version {} is not supported", release.version))
                .with_help(format!("this toolkit reads version {VERSION}; write the record again with `images push`")));
        }
        if release.images.is_empty() {
            return Err(Diagnostic::error(path, None, "images", "the release record names no image"));
        }
        for (name, image) in &release.images {
            if !is_digest(&image.digest) {
                return Err(Diagnostic::error(
                    path,
                    None,
                    &format!("images.{name}.digest"),
                    format!("`{}` is not a sha256 digest", image.digest),
                )
                .with_help("a digest is `sha256:` and 64 lowercase hex digits, as the registry reports it"));
            }
            if image.repository.is_empty() || image.repository.contains('@') {
                return Err(Diagnostic::error(
                    path,
                    None,
                    &format!("images.{name}.repository"),
                    format!("`{}` is not a repository", image.repository),
                )
                .with_help("a repository is `registry/name`, without tag or digest"));
            }
        }
        Ok(release)
    }
}

/// Whether `text` is `sha256:` and 64 lowercase hex digits.
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// `time` as RFC 3339 in UTC, to the second (`2026-12-02T07:05:09Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn times_are_rfc3339_in_utc() {
        let at = |secs| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 (a leap day of a century leap year) 12:34:56.
        assert_eq!(at(951_827_696), "2000-02-29T12:34:56Z");
        assert_eq!(at(1_795_000_000), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn bad_records_name_the_field_and_the_line() {
        let file = Utf8Path::new("release.json");
        let bad_digest = r#"{"version": 1, "registry": "r", "revision": null, "created": "x",
            "images": {"srvthreds-engine": {"repository": "r/e", "tag": "t", "digest": "sha256:abc"}}}"#;
        let e = Release::parse(file, bad_digest).expect_err("a short digest");
        assert_eq!(e.field, "images.srvthreds-engine.digest");
        assert!(e.to_string().contains("is not a sha256 digest"), "{e}");

        let unknown = "{\n  \"version\": 1,\n  \"registy\": \"r\"\n}";
        let e = Release::parse(file, unknown).expect_err("an unknown field");
        assert_eq!(e.location.map(|l| l.line), Some(3), "{e}");
        assert!(e.to_string().contains("unknown field `registy`"), "{e}");

        let future = r#"{"version": 2, "registry": "r", "revision": null, "created": "x", "images": {}}"#;
        assert_eq!(Release::parse(file, future).expect_err("version 2").field, "version");
    }
}
