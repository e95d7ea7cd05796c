//! Build contexts: the files `.dockerignore` lets through, as a tar stream for the engine, and
//! a hash of everything that decides the image, so an unchanged build is skipped.

use std::path::Path;

use camino::{Utf8Path, Utf8PathBuf};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A build context ready to send.
#[derive(Debug)]
pub struct Context {
    pub tar: Vec<u8>,
    /// The Dockerfile's path inside the tar.
    pub dockerfile: String,
    /// sha256 over every included file's path, mode and content.
    pub files_hash: String,
}

/// Packs `dir` for a build with `dockerfile` (relative to `dir`, or absolute; a Dockerfile
/// outside the context is added to the tar under a private name, as the Docker CLI does).
pub fn pack(dir: &Utf8Path, dockerfile: Option<&str>) -> Result<Context> {
    let err = |what: String, e: std::io::Error| Error::Context { context: dir.to_string(), message: format!("{what}: {e}") };
    let ignore = match std::fs::read_to_string(dir.join(".dockerignore")) {
        Ok(text) => Ignore::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ignore::default(),
        Err(e) => return Err(err("reading .dockerignore".to_owned(), e)),
    };
    let df_path: Utf8PathBuf = match dockerfile {
        Some(df) if Utf8Path::new(df).is_absolute() => Utf8PathBuf::from(df),
        Some(df) => dir.join(df),
        None => dir.join("Dockerfile"),
    };
    let df_inside = df_path.strip_prefix(dir).ok().map(|p| p.as_str().to_owned()).filter(|p| !p.starts_with(".."));
    let mut files = Vec::new();
    walk(dir.as_std_path(), "", &ignore, &mut files).map_err(|e| err("reading the context".to_owned(), e))?;
    files.sort();
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let mut hash = Sha256::new();
    for rel in &files {
        let full = dir.join(rel);
        let data = std::fs::read(&full).map_err(|e| err(format!("reading {full}"), e))?;
        let mode = file_mode(full.as_std_path());
        append(&mut builder, rel, &data, mode).map_err(|e| err(format!("packing {rel}"), e))?;
        hash.update(rel.as_bytes());
        hash.update([0]);
        hash.update(mode.to_le_bytes());
        hash.update((data.len() as u64).to_le_bytes());
        hash.update(&data);
    }
    // The Dockerfile and .dockerignore always go to the engine, even when ignored.
    let dockerfile_name = match &df_inside {
        Some(p) if files.contains(p) => p.clone(),
        _ => {
            let data = std::fs::read(&df_path).map_err(|e| err(format!("reading the Dockerfile {df_path}"), e))?;
            let name = if df_inside.is_some() {
                df_inside.clone().unwrap_or_default()
            } else {
                format!(".dockerfile.{}", &hex(&Sha256::digest(df_path.as_str()))[..12])
            };
            append(&mut builder, &name, &data, 0o644).map_err(|e| err(format!("packing {name}"), e))?;
            hash.update(name.as_bytes());
            hash.update(&data);
            name
        }
    };
    let tar = builder.into_inner().map_err(|e| err("finishing the tar".to_owned(), e))?;
    Ok(Context { tar, dockerfile: dockerfile_name, files_hash: hex(&hash.finalize()) })
}

fn append(builder: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_cksum();
    builder.append_data(&mut header, path, data)
}

fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o644)
}

fn walk(dir: &Path, rel: &str, ignore: &Ignore, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            // A directory may be excluded while a `!` pattern re-includes something inside it,
            // so only skip it when no exception could apply.
            if ignore.excluded(&path) && !ignore.has_exceptions() {
                continue;
            }
            walk(&entry.path(), &path, ignore, out)?;
        } else if (kind.is_file() || (kind.is_symlink() && entry.path().is_file())) && !ignore.excluded(&path) {
            out.push(path);
        }
    }
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `.dockerignore` rules: Go `filepath.Match` patterns with `**`, `!` exceptions, last match wins;
/// a pattern that matches a directory excludes everything below it.
#[derive(Debug, Default, Clone)]
pub struct Ignore {
    rules: Vec<(bool, Vec<String>)>,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let segments: Vec<String> = pattern.split('/').filter(|s| !s.is_empty() && *s != ".").map(str::to_owned).collect();
            if !segments.is_empty() {
                rules.push((negate, segments));
            }
        }
        Ignore { rules }
    }

    fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(n, _)| *n)
    }

    /// Whether `path` (relative, `/`-separated) is left out of the context.
    pub fn excluded(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for (negate, pattern) in &self.rules {
            // The pattern matches the path itself or one of its parent directories.
            let hit = (1..=parts.len()).any(|n| match_segments(pattern, &parts[..n]));
            if hit {
                excluded = !negate;
            }
        }
        excluded
    }
}

