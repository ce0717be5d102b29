//! Eligibility rules: a small, typed, sandboxed expression language a relying party
//! registers with a promotion and Surety evaluates over a
//! verified entity, its parent and the current date, answering only eligible or not.
//!
//! ```text
//! parent.kind == "business" && parent.founded_year > now.year - 5
//!     && parent.annual_revenue < 10_000_000 && role in ["manager", "owner"]
//! ```
//!
//! - Values: 64-bit integers, strings, booleans, lists of literals.
//! - Operators: `||`, `&&`, `!`, `== != < <= > >=`, `in`, `+ -` (integers only,
//!   checked), parentheses. Ordering compares integers only; `==` needs equal types.
//! - Paths: a fixed schema ([`schema`]): `entity.<attr>`, `parent.<attr>`, `role`,
//!   `now.year`. Literals compared with a normalized field are normalized alike.
//! - Registration ([`Rule::parse`]) refuses an unknown field, a type mismatch, a rule
//!   longer than [`MAX_SOURCE`] bytes, nested deeper than [`MAX_DEPTH`] or with more
//!   than [`MAX_NODES`] terms, each with its position ([`RuleError`]).
//! - Evaluation ([`Rule::eligible`]) is total and bounded: no loops, no calls, checked
//!   arithmetic, and missing facts are *unknown* under three-valued logic ([`eval`]);
//!   only *true* makes an entity eligible.
//! - An entity with several parents is eligible when the rule holds for one of its
//!   links (that parent and that role); an entity without one is evaluated once with
//!   `parent.*` and `role` unknown.

mod check;
pub mod eval;
mod lexer;
mod parser;
pub mod schema;
#[cfg(test)]
mod tests;

use std::fmt;

pub use eval::{Context, Truth};
pub use schema::EntityView;

/// The longest rule source accepted, in bytes.
pub const MAX_SOURCE: usize = 2048;
/// The deepest nesting of parentheses, unary operators and sub-expressions.
pub const MAX_DEPTH: usize = 32;
/// The most terms (values, fields, operators, list items) in one rule.
pub const MAX_NODES: usize = 256;

/// Why a rule was refused, and where: a byte offset, and the 1-based line and column
/// (in characters) of that offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub message: String,
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl RuleError {
    pub(crate) fn at(src: &str, offset: usize, message: String) -> Self {
        let before = src.get(..offset).unwrap_or(src);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        RuleError {
            message,
            offset,
            line,
            column,
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for RuleError {}

/// A checked rule, ready to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    source: String,
    expr: parser::Expr,
}

impl Rule {
    /// Parses and type-checks `source`.
    pub fn parse(source: &str) -> Result<Rule, RuleError> {
        if source.len() > MAX_SOURCE {
            let mut cut = MAX_SOURCE;
            while !source.is_char_boundary(cut) {
                cut -= 1;
            }
            return Err(RuleError::at(
                source,
                cut,
                format!("the rule is longer than {MAX_SOURCE} bytes"),
            ));
        }
        let toks = lexer::lex(source)?;
        let mut expr = parser::Parser::new(source, toks).rule()?;
        check::rule(source, &mut expr)?;
        Ok(Rule {
            source: source.to_owned(),
            expr,
        })
    }

    /// The rule as registered.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The rule's truth in one context.
    pub fn eval(&self, cx: &Context<'_>) -> Truth {
        eval::eval(&self.expr, cx)
    }

    /// Whether `entity` qualifies: the rule is true for one of its `(parent, role)`
    /// links, or (without links) with the parent and role unknown.
    pub fn eligible(
        &self,
        entity: &EntityView,
        parents: &[(EntityView, String)],
        year: i32,
    ) -> bool {
        fn cx<'a>(
            entity: &'a EntityView,
            link: Option<&'a (EntityView, String)>,
            year: i32,
        ) -> Context<'a> {
            Context {
                entity,
                parent: link.map(|(p, _)| p),
                role: link.map(|(_, r)| r.as_str()),
                year,
            }
        }
        if parents.is_empty() {
            return self.eval(&cx(entity, None, year)) == Truth::True;
        }
        parents
            .iter()
            .any(|p| self.eval(&cx(entity, Some(p), year)) == Truth::True)
    }
}
