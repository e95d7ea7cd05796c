//! Docker Compose style variable interpolation (`$VAR`, `${VAR:-default}`, `${VAR:?message}`, ...)
//! for compose files and env files.

/// A malformed template or a missing required variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InterpolateError {
    pub message: String,
    /// Byte offset in the input where the offending `$` starts.
    pub offset: usize,
}

/// Replaces every variable reference in `text` with its value from `lookup`.
///
/// Unset variables become the empty string, as in Compose. Defaults, replacements and error
/// messages are only evaluated when they are used, but the whole text must be well formed.
pub fn interpolate(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, InterpolateError> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let parts = parse(text)?;
    let mut out = String::with_capacity(text.len());
    evaluate(&parts, lookup, &mut out)?;
    Ok(out)
}

/// Escapes `text` so that [`interpolate`] gives it back unchanged.
pub fn escape(text: &str) -> String {
    text.replace('$', "$$")
}

/// The names `text` refers to, in order of first appearance, including names inside defaults,
/// replacements and messages.
pub fn variables(text: &str) -> Result<Vec<String>, InterpolateError> {
    let parts = parse(text)?;
    let mut names = Vec::new();
    collect_names(&parts, &mut names);
    Ok(names)
}

/// How deep `${A:-${B:-...}}` may nest; the parser and evaluator recurse once per level.
const MAX_NESTING: usize = 64;

/// A parsed template.
#[derive(Debug)]
enum Part {
    Text(String),
    Var(Var),
}

#[derive(Debug)]
struct Var {
    name: String,
    /// Offset of the `$`, for errors.
    offset: usize,
    modifier: Option<(Modifier, Vec<Part>)>,
}

#[derive(Debug, Clone, Copy)]
enum Modifier {
    /// `:-`
    DefaultIfUnsetOrEmpty,
    /// `-`
    DefaultIfUnset,
    /// `:?`
    RequireNonEmpty,
    /// `?`
    RequireSet,
    /// `:+`
    ReplaceIfNonEmpty,
    /// `+`
    ReplaceIfSet,
}

fn parse(text: &str) -> Result<Vec<Part>, InterpolateError> {
    let mut parser = TemplateParser { text, pos: 0 };
    parser.sequence(None, 0)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct TemplateParser<'a> {
    text: &'a str,
    /// Byte offset of the next character.
    pos: usize,
}

impl TemplateParser<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    /// Reads text and variables until the end, or, inside `${...}` (when `open` is the offset of
    /// its `$`), until the `}` that closes it. Braces in between must balance, as in Compose.
    fn sequence(&mut self, open: Option<usize>, depth: usize) -> Result<Vec<Part>, InterpolateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut braces = 0usize;
        loop {
            match self.peek() {
                None => match open {
                    Some(offset) => return Err(unterminated(offset)),
                    None => break,
                },
                Some('$') => self.dollar(&mut parts, &mut literal, depth)?,
                Some('{') if open.is_some() => {
                    braces += 1;
                    literal.push('{');
                    self.bump();
                }
                Some('}') if open.is_some() => {
                    if braces == 0 {
                        break;
                    }
                    braces -= 1;
                    literal.push('}');
                    self.bump();
                }
                Some(c) => {
                    literal.push(c);
                    self.bump();
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(parts)
    }

    fn dollar(&mut self, parts: &mut Vec<Part>, literal: &mut String, depth: usize) -> Result<(), InterpolateError> {
        let offset = self.pos;
        match self.peek_second() {
            Some('$') => {
                literal.push('$');
                self.bump();
                self.bump();
            }
            Some('{') => {
                let var = self.braced(offset, depth)?;
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(literal)));
                }
                parts.push(Part::Var(var));
            }
            Some(c) if is_name_start(c) => {
                self.bump();
                let name = self.name();
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(literal)));
                }
                parts.push(Part::Var(Var { name, offset, modifier: None }));
            }
            // Compose keeps a `$` that starts no variable (`$1`, `$ `, a trailing `$`).
            _ => {
                literal.push('$');
                self.bump();
            }
        }
        Ok(())
    }

    fn name(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.bump();
        }
        self.text.get(start..self.pos).unwrap_or_default().to_owned()
    }

    /// Parses `${...}` starting at the `$` at `offset`.
    fn braced(&mut self, offset: usize, depth: usize) -> Result<Var, InterpolateError> {
        if depth >= MAX_NESTING {
            return Err(InterpolateError { message: format!("`${{` nested more than {MAX_NESTING} levels deep"), offset });
        }
        self.bump();
        self.bump();
        let name = self.name();
        let modifier = match (self.peek(), self.peek_second()) {
            (None, _) => return Err(unterminated(offset)),
            (Some('}'), _) => None,
            (Some(':'), Some('-')) => Some(Modifier::DefaultIfUnsetOrEmpty),
            (Some(':'), Some('?')) => Some(Modifier::RequireNonEmpty),
            (Some(':'), Some('+')) => Some(Modifier::ReplaceIfNonEmpty),
            (Some('-'), _) => Some(Modifier::DefaultIfUnset),
            (Some('?'), _) => Some(Modifier::RequireSet),
            (Some('+'), _) => Some(Modifier::ReplaceIfSet),
            _ => return Err(self.invalid_name(offset)),
        };
        if !name.starts_with(is_name_start) {
            return Err(self.invalid_name(offset));
        }
        let modifier = match modifier {
            None => None,
            Some(modifier) => {
                if self.peek() == Some(':') {
                    self.bump();
                }
                self.bump();
                let argument = self.sequence(Some(offset), depth + 1)?;
                Some((modifier, argument))
            }
        };
        // `sequence` stops only at the closing brace or the end of the text.
        if self.peek() != Some('}') {
            return Err(unterminated(offset));
        }
        self.bump();
        Ok(Var { name, offset, modifier })
    }

    /// Reports the text between `${` and the next `}` as a bad name.
    fn invalid_name(&self, offset: usize) -> InterpolateError {
        let inside = self.text.get(offset + 2..).unwrap_or_default();
        let Some((content, _)) = inside.split_once('}') else {
            return unterminated(offset);
        };
        let message = if content.is_empty() {
            "invalid variable name: `${}` names no variable".to_owned()
        } else {
            format!(
                "invalid variable name in `${{{content}}}`: a name starts with a letter or `_` and has only letters, digits and `_`, optionally followed by `:-`, `-`, `:?`, `?`, `:+` or `+`"
            )
        };
        InterpolateError { message, offset }
    }
}

