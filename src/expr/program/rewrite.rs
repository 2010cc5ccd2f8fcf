//! The one rewrite of a jq source before it is compiled: every multiplication (`l * r`,
//! `l *= r`) becomes a call of the native `__mul`, which checks the size of what it would
//! build before building it.
//!
//! Why: multiplying a string by a number repeats it (`"x" * 1000000000000`), and multiplying
//! big integers squares their size, in one operation that no step counter can interrupt — a
//! request for terabytes aborts the process. jaq compiles operators directly, so the check
//! has to be written into the program: the source is parsed with jaq's own parser and printed
//! back with the multiplications replaced, every other term as it was (parenthesised, which
//! changes nothing: grouping keeps paths, so assignments still work). Sources without a `*`
//! are compiled as written.

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
use jaq_core::ops::{Cmp, Math};
use jaq_core::path::{Opt, Part, Path};

/// The variable that carries the right side of `l *= r` into the update.
const RIGHT: &str = "$__nagare_mul";

/// `source` with its multiplications guarded, or `None` when it has none (or does not parse:
/// the compiler then reports it as written).
pub fn guard_multiplications(source: &str) -> Option<String> {
    if !source.contains('*') {
        return None;
    }
    let term = jaq_core::load::parse(source, |p| p.term())?;
    if !multiplies(&term) {
        return None;
    }
    let mut out = String::with_capacity(source.len() * 2);
    print(&term, &mut out);
    Some(out)
}

fn multiplies(t: &Term<&str>) -> bool {
    let mut found = false;
    visit(t, &mut |t| {
        found |= matches!(
            t,
            Term::BinOp(
                _,
                BinaryOp::Math(Math::Mul) | BinaryOp::UpdateMath(Math::Mul),
                _
            )
        );
    });
    found
}

/// Calls `f` on `t` and every term inside it.
fn visit<'s>(t: &Term<&'s str>, f: &mut impl FnMut(&Term<&'s str>)) {
    f(t);
    let mut each = |ts: &mut dyn Iterator<Item = &Term<&'s str>>| {
        for t in ts {
            visit(t, f);
        }
    };
    match t {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Break(_) | Term::Var(_) => {}
        Term::Str(_, parts) => each(&mut parts.iter().filter_map(|p| match p {
            StrPart::Term(t) => Some(t),
            _ => None,
        })),
        Term::Arr(t) => each(&mut t.iter().map(|t| &**t)),
        Term::Obj(entries) => each(
            &mut entries
                .iter()
                .flat_map(|(k, v)| std::iter::once(k).chain(v.iter())),
        ),
        Term::Neg(t) | Term::Label(_, t) => each(&mut std::iter::once(&**t)),
        Term::BinOp(l, op, r) => {
            let pattern = match op {
                BinaryOp::Pipe(Some(p)) => pattern_terms(p),
                _ => Vec::new(),
            };
            each(&mut [&**l, &**r].into_iter().chain(pattern))
        }
        Term::Fold(_, xs, p, args) => each(
            &mut std::iter::once(&**xs)
                .chain(pattern_terms(p))
                .chain(args.iter()),
        ),
        Term::TryCatch(t, c) => each(&mut std::iter::once(&**t).chain(c.iter().map(|c| &**c))),
        Term::IfThenElse(branches, other) => each(
            &mut branches
                .iter()
                .flat_map(|(c, t)| [c, t])
                .chain(other.iter().map(|e| &**e)),
        ),
        Term::Def(defs, t) => each(&mut defs.iter().map(|d| &d.body).chain([&**t])),
        Term::Call(_, args) => each(&mut args.iter()),
        Term::Path(t, path) => each(&mut std::iter::once(&**t).chain(path.0.iter().flat_map(
            |(part, _)| match part {
                Part::Index(i) => vec![i],
                Part::Range(a, b) => a.iter().chain(b.iter()).collect(),
            },
        ))),
    }
}

fn pattern_terms<'a, 's>(p: &'a Pattern<&'s str>) -> Vec<&'a Term<&'s str>> {
    match p {
        Pattern::Var(_) => Vec::new(),
        Pattern::Arr(ps) => ps.iter().flat_map(pattern_terms).collect(),
        Pattern::Obj(entries) => entries
            .iter()
            .flat_map(|(k, p)| std::iter::once(k).chain(pattern_terms(p)))
            .collect(),
    }
}

/// `(t)`.
fn group(t: &Term<&str>, out: &mut String) {
    out.push('(');
    print(t, out);
    out.push(')');
}

