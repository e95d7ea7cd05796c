//! "Did you mean" suggestions for misspelt names.

/// The candidate closest to `input`, when it is close enough to be a likely typo.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let max = (input.chars().count() / 3).max(1) + 1;
    candidates
        .into_iter()
        .map(|c| (distance(&input.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= max && *d < c.chars().count().max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `did you mean "x"?` for the closest candidate, or a list of what exists when none is close.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> Option<String> {
    if let Some(best) = closest(input, candidates.clone()) {
        return Some(format!("did you mean `{best}`?"));
    }
    let all: Vec<&str> = candidates.into_iter().collect();
    if all.is_empty() { None } else { Some(format!("expected one of: {}", all.join(", "))) }
}

/// Levenshtein distance over characters, with transpositions counted as one edit.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, candidates: &[&str], expected: Option<&str>) {
        assert_eq!(closest(input, candidates.iter().copied()), expected, "input {input:?}");
    }

    #[test]
    fn suggestions() {
        let names = ["s_a_dbs_s", "s_a_dbs", "s_a_s", "bootstrap", "k8s_minikube"];
        check("s_a_db", &names, Some("s_a_dbs"));
        check("botstrap", &names, Some("bootstrap"));
        check("s_a_sdb", &names, Some("s_a_dbs"));
        check("k8s_minikub", &names, Some("k8s_minikube"));
        check("completely_else", &names, None);
        check("", &names, None);
        check("x", &[], None);
        check("helthcheck", &["healthcheck", "hostname"], Some("healthcheck"));
    }

    #[test]
    fn lists_choices_when_nothing_is_close() {
        assert_eq!(did_you_mean("zzz", ["up", "down"]), Some("expected one of: up, down".to_owned()));
    }
}
