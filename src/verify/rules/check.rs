//! The type checker: resolves every path against the schema, gives each node a type,
//! refuses mixed-type operations, and normalizes string literals compared with a field
//! the way that field's values are normalized (so `parent.region == "California"` reads
//! as `== "CA"`, and `role in ["Manager"]` as `in ["manager"]`). It also bounds the
//! tree's depth, which the parser's nesting count does not cover for `+`/`-` chains.

use super::parser::{BinOp, Expr, ExprKind, Lit};
use super::schema::{Field, Norm, Scalar, Ty};
use super::{MAX_DEPTH, RuleError};

/// Checks `e` as a whole rule: it must be a bool.
pub fn rule(src: &str, e: &mut Expr) -> Result<(), RuleError> {
    let ty = Checker { src }.check(e, 1)?;
    if ty != Ty::Bool {
        return Err(RuleError::at(
            src,
            e.at,
            format!(
                "a rule must be true or false, this is a {} (compare it with something)",
                ty.name()
            ),
        ));
    }
    Ok(())
}

struct Checker<'a> {
    src: &'a str,
}

fn lit_ty(l: &Lit) -> Scalar {
    match l {
        Lit::Int(_) => Scalar::Int,
        Lit::Str(_) => Scalar::Str,
        Lit::Bool(_) => Scalar::Bool,
    }
}

impl Checker<'_> {
    fn err(&self, at: usize, msg: String) -> RuleError {
        RuleError::at(self.src, at, msg)
    }

    fn check(&self, e: &mut Expr, depth: usize) -> Result<Ty, RuleError> {
        if depth > MAX_DEPTH {
            return Err(self.err(e.at, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let at = e.at;
        match &mut e.kind {
            ExprKind::Lit(l) => Ok(lit_ty(l).ty()),
            ExprKind::List(items) => self.list(items),
            ExprKind::Path(p) => {
                let f = Field::resolve(p).map_err(|m| self.err(at, m))?;
                e.kind = ExprKind::Field(f);
                Ok(f.ty())
            }
            ExprKind::Field(f) => Ok(f.ty()),
            ExprKind::Not(inner) => self.want(inner, Ty::Bool, "`!` applies to", depth),
            ExprKind::Neg(inner) => self.want(inner, Ty::Int, "`-` applies to", depth),
            ExprKind::And(items) | ExprKind::Or(items) => {
                for i in items {
                    self.want(i, Ty::Bool, "`&&` and `||` join", depth)?;
                }
                Ok(Ty::Bool)
            }
            ExprKind::Bin(op, l, r) => self.binary(at, *op, l, r, depth),
        }
    }

    /// Checks that `e` has type `want`.
    fn want(&self, e: &mut Expr, want: Ty, what: &str, depth: usize) -> Result<Ty, RuleError> {
        let got = self.check(e, depth + 1)?;
        if got != want {
            return Err(self.err(
                e.at,
                format!("{what} {} values, not {}", want.name(), got.name()),
            ));
        }
        Ok(want)
    }

    fn list(&self, items: &[(usize, Lit)]) -> Result<Ty, RuleError> {
        let Some((_, first)) = items.first() else {
            return Ok(Ty::List(None));
        };
        let t = lit_ty(first);
        for (at, l) in items {
            if lit_ty(l) != t {
                return Err(self.err(
                    *at,
                    format!(
                        "a list holds one type: this is a {} in a list of {}",
                        lit_ty(l).ty().name(),
                        t.ty().name()
                    ),
                ));
            }
        }
        Ok(Ty::List(Some(t)))
    }

    fn binary(
        &self,
        at: usize,
        op: BinOp,
        l: &mut Expr,
        r: &mut Expr,
        depth: usize,
    ) -> Result<Ty, RuleError> {
        let lt = self.check(l, depth + 1)?;
        let rt = self.check(r, depth + 1)?;
        let sym = op.symbol();
        let mismatch = || {
            self.err(
                at,
                format!("`{sym}` cannot compare {} with {}", lt.name(), rt.name()),
            )
        };
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                if lt != Ty::Int || rt != Ty::Int {
                    return Err(self.err(
                        at,
                        format!(
                            "`{sym}` works on numbers, not {} and {}",
                            lt.name(),
                            rt.name()
                        ),
                    ));
                }
                Ok(if matches!(op, BinOp::Add | BinOp::Sub) {
                    Ty::Int
                } else {
                    Ty::Bool
                })
            }
            BinOp::Eq | BinOp::Ne => {
                if lt != rt || matches!(lt, Ty::List(_)) {
                    return Err(mismatch());
                }
                self.normalize(l, r)?;
                self.normalize(r, l)?;
                Ok(Ty::Bool)
            }
            BinOp::In => {
                let ok = match rt {
                    Ty::List(None) => !matches!(lt, Ty::List(_)),
                    Ty::List(Some(s)) => s.ty() == lt,
                    _ => false,
                };
                if !ok {
                    return Err(self.err(
                        at,
                        format!(
                            "`in` needs a value and a list of the same type, not {} and {}",
                            lt.name(),
                            rt.name()
                        ),
                    ));
                }
                self.normalize(l, r)?;
                Ok(Ty::Bool)
            }
        }
    }

    /// When `field` is a normalized string field, rewrites the string literal(s) of
    /// `other` to that normal form (refusing a literal that can never match).
    fn normalize(&self, field: &Expr, other: &mut Expr) -> Result<(), RuleError> {
        let ExprKind::Field(f) = field.kind else {
            return Ok(());
        };
        let Some(norm) = f.norm() else {
            return Ok(());
        };
        let fix = |at: usize, s: &mut String, n: Norm| -> Result<(), RuleError> {
            *s = n.literal(s).map_err(|m| self.err(at, m))?;
            Ok(())
        };
        let other_at = other.at;
        match &mut other.kind {
            ExprKind::Lit(Lit::Str(s)) => fix(other_at, s, norm),
            ExprKind::List(items) => {
                for (at, l) in items.iter_mut() {
                    if let Lit::Str(s) = l {
                        fix(*at, s, norm)?;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
