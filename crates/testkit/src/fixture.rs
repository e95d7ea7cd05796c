//! Fixture trees for tests: a copy of a directory (such as `infrastructure/`) that a test may
//! break or change without touching the repository.

use std::io;
use std::path::Path;

/// Copies the directory `from` and everything under it to `to` (created, with its parents, if
/// missing). Symbolic links are followed. The first failure is returned with the path it
/// happened at, so a broken fixture names the file.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    let at = |path: &Path, what: &str| {
        let path = path.display().to_string();
        let what = what.to_owned();
        move |e: io::Error| io::Error::new(e.kind(), format!("{what} {path}: {e}"))
    };
    std::fs::create_dir_all(to).map_err(at(to, "creating"))?;
    for entry in std::fs::read_dir(from).map_err(at(from, "reading directory"))? {
        let entry = entry.map_err(at(from, "reading directory"))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        if source.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).map_err(at(&source, "copying"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn copies_files_and_nested_directories() {
        let temp = tempfile::tempdir().unwrap();
        let from = temp.path().join("from");
        std::fs::create_dir_all(from.join("a/b")).unwrap();
        std::fs::write(from.join("top.txt"), "top").unwrap();
        std::fs::write(from.join("a/b/deep.txt"), "deep").unwrap();
        std::fs::create_dir_all(from.join("empty")).unwrap();

        let to = temp.path().join("new/parent/to");
        copy_tree(&from, &to).unwrap();
        assert_eq!(std::fs::read_to_string(to.join("top.txt")).unwrap(), "top");
        assert_eq!(std::fs::read_to_string(to.join("a/b/deep.txt")).unwrap(), "deep");
        assert!(to.join("empty").is_dir());
    }

    #[test]
    fn a_missing_source_is_an_error_naming_it() {
        let temp = tempfile::tempdir().unwrap();
        let missing = temp.path().join("not-there");
        let err = copy_tree(&missing, &temp.path().join("to")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("not-there"), "{err}");
    }
}
