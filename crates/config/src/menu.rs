//! The Phase 1 menu: pick an environment, then one of the catalogue deployments it allows. The
//! questions go to `output` and the answers come from `input`, so a terminal, a script or a test
//! can drive it.

use std::io::{self, BufRead, Write};

use crate::Infra;

/// Asks for an environment, then a deployment of that environment; returns both names. The end
/// of `input` before a choice is an error saying nothing was changed.
pub fn choose_deployment(infra: &Infra, input: &mut dyn BufRead, output: &mut dyn Write) -> io::Result<(String, String)> {
    let envs: Vec<&String> = infra.environments.environments.keys().collect();
    let lines: Vec<String> = infra.environments.environments.values().map(|e| format!("{} — {}", e.name, e.description)).collect();
    let env = envs[choose("Environment", &lines, input, output)?].clone();
    let deployments: Vec<_> = infra.catalogue.deployments.iter().filter(|d| d.environments.contains(&env)).collect();
    if deployments.is_empty() {
        return Err(io::Error::other(format!("no deployment of the catalogue runs in environment `{env}`")));
    }
    let lines: Vec<String> = deployments.iter().map(|d| format!("{:14} {}", d.short_name, d.name)).collect();
    let short = deployments[choose("Deployment", &lines, input, output)?].short_name.clone();
    Ok((env, short))
}

/// Lists `items` numbered from 1 and asks until the answer is one of the numbers.
fn choose(what: &str, items: &[String], input: &mut dyn BufRead, output: &mut dyn Write) -> io::Result<usize> {
    writeln!(output, "{what}:")?;
    for (i, item) in items.iter().enumerate() {
        writeln!(output, "  {:>2}) {item}", i + 1)?;
    }
    loop {
        writeln!(output, "choose 1-{}: ", items.len())?;
        let mut answer = String::new();
        if input.read_line(&mut answer)? == 0 {
            return Err(io::Error::other("no choice made (end of input): nothing was changed"));
        }
        match answer.trim().parse::<usize>() {
            Ok(n) if (1..=items.len()).contains(&n) => return Ok(n - 1),
            _ => writeln!(output, "`{}` is not a number between 1 and {}", answer.trim(), items.len())?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infra() -> Infra {
        let root = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure");
        Infra::load(&root, &Default::default()).expect("the repository's tree loads").0
    }

    #[test]
    fn a_wrong_answer_is_asked_again_and_the_numbers_pick_environment_then_deployment() {
        let infra = infra();
        let env_index = infra.environments.environments.keys().position(|k| k == "local").expect("a local environment") + 1;
        let local: Vec<_> = infra.catalogue.deployments.iter().filter(|d| d.environments.iter().any(|e| e == "local")).collect();
        let mut input = io::Cursor::new(format!("x\n{env_index}\n0\n1\n"));
        let mut output = Vec::new();
        let chosen = choose_deployment(&infra, &mut input, &mut output).expect("a choice");
        assert_eq!(chosen, ("local".to_owned(), local[0].short_name.clone()));
        let text = String::from_utf8(output).expect("UTF-8 output");
        assert!(text.contains("`x` is not a number between 1 and"), "{text}");
        assert!(text.contains(&format!("`0` is not a number between 1 and {}", local.len())), "{text}");
    }

    #[test]
    fn the_end_of_input_is_an_error_that_nothing_changed() {
        let error = choose_deployment(&infra(), &mut io::Cursor::new(""), &mut Vec::new()).expect_err("no choice");
        assert_eq!(error.to_string(), "no choice made (end of input): nothing was changed");
    }
}
