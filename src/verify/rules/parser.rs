//! The rule grammar, parsed by recursive descent into an [`Expr`] tree (lowest
//! precedence first; `&&` and `||` chains become one n-ary node each):
//!
//! ```text
//! rule    := or
//! or      := and ("||" and)*
//! and     := cmp ("&&" cmp)*
//! cmp     := add (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") add)?   -- no chaining
//! add     := unary (("+" | "-") unary)*
//! unary   := "!" unary | "-" unary | primary
//! primary := INT | STRING | "true" | "false" | list | "(" or ")" | IDENT ("." IDENT)*
//! list    := "[" (literal ("," literal)* ","?)? "]"
//! literal := "-"? INT | STRING | "true" | "false"
//! ```
//!
//! The parser counts nodes and nesting as it goes, so an oversized rule is refused
//! before it can cost more than [`MAX_NODES`] allocations or [`MAX_DEPTH`] frames.

use super::lexer::{Spanned, Tok};
use super::schema::Field;
use super::{MAX_DEPTH, MAX_NODES, RuleError};

/// A literal value (in a list, or standing alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lit {
    Int(i64),
    Str(String),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
        }
    }
}

/// One node and the byte offset of the source it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub at: usize,
    pub kind: ExprKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    Lit(Lit),
    List(Vec<(usize, Lit)>),
    /// A dotted path as written; the checker turns it into a [`ExprKind::Field`].
    Path(Vec<String>),
    Field(Field),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

