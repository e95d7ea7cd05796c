//! The grammar of a Kubernetes quantity (`500m`, `1.5Gi`, `2e3`): `k8s-openapi` keeps quantities
//! as strings and accepts any, the API server rejects what does not parse.

/// Whether `text` is a quantity: a signed decimal number, then a binary suffix (`Ki` .. `Ei`), a
/// decimal suffix (`m`, `k`, `M`, `G`, `T`, `P`, `E`, none) or a decimal exponent (`e3`, `E-2`).
pub(super) fn is_valid(text: &str) -> bool {
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || number.matches('.').count() > 1 {
        return false;
    }
    match suffix {
        "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => true,
        _ => suffix.strip_prefix(['e', 'E']).is_some_and(|exponent| {
            let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            !exponent.is_empty() && exponent.chars().all(|c| c.is_ascii_digit())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for good in ["1", "0", "250m", "1.5", ".5", "5.", "1Gi", "512Mi", "64Mi", "2e3", "1E", "1E-2", "+1k", "-1", "100M"] {
            assert!(is_valid(good), "{good} should parse");
        }
        for bad in ["", "Gi", "1GB", "1gi", "1.2.3", "one", "1 Gi", "1e", "1e+", "m", ".", "1Mii", "--1"] {
            assert!(!is_valid(bad), "{bad} should not parse");
        }
    }
}