fn match_segments(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Some((first, rest)) => {
            path.split_first().is_some_and(|(p, prest)| glob(first.as_bytes(), p.as_bytes()) && match_segments(rest, prest))
        }
    }
}

/// One path segment against one pattern segment: `*`, `?`, `[...]` (with ranges and `^`/`!`),
/// and `\` escapes.
fn glob(pat: &[u8], text: &[u8]) -> bool {
    match pat.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && glob(rest, &text[1..]),
        Some((b'[', rest)) => {
            let Some((&c, tail)) = text.split_first() else { return false };
            let (negate, body) = match rest.first() {
                Some(b'^' | b'!') => (true, &rest[1..]),
                _ => (false, rest),
            };
            let Some(end) = body.iter().position(|b| *b == b']') else { return false };
            let class = &body[..end];
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob(&body[end + 1..], tail)
        }
        Some((b'\\', rest)) if !rest.is_empty() => text.first() == Some(&rest[0]) && glob(&rest[1..], &text[1..]),
        Some((&p, rest)) => text.first() == Some(&p) && glob(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn check(rules: &str, path: &str, expected: bool) {
        assert_eq!(Ignore::parse(rules).excluded(path), expected, "rules {rules:?} path {path:?}");
    }

    #[test]
    fn dockerignore_rules() {
        check("target/", "target/debug/x", true);
        check("target", "src/target", false);
        check("**/node_modules", "a/b/node_modules/x.js", true);
        check("**/node_modules", "node_modules", true);
        check("*.env\n!example.env", "example.env", false);
        check("*.env\n!example.env", "real.env", true);
        check("**/*.env", "infra/env/local.env", true);
        check("docs/*.md", "docs/a.md", true);
        check("docs/*.md", "docs/sub/a.md", false);
        check("file?.txt", "file1.txt", true);
        check("[a-c].txt", "b.txt", true);
        check("[!a-c].txt", "b.txt", false);
        check("# comment\n\n", "x", false);
        check("./build", "build/out", true);
    }

    #[test]
    fn packs_honouring_dockerignore_and_hashes_content() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        std::fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(root.join(".dockerignore"), "secret.env\nDockerfile\n").unwrap();
        std::fs::write(root.join("app.js"), "1").unwrap();
        std::fs::write(root.join("secret.env"), "PASSWORD=x").unwrap();
        let a = pack(root, None).unwrap();
        let mut archive = tar::Archive::new(a.tar.as_slice());
        let names: Vec<String> = archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert!(names.contains(&"app.js".to_owned()) && names.contains(&"Dockerfile".to_owned()), "{names:?}");
        assert!(!names.contains(&"secret.env".to_owned()), "{names:?}");
        assert_eq!(pack(root, None).unwrap().files_hash, a.files_hash, "same inputs, same hash");
        std::fs::write(root.join("app.js"), "2").unwrap();
        assert_ne!(pack(root, None).unwrap().files_hash, a.files_hash, "changed content, new hash");
        std::fs::write(root.join("secret.env"), "PASSWORD=y").unwrap();
        let c = pack(root, None).unwrap();
        std::fs::write(root.join("secret.env"), "PASSWORD=z").unwrap();
        assert_eq!(pack(root, None).unwrap().files_hash, c.files_hash, "ignored files do not count");
    }

    #[test]
    fn dockerfile_outside_the_context_is_added() {
        let ctx = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let df = other.path().join("Dockerfile.x");
        std::fs::write(&df, "FROM scratch\n").unwrap();
        std::fs::write(ctx.path().join("a"), "1").unwrap();
        let c = pack(Utf8Path::from_path(ctx.path()).unwrap(), Some(df.to_str().unwrap())).unwrap();
        assert!(c.dockerfile.starts_with(".dockerfile."), "{}", c.dockerfile);
    }
}
