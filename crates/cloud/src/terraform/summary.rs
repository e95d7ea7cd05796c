//! The plan summary: what `terraform show -json PLANFILE` says a plan will do, counted per resource type.
//!
//! Terraform's JSON plan lists one `resource_changes` entry per resource instance with the
//! actions planned for it. [`PlanSummary::from_json`] maps each action list to one kind of change:
//!
//! | actions                                        | counted as |
//! |------------------------------------------------|------------|
//! | `["create"]`                                   | add        |
//! | `["update"]`                                   | change     |
//! | `["delete"]`                                   | destroy    |
//! | `["delete","create"]` or `["create","delete"]` | replace    |
//! | `["read"]`                                     | read       |
//! | `["forget"]`                                   | forget     |
//! | `["no-op"]`                                    | not counted |
//!
//! A replacement is counted once, as `replace`, and neither as an add nor as a destroy; Terraform's
//! own "Plan: X to add, Y to destroy" line counts it in both. Any other action list is an error
//! that names the resource, so a future Terraform cannot make the summary silently wrong.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a plan will do, per resource type and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanSummary {
    /// The Terraform version that wrote the plan.
    pub terraform_version: Option<String>,
    /// Counts per resource type (managed and data), sorted by type; types whose every instance is
    /// a no-op are left out.
    pub resource_types: Vec<TypeCounts>,
    /// The sum over all types.
    pub totals: Counts,
    /// Addresses of the resources that will be replaced (destroyed and created again), in plan order.
    pub replaced: Vec<String>,
    /// Names of the root outputs whose value changes.
    pub changed_outputs: Vec<String>,
}

/// The counts of one resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeCounts {
    /// The resource type, e.g. `aws_eks_cluster`.
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// How many resource instances get each kind of change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Created (`["create"]`).
    pub add: usize,
    /// Updated in place (`["update"]`).
    pub change: usize,
    /// Destroyed (`["delete"]`).
    pub destroy: usize,
    /// Replaced (`["delete","create"]` or `["create","delete"]`).
    pub replace: usize,
    /// Data sources read during apply (`["read"]`).
    pub read: usize,
    /// Removed from the state without being destroyed (`["forget"]`).
    pub forget: usize,
}

impl PlanSummary {
    /// Reads the output of `terraform show -json PLANFILE` (plan format version 1.x).
    pub fn from_json(text: &str) -> Result<PlanSummary, serde_json::Error> {
        let raw: RawPlan = serde_json::from_str(text)?;
        if !raw.format_version.starts_with("1.") {
            return Err(serde::de::Error::custom(format_args!(
                "unsupported plan format version `{}` (this toolkit reads 1.x)",
                raw.format_version
            )));
        }
        let mut by_type: BTreeMap<String, Counts> = BTreeMap::new();
        let mut replaced = Vec::new();
        for rc in raw.resource_changes {
            let kind = Kind::of(&rc.change.actions).ok_or_else(|| {
                serde::de::Error::custom(format_args!("unknown actions {:?} for resource `{}`", rc.change.actions, rc.address))
            })?;
            let counts = by_type.entry(rc.resource_type).or_default();
            match kind {
                Kind::NoOp => {}
                Kind::Add => counts.add += 1,
                Kind::Change => counts.change += 1,
                Kind::Destroy => counts.destroy += 1,
                Kind::Replace => {
                    counts.replace += 1;
                    replaced.push(rc.address);
                }
                Kind::Read => counts.read += 1,
                Kind::Forget => counts.forget += 1,
            }
        }
        let resource_types: Vec<TypeCounts> = by_type
            .into_iter()
            .filter(|(_, c)| *c != Counts::default())
            .map(|(resource_type, counts)| TypeCounts { resource_type, counts })
            .collect();
        let totals = resource_types.iter().fold(Counts::default(), |sum, t| sum.plus(t.counts));
        let changed_outputs =
            raw.output_changes.into_iter().filter(|(_, c)| !c.actions.iter().all(|a| a == "no-op")).map(|(name, _)| name).collect();
        Ok(PlanSummary { terraform_version: raw.terraform_version, resource_types, totals, replaced, changed_outputs })
    }

    /// True when applying the plan would change no resource (reads and output changes aside).
    pub fn changes_nothing(&self) -> bool {
        let t = self.totals;
        t.add + t.change + t.destroy + t.replace + t.forget == 0
    }
}

impl Counts {
    fn plus(self, o: Counts) -> Counts {
        Counts {
            add: self.add + o.add,
            change: self.change + o.change,
            destroy: self.destroy + o.destroy,
            replace: self.replace + o.replace,
            read: self.read + o.read,
            forget: self.forget + o.forget,
        }
    }

