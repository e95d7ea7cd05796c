//! "Did you mean" suggestions for misspelt names.
//!
//! One distance for every caller: Levenshtein over characters, ignoring case, with a swap of
//! two neighbours counted as one edit. [`Rules`] say how many edits still read as a typo and
//! whether a name that contains the other (`vpc_cidr` → `vpc_cidr_block`) counts as close.

/// Which candidates count as likely typos of the input, and which of them ranks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Edits allowed on top of a third of the input's length (at least one).
    pub extra_edits: usize,
    /// Whether a candidate that contains the input, or is contained in it, is close whatever
    /// its distance (both at least four characters long: `subnet` → `subnet_ids`, not `id` →
    /// `subnet_ids`). Such candidates rank before the others.
    pub containment: bool,
}

impl Rules {
    /// The rules of [`closest`] and [`did_you_mean`]: a third of the input's length plus one
    /// edit, no containment.
    pub const DEFAULT: Rules = Rules { extra_edits: 1, containment: false };
}

impl Default for Rules {
    fn default() -> Self {
        Rules::DEFAULT
    }
}

/// The candidate closest to `input`, when it is close enough to be a likely typo
/// ([`Rules::DEFAULT`]).
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    closest_with(input, candidates, Rules::DEFAULT)
}

/// The candidate closest to `input` under `rules`: a containing or contained candidate first
/// (when the rules allow it), then the smallest distance; the first of equals wins. A candidate
/// is never close by distance alone when every one of its characters would have to change.
pub fn closest_with<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>, rules: Rules) -> Option<&'a str> {
    let max = (input.chars().count() / 3).max(1) + rules.extra_edits;
    let wanted = input.to_lowercase();
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let lower = candidate.to_lowercase();
            let distance = distance(&wanted, &lower);
            let contained = rules.containment && contains_either(&wanted, &lower);
            let near = distance <= max && distance < candidate.chars().count().max(1);
            (contained || near).then_some(((!contained, distance), candidate))
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, candidate)| candidate)
}

/// `did you mean "x"?` for the closest candidate, or a list of what exists when none is close.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> Option<String> {
    if let Some(best) = closest(input, candidates.clone()) {
        return Some(format!("did you mean `{best}`?"));
    }
    let all: Vec<&str> = candidates.into_iter().collect();
    if all.is_empty() { None } else { Some(format!("expected one of: {}", all.join(", "))) }
}

/// Whether one of two names of at least four characters contains the other.
fn contains_either(a: &str, b: &str) -> bool {
    let long_enough = |s: &str| s.chars().count() >= 4;
    long_enough(a) && long_enough(b) && (a.contains(b) || b.contains(a))
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

    /// Containment on, and no edit beyond a third of the length.
    const CONTAINING: Rules = Rules { extra_edits: 0, containment: true };

    fn check_containing(input: &str, candidates: &[&str], expected: Option<&str>) {
        assert_eq!(closest_with(input, candidates.iter().copied(), CONTAINING), expected, "input {input:?}");
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

    #[test]
    fn the_default_rules_are_those_of_closest() {
        assert_eq!(Rules::default(), Rules::DEFAULT);
        let names = ["cluster_name", "subnet_ids", "vpc_cidr_block", "tags"];
        for input in ["clustr_name", "subnet_id", "vpc_cidr", "tag", "region", ""] {
            assert_eq!(closest_with(input, names, Rules::DEFAULT), closest(input, names), "input {input:?}");
        }
    }

    #[test]
    fn containment_suggests_a_name_with_a_suffix_more_or_less() {
        let declared = ["cluster_name", "subnet_ids", "vpc_cidr_block", "tags"];
        check_containing("clustr_name", &declared, Some("cluster_name"));
        check_containing("subnet_id", &declared, Some("subnet_ids"));
        check_containing("vpc_cidr", &declared, Some("vpc_cidr_block"));
        check_containing("vpc_cidr_blocks", &declared, Some("vpc_cidr_block"));
        check_containing("cidr", &declared, Some("vpc_cidr_block"));
        check_containing("tag", &declared, Some("tags"));
        check_containing("instance_size", &declared, None);
        check_containing("region", &declared, None);
        // Without containment, a suffix of six characters is too far.
        check("vpc_cidr", &declared, None);
    }

    #[test]
    fn a_containing_name_ranks_before_a_closer_edit() {
        check_containing("vpc_cidr", &["vpc_cider", "vpc_cidr_block"], Some("vpc_cidr_block"));
        check("vpc_cidr", &["vpc_cider", "vpc_cidr_block"], Some("vpc_cider"));
        // Among containing names, the smallest distance; the first of equals.
        check_containing("subnet", &["private_subnet_ids", "subnet_ids", "subnets"], Some("subnets"));
        check_containing("node", &["node_a", "node_b"], Some("node_a"));
    }

    #[test]
    fn containment_needs_four_characters_on_both_sides_and_ignores_case() {
        check_containing("id", &["subnet_ids"], None);
        check_containing("vpc", &["vpc_cidr_block"], None);
        check_containing("subnet_ids", &["ids"], None);
        check_containing("VPC_CIDR", &["vpc_cidr_block"], Some("vpc_cidr_block"));
    }

    #[test]
    fn extra_edits_widen_the_distance_allowed() {
        // "region" (six characters) to "version" is three edits: a third of six plus one.
        check("region", &["version"], Some("version"));
        check_containing("region", &["version"], None);
        check_containing("regoin", &["region"], Some("region"));
    }
}