fn unterminated(offset: usize) -> InterpolateError {
    InterpolateError { message: "unterminated `${`: add the closing `}`".to_owned(), offset }
}

fn evaluate(parts: &[Part], lookup: &dyn Fn(&str) -> Option<String>, out: &mut String) -> Result<(), InterpolateError> {
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Var(var) => evaluate_var(var, lookup, out)?,
        }
    }
    Ok(())
}

fn evaluate_var(var: &Var, lookup: &dyn Fn(&str) -> Option<String>, out: &mut String) -> Result<(), InterpolateError> {
    let value = lookup(&var.name);
    let Some((modifier, argument)) = &var.modifier else {
        out.push_str(value.as_deref().unwrap_or_default());
        return Ok(());
    };
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let set = value.is_some();
    match modifier {
        Modifier::DefaultIfUnsetOrEmpty | Modifier::DefaultIfUnset => {
            let use_value = match modifier {
                Modifier::DefaultIfUnsetOrEmpty => non_empty,
                _ => set,
            };
            match value {
                Some(value) if use_value => out.push_str(&value),
                _ => evaluate(argument, lookup, out)?,
            }
        }
        Modifier::RequireNonEmpty | Modifier::RequireSet => {
            let present = match modifier {
                Modifier::RequireNonEmpty => non_empty,
                _ => set,
            };
            match value {
                Some(value) if present => out.push_str(&value),
                _ => {
                    let mut reason = String::new();
                    evaluate(argument, lookup, &mut reason)?;
                    let message = if reason.is_empty() {
                        format!("required variable {} is missing a value", var.name)
                    } else {
                        format!("required variable {} is missing a value: {reason}", var.name)
                    };
                    return Err(InterpolateError { message, offset: var.offset });
                }
            }
        }
        Modifier::ReplaceIfNonEmpty | Modifier::ReplaceIfSet => {
            let replace = match modifier {
                Modifier::ReplaceIfNonEmpty => non_empty,
                _ => set,
            };
            if replace {
                evaluate(argument, lookup, out)?;
            }
        }
    }
    Ok(())
}