    fn cells(self) -> [usize; 6] {
        [self.add, self.change, self.destroy, self.replace, self.read, self.forget]
    }
}

/// The table: one row per resource type, a total row, then the replaced addresses.
impl fmt::Display for PlanSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes_nothing() && self.totals.read == 0 {
            writeln!(f, "No changes: the infrastructure matches the configuration.")?;
        } else {
            const HEADER: [&str; 7] = ["TYPE", "ADD", "CHANGE", "DESTROY", "REPLACE", "READ", "FORGET"];
            let mut rows: Vec<(String, [usize; 6])> =
                self.resource_types.iter().map(|t| (t.resource_type.clone(), t.counts.cells())).collect();
            rows.push(("total".to_owned(), self.totals.cells()));
            let name_width = rows.iter().map(|(n, _)| n.len()).chain([HEADER[0].len()]).max().unwrap_or(0);
            write!(f, "{:name_width$}", HEADER[0])?;
            for h in &HEADER[1..] {
                write!(f, "  {h:>7}")?;
            }
            writeln!(f)?;
            for (name, cells) in &rows {
                write!(f, "{name:name_width$}")?;
                for c in cells {
                    write!(f, "  {c:>7}")?;
                }
                writeln!(f)?;
            }
        }
        if !self.replaced.is_empty() {
            writeln!(f, "\nReplaced (destroyed, then created again):")?;
            for address in &self.replaced {
                writeln!(f, "  {address}")?;
            }
        }
        if !self.changed_outputs.is_empty() {
            writeln!(f, "\nChanged outputs: {}", self.changed_outputs.join(", "))?;
        }
        Ok(())
    }
}

/// The kind of change one action list means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NoOp,
    Add,
    Change,
    Destroy,
    Replace,
    Read,
    Forget,
}

impl Kind {
    fn of(actions: &[String]) -> Option<Kind> {
        let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
        Some(match actions.as_slice() {
            ["no-op"] => Kind::NoOp,
            ["create"] => Kind::Add,
            ["update"] => Kind::Change,
            ["delete"] => Kind::Destroy,
            ["delete", "create"] | ["create", "delete"] => Kind::Replace,
            ["read"] => Kind::Read,
            ["forget"] => Kind::Forget,
            _ => return None,
        })
    }
}

/// The parts of Terraform's JSON plan the summary reads; everything else is ignored.
#[derive(Deserialize)]
struct RawPlan {
    format_version: String,
    terraform_version: Option<String>,
    #[serde(default)]
    resource_changes: Vec<RawResourceChange>,
    #[serde(default)]
    output_changes: BTreeMap<String, RawChange>,
}

#[derive(Deserialize)]
struct RawResourceChange {
    address: String,
    #[serde(rename = "type")]
    resource_type: String,
    change: RawChange,
}

#[derive(Deserialize)]
struct RawChange {
    actions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(actions: &[&str], expected: Option<Kind>) {
        let actions: Vec<String> = actions.iter().map(|a| (*a).to_owned()).collect();
        assert_eq!(Kind::of(&actions), expected, "{actions:?}");
    }

    #[test]
    fn action_lists() {
        check(&["create"], Some(Kind::Add));
        check(&["update"], Some(Kind::Change));
        check(&["delete"], Some(Kind::Destroy));
        check(&["delete", "create"], Some(Kind::Replace));
        check(&["create", "delete"], Some(Kind::Replace));
        check(&["no-op"], Some(Kind::NoOp));
        check(&["read"], Some(Kind::Read));
        check(&["forget"], Some(Kind::Forget));
        check(&[], None);
        check(&["create", "update"], None);
    }

    #[test]
    fn unknown_actions_name_the_resource() {
        let json = r#"{"format_version":"1.2","resource_changes":[
            {"address":"aws_vpc.main","type":"aws_vpc","change":{"actions":["teleport"]}}]}"#;
        let error = PlanSummary::from_json(json).expect_err("unknown action");
        assert!(error.to_string().contains("unknown actions [\"teleport\"] for resource `aws_vpc.main`"), "{error}");
    }

    #[test]
    fn other_format_versions_are_refused() {
        let error = PlanSummary::from_json(r#"{"format_version":"2.0"}"#).expect_err("format 2");
        assert!(error.to_string().contains("unsupported plan format version `2.0`"), "{error}");
    }

    #[test]
    fn not_json_is_an_error() {
        assert!(PlanSummary::from_json("Error: no plan").is_err());
    }
}