pub struct Parser<'a> {
    src: &'a str,
    toks: Vec<Spanned>,
    pos: usize,
    nodes: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a str, toks: Vec<Spanned>) -> Self {
        Parser {
            src,
            toks,
            pos: 0,
            nodes: 0,
            depth: 0,
        }
    }

    /// Parses the whole token stream as one rule.
    pub fn rule(mut self) -> Result<Expr, RuleError> {
        if self.toks.is_empty() {
            return Err(RuleError::at(self.src, 0, "the rule is empty".into()));
        }
        let e = self.or()?;
        if let Some(t) = self.toks.get(self.pos) {
            return Err(self.err(
                t.at,
                format!(
                    "unexpected {} after a complete expression",
                    t.tok.describe()
                ),
            ));
        }
        Ok(e)
    }

    fn err(&self, at: usize, msg: String) -> RuleError {
        RuleError::at(self.src, at, msg)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    /// The offset of the next token (or the end of the source).
    fn here(&self) -> usize {
        self.toks.get(self.pos).map_or(self.src.len(), |t| t.at)
    }

    fn bump(&mut self) -> Option<Spanned> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn node(&mut self, at: usize, kind: ExprKind) -> Result<Expr, RuleError> {
        self.count(at)?;
        Ok(Expr { at, kind })
    }

    fn count(&mut self, at: usize) -> Result<(), RuleError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(self.err(
                at,
                format!("the rule is too large (more than {MAX_NODES} terms)"),
            ));
        }
        Ok(())
    }

    fn enter(&mut self, at: usize) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(at, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<usize, RuleError> {
        match self.bump() {
            Some(t) if t.tok == want => Ok(t.at),
            Some(t) => Err(self.err(t.at, format!("expected {what}, found {}", t.tok.describe()))),
            None => Err(self.err(self.src.len(), format!("expected {what} at the end"))),
        }
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        self.chain(Tok::Or, Self::and, ExprKind::Or)
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        self.chain(Tok::And, Self::cmp, ExprKind::And)
    }

    /// `item (op item)*` as one n-ary node (or the single item).
    fn chain(
        &mut self,
        op: Tok,
        item: fn(&mut Self) -> Result<Expr, RuleError>,
        make: fn(Vec<Expr>) -> ExprKind,
    ) -> Result<Expr, RuleError> {
        let first = item(self)?;
        if self.peek() != Some(&op) {
            return Ok(first);
        }
        let at = first.at;
        let mut items = vec![first];
        while self.peek() == Some(&op) {
            self.bump();
            items.push(item(self)?);
        }
        self.node(at, make(items))
    }

    fn cmp_op(t: Option<&Tok>) -> Option<BinOp> {
        Some(match t? {
            Tok::Eq => BinOp::Eq,
            Tok::Ne => BinOp::Ne,
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            Tok::In => BinOp::In,
            _ => return None,
        })
    }

    fn cmp(&mut self) -> Result<Expr, RuleError> {
        let left = self.add()?;
        let Some(op) = Self::cmp_op(self.peek()) else {
            return Ok(left);
        };
        let op_at = self.here();
        self.bump();
        let right = self.add()?;
        if Self::cmp_op(self.peek()).is_some() {
            return Err(self.err(
                self.here(),
                "comparisons do not chain; join them with &&".into(),
            ));
        }
        self.node(op_at, ExprKind::Bin(op, Box::new(left), Box::new(right)))
    }

    fn add(&mut self) -> Result<Expr, RuleError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Plus) => BinOp::Add,
                Some(Tok::Minus) => BinOp::Sub,
                _ => return Ok(left),
            };
            let at = self.here();
            self.bump();
            let right = self.unary()?;
            left = self.node(at, ExprKind::Bin(op, Box::new(left), Box::new(right)))?;
        }
    }

    fn unary(&mut self) -> Result<Expr, RuleError> {
        let at = self.here();
        let make: fn(Box<Expr>) -> ExprKind = match self.peek() {
            Some(Tok::Not) => ExprKind::Not,
            Some(Tok::Minus) => ExprKind::Neg,
            _ => return self.primary(),
        };
        self.bump();
        self.enter(at)?;
        let inner = self.unary()?;
        self.depth -= 1;
        self.node(at, make(Box::new(inner)))
    }

    fn primary(&mut self) -> Result<Expr, RuleError> {
        let Some(t) = self.bump() else {
            return Err(self.err(self.src.len(), "the rule ends too early".into()));
        };
        let at = t.at;
        match t.tok {
            Tok::Int(n) => self.node(at, ExprKind::Lit(Lit::Int(n))),
            Tok::Str(s) => self.node(at, ExprKind::Lit(Lit::Str(s))),
            Tok::True => self.node(at, ExprKind::Lit(Lit::Bool(true))),
            Tok::False => self.node(at, ExprKind::Lit(Lit::Bool(false))),
            Tok::LBracket => self.list(at),
            Tok::LParen => {
                self.enter(at)?;
                let e = self.or()?;
                self.expect(Tok::RParen, "`)`")?;
                self.depth -= 1;
                Ok(e)
            }
            Tok::Ident(first) => self.path(at, first),
            other => Err(self.err(
                at,
                format!(
                    "expected a value, a field or `(`, found {}",
                    other.describe()
                ),
            )),
        }
    }

    fn path(&mut self, at: usize, first: String) -> Result<Expr, RuleError> {
        let mut parts = vec![first];
        while self.peek() == Some(&Tok::Dot) {
            self.bump();
            match self.bump() {
                Some(Spanned {
                    tok: Tok::Ident(p), ..
                }) => parts.push(p),
                Some(t) => {
                    return Err(self.err(
                        t.at,
                        format!("expected a field name, found {}", t.tok.describe()),
                    ));
                }
                None => return Err(self.err(self.src.len(), "expected a field name".into())),
            }
        }
        self.node(at, ExprKind::Path(parts))
    }

    fn list(&mut self, at: usize) -> Result<Expr, RuleError> {
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(&Tok::RBracket) {
                self.bump();
                return self.node(at, ExprKind::List(items));
            }
            let item_at = self.here();
            items.push((item_at, self.literal()?));
            self.count(item_at)?;
            match self.bump() {
                Some(Spanned {
                    tok: Tok::Comma, ..
                }) => {}
                Some(Spanned {
                    tok: Tok::RBracket, ..
                }) => return self.node(at, ExprKind::List(items)),
                Some(t) => {
                    return Err(self.err(
                        t.at,
                        format!("expected `,` or `]`, found {}", t.tok.describe()),
                    ));
                }
                None => return Err(self.err(at, "unclosed `[`".into())),
            }
        }
    }

    fn literal(&mut self) -> Result<Lit, RuleError> {
        let neg = self.peek() == Some(&Tok::Minus);
        if neg {
            self.bump();
        }
        match self.bump() {
            Some(Spanned {
                tok: Tok::Int(n), ..
            }) => Ok(Lit::Int(if neg { -n } else { n })),
            Some(Spanned {
                tok: Tok::Str(s), ..
            }) if !neg => Ok(Lit::Str(s)),
            Some(Spanned { tok: Tok::True, .. }) if !neg => Ok(Lit::Bool(true)),
            Some(Spanned {
                tok: Tok::False, ..
            }) if !neg => Ok(Lit::Bool(false)),
            Some(t) => Err(self.err(
                t.at,
                format!(
                    "a list holds literals only (numbers, strings, true, false), found {}",
                    t.tok.describe()
                ),
            )),
            None => Err(self.err(self.src.len(), "unclosed `[`".into())),
        }
    }
}