fn collect_names(parts: &[Part], names: &mut Vec<String>) {
    for part in parts {
        if let Part::Var(var) = part {
            if !names.contains(&var.name) {
                names.push(var.name.clone());
            }
            if let Some((_, argument)) = &var.modifier {
                collect_names(argument, names);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn lookup_in<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    /// `expected` is `Ok(output)` or `Err((message, offset))`.
    fn check(input: &str, vars: &[(&str, &str)], expected: Result<&str, (&str, usize)>) {
        let actual = interpolate(input, &lookup_in(vars));
        let actual = actual.as_ref().map(String::as_str).map_err(|e| (e.message.as_str(), e.offset));
        assert_eq!(actual, expected, "input {input:?}");
    }

    const VARS: &[(&str, &str)] = &[("A", "a"), ("EMPTY", ""), ("B_2", "b2"), ("lower", "l")];

    #[test]
    fn plain_references() {
        check("no vars", VARS, Ok("no vars"));
        check("$A ${A} $B_2$lower", VARS, Ok("a a b2l"));
        check("x${A}y", VARS, Ok("xay"));
        check("$A.b", VARS, Ok("a.b"));
        check("$UNSET|${UNSET}|", VARS, Ok("||"));
        check("$$A $$ $${A}", VARS, Ok("$A $ ${A}"));
        check("$1 $ $-x $", VARS, Ok("$1 $ $-x $"));
        check("{A} }", VARS, Ok("{A} }"));
        check("é$A€", VARS, Ok("éa€"));
    }

    #[test]
    fn modifiers() {
        check("${A:-d} ${EMPTY:-d} ${UNSET:-d}", VARS, Ok("a d d"));
        check("${A-d} ${EMPTY-d} ${UNSET-d}", VARS, Ok("a  d"));
        check("${A:+r} ${EMPTY:+r} ${UNSET:+r}", VARS, Ok("r  "));
        check("${A+r} ${EMPTY+r} ${UNSET+r}", VARS, Ok("r r "));
        check("${A:?m} ${A?m} ${EMPTY?m}", VARS, Ok("a a "));
        check("${UNSET:-}", VARS, Ok(""));
        check("${UNSET:-a b:c}", VARS, Ok("a b:c"));
        check("${UNSET:-${A}/${B_2:-x}}", VARS, Ok("a/b2"));
        check("${UNSET:-${NOPE:-${A}}}", VARS, Ok("a"));
        check("${UNSET:-{x}}", VARS, Ok("{x}"));
        check("${UNSET:-$$}", VARS, Ok("$"));
        check("${A:-${NOPE:?never evaluated}}", VARS, Ok("a"));
    }

    #[test]
    fn errors() {
        let unterminated = "unterminated `${`: add the closing `}`";
        check("x ${A", VARS, Err((unterminated, 2)));
        check("${A:-abc", VARS, Err((unterminated, 0)));
        check("${A:-{}", VARS, Err((unterminated, 0)));
        check("${", VARS, Err((unterminated, 0)));
        check("ok ${}", VARS, Err(("invalid variable name: `${}` names no variable", 3)));
        let error = interpolate("${1A}", &lookup_in(VARS)).unwrap_err();
        assert!(error.message.starts_with("invalid variable name in `${1A}`"), "{}", error.message);
        let error = interpolate("ab${A B}", &lookup_in(VARS)).unwrap_err();
        assert!(error.message.starts_with("invalid variable name in `${A B}`"), "{}", error.message);
        assert_eq!(error.offset, 2);
        assert!(interpolate("${A:x}", &lookup_in(VARS)).is_err());
        assert!(interpolate("${:-x}", &lookup_in(VARS)).is_err());
        check("x ${UNSET:?set it in .env}", VARS, Err(("required variable UNSET is missing a value: set it in .env", 2)));
        check("${EMPTY:?}", VARS, Err(("required variable EMPTY is missing a value", 0)));
        check("${UNSET?}", VARS, Err(("required variable UNSET is missing a value", 0)));
        check("${UNSET:?need $A}", VARS, Err(("required variable UNSET is missing a value: need a", 0)));
        check("${UNSET:-${INNER:?inner}}", VARS, Err(("required variable INNER is missing a value: inner", 9)));
        let deep = format!("{}{}", "${A:-".repeat(100), "}".repeat(100));
        assert!(interpolate(&deep, &lookup_in(VARS)).is_err());
    }

    #[test]
    fn variables_in_order() {
        assert_eq!(variables("$B ${A:-$C} $B ${D:?${E}} $$F").unwrap(), ["B", "A", "C", "D", "E"]);
        assert!(variables("${").is_err());
    }

    proptest! {
        #[test]
        fn escape_round_trips(text in any::<String>()) {
            prop_assert_eq!(interpolate(&escape(&text), &|_| None).unwrap(), text);
        }

        #[test]
        fn never_panics(text in any::<String>()) {
            let _ = interpolate(&text, &lookup_in(VARS));
            let _ = variables(&text);
        }

        #[test]
        fn never_panics_on_templates(text in "[${}:?+\\-A_1 é]{0,40}") {
            if let Err(error) = interpolate(&text, &lookup_in(VARS)) {
                prop_assert_eq!(text.get(error.offset..error.offset + 1), Some("$"));
            }
        }

        #[test]
        fn text_without_dollar_is_unchanged(text in "[^$]*") {
            prop_assert_eq!(interpolate(&text, &lookup_in(VARS)).unwrap(), text);
        }
    }
}