fn print(t: &Term<&str>, out: &mut String) {
    match t {
        Term::Id => out.push('.'),
        Term::Recurse => out.push_str(".."),
        Term::Num(n) => out.push_str(n),
        Term::Str(format, parts) => string(*format, parts, out),
        Term::Arr(None) => out.push_str("[]"),
        Term::Arr(Some(t)) => {
            out.push('[');
            print(t, out);
            out.push(']');
        }
        Term::Obj(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match v {
                    Some(v) => {
                        group(k, out);
                        out.push_str(": ");
                        group(v, out);
                    }
                    // `{$x}`, `{a}` (a string key here), `{"a"}`, `{@base64 "a"}`.
                    None => print(k, out),
                }
            }
            out.push('}');
        }
        Term::Neg(t) => {
            out.push('-');
            group(t, out);
        }
        Term::BinOp(l, BinaryOp::Math(Math::Mul), r) => {
            out.push_str("__mul(");
            print(l, out);
            out.push_str("; ");
            print(r, out);
            out.push(')');
        }
        // `l *= r` is `r as $x | l |= . * $x`, with `r` evaluated on the input.
        Term::BinOp(l, BinaryOp::UpdateMath(Math::Mul), r) => {
            group(r, out);
            out.push_str(&format!(" as {RIGHT} | "));
            group(l, out);
            out.push_str(&format!(" |= __mul(.; {RIGHT})"));
        }
        Term::BinOp(l, op, r) => {
            group(l, out);
            match op {
                BinaryOp::Pipe(None) => out.push_str(" | "),
                BinaryOp::Pipe(Some(p)) => {
                    out.push_str(" as ");
                    pattern(p, out);
                    out.push_str(" | ");
                }
                BinaryOp::Comma => out.push_str(", "),
                BinaryOp::Alt => out.push_str(" // "),
                BinaryOp::Or => out.push_str(" or "),
                BinaryOp::And => out.push_str(" and "),
                BinaryOp::Math(m) => {
                    out.push(' ');
                    out.push_str(math(*m));
                    out.push(' ');
                }
                BinaryOp::Cmp(c) => {
                    out.push(' ');
                    out.push_str(cmp(*c));
                    out.push(' ');
                }
                BinaryOp::Assign => out.push_str(" = "),
                BinaryOp::Update => out.push_str(" |= "),
                BinaryOp::UpdateMath(m) => {
                    out.push(' ');
                    out.push_str(math(*m));
                    out.push_str("= ");
                }
                BinaryOp::UpdateAlt => out.push_str(" //= "),
            }
            group(r, out);
        }
        Term::Label(x, t) => {
            out.push_str("label ");
            out.push_str(x);
            out.push_str(" | ");
            group(t, out);
        }
        Term::Break(x) => {
            out.push_str("break ");
            out.push_str(x);
        }
        Term::Fold(kind, xs, p, args) => {
            out.push_str(kind);
            out.push(' ');
            group(xs, out);
            out.push_str(" as ");
            pattern(p, out);
            arguments(args, out);
        }
        Term::TryCatch(t, c) => {
            out.push_str("try ");
            group(t, out);
            if let Some(c) = c {
                out.push_str(" catch ");
                group(c, out);
            }
        }
        Term::IfThenElse(branches, other) => {
            for (i, (c, t)) in branches.iter().enumerate() {
                out.push_str(if i == 0 { "if " } else { " elif " });
                group(c, out);
                out.push_str(" then ");
                group(t, out);
            }
            if let Some(e) = other {
                out.push_str(" else ");
                group(e, out);
            }
            out.push_str(" end");
        }
        Term::Def(defs, t) => {
            for d in defs {
                def(d, out);
                out.push(' ');
            }
            group(t, out);
        }
        Term::Call(name, args) => {
            out.push_str(name);
            arguments(args, out);
        }
        Term::Var(x) => out.push_str(x),
        Term::Path(t, p) => {
            group(t, out);
            path(p, out);
        }
    }
}

fn arguments(args: &[Term<&str>], out: &mut String) {
    if args.is_empty() {
        return;
    }
    out.push('(');
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        print(a, out);
    }
    out.push(')');
}

fn def(d: &Def<&str>, out: &mut String) {
    out.push_str("def ");
    out.push_str(d.name);
    if !d.args.is_empty() {
        out.push('(');
        out.push_str(&d.args.join("; "));
        out.push(')');
    }
    out.push_str(": ");
    print(&d.body, out);
    out.push(';');
}

fn path(p: &Path<Term<&str>>, out: &mut String) {
    for (part, opt) in &p.0 {
        out.push('[');
        match part {
            Part::Index(i) => print(i, out),
            Part::Range(a, b) => {
                if a.is_none() && b.is_none() {
                } else {
                    if let Some(a) = a {
                        print(a, out);
                    }
                    out.push(':');
                    if let Some(b) = b {
                        print(b, out);
                    }
                }
            }
        }
        out.push(']');
        if let Opt::Optional = opt {
            out.push('?');
        }
    }
}

fn pattern(p: &Pattern<&str>, out: &mut String) {
    match p {
        Pattern::Var(x) => out.push_str(x),
        Pattern::Arr(ps) => {
            out.push('[');
            for (i, p) in ps.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                pattern(p, out);
            }
            out.push(']');
        }
        Pattern::Obj(entries) => {
            out.push('{');
            for (i, (k, p)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                group(k, out);
                out.push_str(": ");
                pattern(p, out);
            }
            out.push('}');
        }
    }
}

fn string(format: Option<&str>, parts: &[StrPart<&str, Term<&str>>], out: &mut String) {
    if let Some(f) = format {
        out.push_str(f);
        out.push(' ');
    }
    out.push('"');
    for part in parts {
        match part {
            // Text between escapes: it holds no quote and no backslash.
            StrPart::Str(s) => out.push_str(s),
            StrPart::Char(c) => match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if (*c as u32) < 0x20 || *c == '\u{7f}' => {
                    out.push_str(&format!("\\u{:04x}", *c as u32))
                }
                c => out.push(*c),
            },
            StrPart::Term(t) => {
                out.push_str("\\(");
                print(t, out);
                out.push(')');
            }
        }
    }
    out.push('"');
}

fn math(m: Math) -> &'static str {
    match m {
        Math::Add => "+",
        Math::Sub => "-",
        Math::Mul => "*",
        Math::Div => "/",
        Math::Rem => "%",
    }
}

fn cmp(c: Cmp) -> &'static str {
    match c {
        Cmp::Lt => "<",
        Cmp::Gt => ">",
        Cmp::Le => "<=",
        Cmp::Ge => ">=",
        Cmp::Eq => "==",
        Cmp::Ne => "!=",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_multiplications_are_rewritten() {
        assert_eq!(guard_multiplications(".a + 1"), None);
        assert_eq!(guard_multiplications(r#""*""#), None);
        assert_eq!(
            guard_multiplications(".a * 2").as_deref(),
            Some("__mul((.)[\"a\"]; 2)")
        );
    }
}
