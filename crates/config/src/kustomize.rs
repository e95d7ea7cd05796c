//! Kustomize directories: the kustomization file names Kustomize accepts, finding the one of a
//! directory, and the overlays of an infrastructure tree.
//!
//! Every caller that asks "is this a kustomization directory?" asks here, so the renderer, the
//! config check and the overlay listings agree on what counts as one.

use camino::{Utf8Path, Utf8PathBuf};

use crate::infra::OVERLAYS_DIR;

/// The file names Kustomize looks for in a directory, in its order: the first that exists is
/// the kustomization.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file of `dir`: the first of [`FILE_NAMES`] that is a file there, `None`
/// when there is none (or `dir` is no directory).
pub fn find_file(dir: &Utf8Path) -> Option<Utf8PathBuf> {
    FILE_NAMES.iter().map(|name| dir.join(name)).find(|path| path.is_file())
}

/// The overlays of the infrastructure tree at `root`: the names of the directories under
/// [`OVERLAYS_DIR`] that hold a kustomization file, sorted. Names that are not UTF-8 are skipped.
///
/// # Errors
///
/// When `root/k8s/overlays` cannot be read (it does not exist, or an entry cannot be listed).
pub fn overlays(root: &Utf8Path) -> std::io::Result<Vec<String>> {
    let dir = root.join(OVERLAYS_DIR);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        if find_file(&dir.join(&name)).is_some() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> (tempfile::TempDir, Utf8PathBuf) {
        let temp = tempfile::tempdir().expect("temp dir");
        let path = Utf8PathBuf::from_path_buf(temp.path().to_path_buf()).expect("UTF-8 temp path");
        (temp, path)
    }

    fn write(path: &Utf8Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(path, text).expect("write file");
    }

    #[test]
    fn each_name_kustomize_accepts_is_found() {
        for name in FILE_NAMES {
            let (_temp, dir) = temp_dir();
            write(&dir.join(name), "resources: []\n");
            assert_eq!(find_file(&dir), Some(dir.join(name)), "{name}");
        }
    }

    #[test]
    fn the_first_name_in_kustomize_order_wins() {
        let (_temp, dir) = temp_dir();
        write(&dir.join("Kustomization"), "");
        write(&dir.join("kustomization.yml"), "");
        assert_eq!(find_file(&dir), Some(dir.join("kustomization.yml")));
        write(&dir.join("kustomization.yaml"), "");
        assert_eq!(find_file(&dir), Some(dir.join("kustomization.yaml")));
    }

    #[test]
    fn no_file_a_directory_of_that_name_or_no_directory_is_none() {
        let (_temp, dir) = temp_dir();
        assert_eq!(find_file(&dir), None);
        std::fs::create_dir(dir.join("kustomization.yaml")).expect("create dir");
        write(&dir.join("kustomize.yaml"), "");
        assert_eq!(find_file(&dir), None);
        assert_eq!(find_file(&dir.join("absent")), None);
    }

    #[test]
    fn overlays_are_the_directories_with_a_kustomization_sorted() {
        let (_temp, root) = temp_dir();
        let overlays_dir = root.join(OVERLAYS_DIR);
        write(&overlays_dir.join("prod/kustomization.yaml"), "");
        write(&overlays_dir.join("dev/Kustomization"), "");
        write(&overlays_dir.join("minikube/kustomization.yml"), "");
        write(&overlays_dir.join("notes/README.md"), "");
        write(&overlays_dir.join("kustomization.yaml"), "");
        assert_eq!(overlays(&root).expect("overlays"), ["dev", "minikube", "prod"]);
    }

    #[test]
    fn overlays_of_a_tree_without_the_directory_is_an_error() {
        let (_temp, root) = temp_dir();
        let error = overlays(&root).expect_err("no k8s/overlays");
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    }
}
