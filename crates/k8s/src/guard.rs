//! The wrong-cluster guard: an overlay declares the kube contexts it may be applied to
//! (`kubeContexts` in `environments.json`), and a change to any other context is refused unless
//! the user named that context explicitly (`--context`). Pure.

use crate::error::{Error, Result};

/// How the context of a command was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextChoice {
    /// The kubeconfig's current context (no `--context`).
    Current,
    /// Named on the command line: the user meant it, the guard lets it through.
    Explicit,
}

/// Whether `context` may be changed through `overlay`, whose declared contexts are `allowed`
/// (patterns where `*` matches any run of characters, as in EKS ARNs).
///
/// - an explicit context always passes;
/// - the current context passes when it matches one of `allowed`;
/// - an overlay that declares no contexts (a path to an ad-hoc kustomization) passes only with
///   an explicit context.
pub fn check(overlay: &str, allowed: &[String], context: Option<&str>, choice: ContextChoice) -> Result<()> {
    if choice == ContextChoice::Explicit {
        return Ok(());
    }
    let current = context.unwrap_or("(none)");
    if allowed.is_empty() {
        return Err(Error::WrongCluster {
            message: format!(
                "overlay `{overlay}` declares no kube contexts, so it is applied only to a context named explicitly (the current one is `{current}`)\nhelp: name context `{current}` explicitly to apply it there, or declare kubeContexts for it in config/environments.json"
            ),
            current: current.to_owned(),
        });
    }
    if context.is_some_and(|c| allowed.iter().any(|p| matches(p, c))) {
        return Ok(());
    }
    Err(Error::WrongCluster {
        message: format!(
            "refusing to change context `{current}` through overlay `{overlay}`: it may only be applied to {}\nhelp: switch with `kubectl config use-context NAME`, or name context `{current}` explicitly if you really mean this cluster",
            allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
        ),
        current: current.to_owned(),
    })
}

/// `*` matches any run of characters (including none); everything else matches itself.
pub fn matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn allowed(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn globs_match_eks_arns() {
        assert!(matches("arn:aws:eks:us-west-2:*:cluster/srvthreds-prod", "arn:aws:eks:us-west-2:123456789012:cluster/srvthreds-prod"));
        assert!(!matches("arn:aws:eks:us-west-2:*:cluster/srvthreds-prod", "arn:aws:eks:us-west-2:123456789012:cluster/srvthreds-dev"));
        assert!(matches("minikube", "minikube"));
        assert!(!matches("minikube", "minikube2"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "a-x-b-y-c"));
        assert!(!matches("a*b*c", "a-x-c-y-b"));
        assert!(!matches("ab*ba", "aba"));
    }

    #[test]
    fn prod_on_minikube_is_refused_and_the_reverse_too() {
        let prod = allowed(&["srvthreds-prod", "arn:aws:eks:us-west-2:*:cluster/srvthreds-prod"]);
        let error = check("prod", &prod, Some("minikube"), ContextChoice::Current).unwrap_err().to_string();
        assert!(error.contains("refusing to change context `minikube` through overlay `prod`"), "{error}");
        assert!(error.contains("name context `minikube` explicitly"), "{error}");
        let minikube = allowed(&["minikube", "local-k8s"]);
        let error = check("minikube", &minikube, Some("arn:aws:eks:us-west-2:1:cluster/srvthreds-prod"), ContextChoice::Current)
            .unwrap_err()
            .to_string();
        assert!(error.contains("overlay `minikube`"), "{error}");
    }

    #[test]
    fn declared_contexts_pass_and_explicit_ones_always_do() {
        let minikube = allowed(&["minikube", "local-k8s"]);
        check("minikube", &minikube, Some("local-k8s"), ContextChoice::Current).unwrap();
        check("prod", &allowed(&["srvthreds-prod"]), Some("minikube"), ContextChoice::Explicit).unwrap();
    }

    #[test]
    fn undeclared_overlays_need_an_explicit_context() {
        let error = check("/tmp/copy", &[], Some("local-k8s"), ContextChoice::Current).unwrap_err().to_string();
        assert!(error.contains("declares no kube contexts"), "{error}");
        check("/tmp/copy", &[], Some("local-k8s"), ContextChoice::Explicit).unwrap();
        let error = check("minikube", &allowed(&["minikube"]), None, ContextChoice::Current).unwrap_err().to_string();
        assert!(error.contains("`(none)`"), "{error}");
    }
}
