//! Tokens of the eligibility rule language, each with the byte offset it starts at.
//! Identifiers are ASCII (`[A-Za-z_][A-Za-z0-9_]*`); strings are double-quoted UTF-8 with
//! the escapes `\"`, `\\`, `\n`, `\t` and no control characters; integers are decimal
//! (`_` may group digits: `10_000_000`) and must fit in an `i64`. A leading `-` is the
//! unary operator, so `-9223372036854775808` is refused: write `-9223372036854775807 - 1`.
//! Anything else (look-alike Unicode operators, invisible characters) is refused.

use super::RuleError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    Int(i64),
    Str(String),
    True,
    False,
    In,
    Dot,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Not,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
}

impl Tok {
    /// How the token is named in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("name `{s}`"),
            Tok::Int(n) => format!("number {n}"),
            Tok::Str(_) => "a string".into(),
            Tok::True => "`true`".into(),
            Tok::False => "`false`".into(),
            Tok::In => "`in`".into(),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::Dot => ".",
            Tok::Comma => ",",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Not => "!",
            Tok::And => "&&",
            Tok::Or => "||",
            Tok::Eq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            _ => "?",
        }
    }
}

/// A token and the byte offset of its first character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned {
    pub tok: Tok,
    pub at: usize,
}

/// Splits `src` into tokens.
pub fn lex(src: &str) -> Result<Vec<Spanned>, RuleError> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let at = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let (tok, len) = if c.is_ascii_alphabetic() || c == b'_' {
            word(src, i)
        } else if c.is_ascii_digit() {
            number(src, i)?
        } else if c == b'"' {
            string(src, i)?
        } else {
            operator(src, i)?
        };
        out.push(Spanned { tok, at });
        i += len;
    }
    Ok(out)
}

fn word(src: &str, start: usize) -> (Tok, usize) {
    let len = src[start..]
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    let w = &src[start..start + len];
    let tok = match w {
        "true" => Tok::True,
        "false" => Tok::False,
        "in" => Tok::In,
        _ => Tok::Ident(w.to_owned()),
    };
    (tok, len)
}

fn number(src: &str, start: usize) -> Result<(Tok, usize), RuleError> {
    let len = src[start..]
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    let text = &src[start..start + len];
    if !text.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return Err(RuleError::at(
            src,
            start,
            format!("`{text}` is not a whole number (digits, `_` to group them)"),
        ));
    }
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    let n = digits.parse::<i64>().map_err(|_| {
        RuleError::at(
            src,
            start,
            "number too large (integers are 64-bit)".to_owned(),
        )
    })?;
    Ok((Tok::Int(n), len))
}

fn string(src: &str, start: usize) -> Result<(Tok, usize), RuleError> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        let at = start + 1 + off;
        match c {
            '"' => return Ok((Tok::Str(out), off + 2)),
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                _ => {
                    return Err(RuleError::at(
                        src,
                        at,
                        "unknown escape (use \\\" \\\\ \\n \\t)".to_owned(),
                    ));
                }
            },
            c if c.is_control() => {
                return Err(RuleError::at(
                    src,
                    at,
                    "control character in a string".to_owned(),
                ));
            }
            c => out.push(c),
        }
    }
    Err(RuleError::at(src, start, "unterminated string".to_owned()))
}

fn operator(src: &str, i: usize) -> Result<(Tok, usize), RuleError> {
    let two = src.get(i..i + 2).unwrap_or("");
    let pair = match two {
        "&&" => Some(Tok::And),
        "||" => Some(Tok::Or),
        "==" => Some(Tok::Eq),
        "!=" => Some(Tok::Ne),
        "<=" => Some(Tok::Le),
        ">=" => Some(Tok::Ge),
        _ => None,
    };
    if let Some(t) = pair {
        return Ok((t, 2));
    }
    let tok = match src.as_bytes()[i] {
        b'.' => Tok::Dot,
        b',' => Tok::Comma,
        b'(' => Tok::LParen,
        b')' => Tok::RParen,
        b'[' => Tok::LBracket,
        b']' => Tok::RBracket,
        b'!' => Tok::Not,
        b'<' => Tok::Lt,
        b'>' => Tok::Gt,
        b'+' => Tok::Plus,
        b'-' => Tok::Minus,
        _ => {
            let c = src[i..].chars().next().unwrap_or('?');
            let hint = match c {
                '=' => " (equality is `==`)",
                '&' => " (and is `&&`)",
                '|' => " (or is `||`)",
                '\'' => " (strings use double quotes)",
                _ => "",
            };
            return Err(RuleError::at(
                src,
                i,
                format!("unexpected character {c:?}{hint}"),
            ));
        }
    };
    Ok((tok, 1))
}
