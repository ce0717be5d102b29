//! Evaluation over three truth values (Kleene's logic). A fact that is absent (a person
//! without a recorded birth year, an entity without a parent) is *unknown*; anything
//! computed from an unknown is unknown, except that `false && unknown` is false and
//! `true || unknown` is true. Integer overflow is unknown too. A rule makes someone
//! eligible only when it is *true*: `!(parent.annual_revenue > 1000000)` does not admit
//! an entity whose parent's revenue is not on record.
//!
//! Evaluation is total (no panics: a type mismatch, impossible after checking, is
//! unknown) and its cost is linear in the (bounded) size of the rule.

use super::parser::{BinOp, Expr, ExprKind, Lit};
use super::schema::{EntityView, Field, FieldValue};

/// The result of evaluating a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn of(b: bool) -> Self {
        if b { Truth::True } else { Truth::False }
    }
}

/// What a rule is evaluated over.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub entity: &'a EntityView,
    pub parent: Option<&'a EntityView>,
    /// The entity's role in its link to `parent`.
    pub role: Option<&'a str>,
    /// The current UTC year.
    pub year: i32,
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
enum V<'e> {
    Int(i64),
    Str(String),
    Bool(bool),
    List(&'e [(usize, Lit)]),
    Unknown,
}

impl V<'_> {
    fn truth(&self) -> Truth {
        match self {
            V::Bool(b) => Truth::of(*b),
            _ => Truth::Unknown,
        }
    }
}

fn from_truth(t: Truth) -> V<'static> {
    match t {
        Truth::True => V::Bool(true),
        Truth::False => V::Bool(false),
        Truth::Unknown => V::Unknown,
    }
}

pub fn eval(e: &Expr, cx: &Context<'_>) -> Truth {
    value(e, cx).truth()
}

fn lit(l: &Lit) -> V<'static> {
    match l {
        Lit::Int(n) => V::Int(*n),
        Lit::Str(s) => V::Str(s.clone()),
        Lit::Bool(b) => V::Bool(*b),
    }
}

fn field(f: Field, cx: &Context<'_>) -> V<'static> {
    let of = |v: Option<FieldValue>| match v {
        Some(FieldValue::Int(n)) => V::Int(n),
        Some(FieldValue::Str(s)) => V::Str(s),
        None => V::Unknown,
    };
    match f {
        Field::NowYear => V::Int(i64::from(cx.year)),
        Field::Role => cx.role.map_or(V::Unknown, |r| V::Str(r.to_owned())),
        Field::Entity(a) => of(cx.entity.get(a)),
        Field::Parent(a) => of(cx.parent.and_then(|p| p.get(a))),
    }
}

fn value<'e>(e: &'e Expr, cx: &Context<'_>) -> V<'e> {
    match &e.kind {
        ExprKind::Lit(l) => lit(l),
        ExprKind::List(items) => V::List(items),
        ExprKind::Field(f) => field(*f, cx),
        // Paths are resolved by the checker; an unresolved one is unknown.
        ExprKind::Path(_) => V::Unknown,
        ExprKind::Not(inner) => match value(inner, cx) {
            V::Bool(b) => V::Bool(!b),
            _ => V::Unknown,
        },
        ExprKind::Neg(inner) => match value(inner, cx) {
            V::Int(n) => n.checked_neg().map_or(V::Unknown, V::Int),
            _ => V::Unknown,
        },
        ExprKind::And(items) => from_truth(kleene(items, cx, Truth::False)),
        ExprKind::Or(items) => from_truth(kleene(items, cx, Truth::True)),
        ExprKind::Bin(op, l, r) => binary(*op, value(l, cx), value(r, cx)),
    }
}

/// Kleene `&&` (`dominant` false) or `||` (`dominant` true): the dominant value as soon
/// as one item has it, else unknown if one item is unknown, else the other value.
fn kleene(items: &[Expr], cx: &Context<'_>, dominant: Truth) -> Truth {
    let mut out = match dominant {
        Truth::False => Truth::True,
        _ => Truth::False,
    };
    for i in items {
        match eval(i, cx) {
            t if t == dominant => return t,
            Truth::Unknown => out = Truth::Unknown,
            _ => {}
        }
    }
    out
}

fn binary<'e>(op: BinOp, l: V<'e>, r: V<'e>) -> V<'e> {
    if l == V::Unknown || r == V::Unknown {
        return V::Unknown;
    }
    match (op, &l, &r) {
        (BinOp::Add, V::Int(a), V::Int(b)) => a.checked_add(*b).map_or(V::Unknown, V::Int),
        (BinOp::Sub, V::Int(a), V::Int(b)) => a.checked_sub(*b).map_or(V::Unknown, V::Int),
        (BinOp::Lt, V::Int(a), V::Int(b)) => V::Bool(a < b),
        (BinOp::Le, V::Int(a), V::Int(b)) => V::Bool(a <= b),
        (BinOp::Gt, V::Int(a), V::Int(b)) => V::Bool(a > b),
        (BinOp::Ge, V::Int(a), V::Int(b)) => V::Bool(a >= b),
        (BinOp::Eq, a, b) if comparable(a, b) => V::Bool(a == b),
        (BinOp::Ne, a, b) if comparable(a, b) => V::Bool(a != b),
        (BinOp::In, needle, V::List(items)) => {
            V::Bool(items.iter().any(|(_, item)| lit(item) == *needle))
        }
        _ => V::Unknown,
    }
}

/// Two scalars of the same type.
fn comparable(a: &V<'_>, b: &V<'_>) -> bool {
    matches!(
        (a, b),
        (V::Int(_), V::Int(_)) | (V::Str(_), V::Str(_)) | (V::Bool(_), V::Bool(_))
    )
}
