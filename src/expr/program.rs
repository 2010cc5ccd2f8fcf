//! A definition's expressions compiled together into one jaq program, evaluated by source text.
//!
//! Compiling a jq filter compiles jaq's standard library with it (~0.2 ms). Compiling all the
//! expressions of a definition as definitions of one program pays that once: each expression
//! becomes `def __eN: ...;` and the main filter dispatches on the global `$__e` through a
//! balanced tree of comparisons, so one evaluation costs a few comparisons more than the filter.

use super::Val;
use super::args::{Args, BUILTINS};
use super::budget::{self, Exceeded, Limits};
use jaq_core::data::{DataT, HasLut};
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars};
use std::collections::HashMap;

mod natives;
mod rewrite;

/// jaq's data type for nagare's programs: its values, and a program lookup that counts a
/// step of the evaluation's budget (jaq looks the program up at every term it evaluates).
pub struct Metered;

impl DataT for Metered {
    type V<'a> = Val;
    type Data<'a> = MeteredLut<'a>;
}

#[derive(Clone)]
pub struct MeteredLut<'a>(&'a jaq_core::Lut<Metered>);

impl<'a> HasLut<'a, Metered> for MeteredLut<'a> {
    #[inline]
    fn lut(&self) -> &'a jaq_core::Lut<Metered> {
        budget::tick();
        self.0
    }
}

type Data = Metered;

/// The compiled expressions of one definition.
pub struct Program {
    filter: jaq_core::Filter<Data>,
    /// jq source → dispatch number.
    index: HashMap<String, usize>,
    /// Names of the local variables the program declares (after `$__e` and the builtins).
    locals: Vec<String>,
    /// The budget of each evaluation (the server's, lowered by the workflow's metadata).
    limits: Limits,
    /// The zone of `localtime` and `strflocaltime` (the instance's, never the host's).
    time_zone: jiff::tz::TimeZone,
}

/// Why an evaluation produced no value.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// The expression failed (a jq error, or it was not compiled with the definition).
    Failed(String),
    /// It exceeded its budget.
    Exceeded { source: String, exceeded: Exceeded },
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::Failed(message) => f.write_str(message),
            EvalError::Exceeded { source, exceeded } => {
                write!(f, "`{source}` exceeded its budget: it {exceeded}")
            }
        }
    }
}

impl From<String> for EvalError {
    fn from(message: String) -> EvalError {
        EvalError::Failed(message)
    }
}

/// Why one expression does not compile.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    /// Position of the expression in the list given to [`Program::compile`].
    pub index: usize,
    pub message: String,
}

impl Program {
    /// Compiles jq sources (already stripped of `${ }`); `locals` are the variable names the
    /// definition binds (`for.each`, `catch.as`, ...), without `$`.
    pub fn compile(sources: &[String], locals: &[String]) -> Result<Program, Vec<CompileError>> {
        Program::compile_with(sources, locals, true)
    }

    /// `guard`: rewrite multiplications (see `rewrite`); off only to test the rewrite.
    fn compile_with(
        sources: &[String],
        locals: &[String],
        guard: bool,
    ) -> Result<Program, Vec<CompileError>> {
        let mut unique: Vec<&str> = Vec::new();
        let mut index = HashMap::new();
        for s in sources {
            if !index.contains_key(s.as_str()) {
                index.insert(s.clone(), unique.len());
                unique.push(s);
            }
        }
        let too_deep: Vec<CompileError> = sources
            .iter()
            .enumerate()
            .filter(|(_, s)| nesting(s) > MAX_NESTING)
            .map(|(i, _)| CompileError {
                index: i,
                message: format!(
                    "expression nests too deeply (more than {MAX_NESTING} brackets and operators deep); split it into smaller expressions"
                ),
            })
            .collect();
        if !too_deep.is_empty() {
            return Err(too_deep);
        }
        let mut locals: Vec<String> = locals.to_vec();
        locals.sort();
        locals.dedup();
        locals.retain(|l| !BUILTINS.contains(&l.as_str()) && l != "__e" && l != "__now");
        let too_long: Vec<CompileError> = sources
            .iter()
            .enumerate()
            .filter(|(_, s)| budget::longest_digits(s.as_bytes()) > natives::MAX_DIGITS)
            .map(|(i, _)| CompileError {
                index: i,
                message: format!(
                    "a number of more than {} digits is too long to compute with",
                    natives::MAX_DIGITS
                ),
            })
            .collect();
        if !too_long.is_empty() {
            return Err(too_long);
        }
        let mut code = String::from(PRELUDE);
        for (i, s) in unique.iter().enumerate() {
            let guarded = guard.then(|| rewrite::guard_multiplications(s)).flatten();
            let s = guarded.as_deref().unwrap_or(s);
            code.push_str(&format!("def __e{i}: {s}\n;\n"));
        }
        dispatch(&mut code, 0, unique.len());
        match compile(&code, &locals) {
            Ok(filter) => Ok(Program {
                filter,
                index,
                locals,
                limits: budget::defaults(),
                time_zone: jiff::tz::TimeZone::UTC,
            }),
            Err(_) => Err(sources
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    compile(s, &locals)
                        .err()
                        .map(|message| CompileError { index: i, message })
                })
                .collect())
            .and_then(|errors: Vec<CompileError>| {
                if errors.is_empty() {
                    // Every expression compiles alone but not together: a bug of ours, not the user's.
                    Err(vec![CompileError {
                        index: 0,
                        message: "internal error: combined program failed to compile".into(),
                    }])
                } else {
                    Err(errors)
                }
            }),
        }
    }

    /// True when `source` was compiled into this program.
    pub fn contains(&self, source: &str) -> bool {
        self.index.contains_key(source)
    }

    /// Lowers the budget of this program's evaluations (a workflow's metadata).
    pub fn limit(&mut self, limits: Limits) {
        self.limits = self.limits.min(limits);
    }

    /// The budget of each evaluation.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sets the zone `localtime` and `strflocaltime` use.
    pub fn set_time_zone(&mut self, zone: jiff::tz::TimeZone) {
        self.time_zone = zone;
    }

    /// Evaluates a compiled expression on `input` and returns its first output (null when it
    /// produces none), within the program's budget. An error says what failed.
    pub fn eval(&self, source: &str, input: Val, args: &Args) -> Result<Val, EvalError> {
        let exceeded = |exceeded| EvalError::Exceeded {
            source: source.to_string(),
            exceeded,
        };
        let limits = self.limits;
        let depth = limits.depth;
        budget::run(limits, || {
            natives::ZONE.with(|z| z.replace(self.time_zone.clone()));
            let v = self.eval_unmetered(source, input, args)?;
            // A value nested deeper than this would overflow the stacks of whatever converts,
            // serialises or drops it outside the evaluation.
            if budget::too_deep(&v, depth) {
                budget::exceed(
                    budget::Limit::Depth,
                    format!("built a value nested more than {depth} levels deep (nagare --eval-depth, or the workflow's metadata nagare.limits.evalDepth)"),
                );
            }
            Ok(v)
        })
        .map_err(exceeded)?
    }

    fn eval_unmetered(&self, source: &str, input: Val, args: &Args) -> Result<Val, EvalError> {
        let Some(&n) = self.index.get(source) else {
            return Err(EvalError::Failed(format!(
                "expression `{source}` was not compiled with the definition"
            )));
        };
        let mut vars = Vec::with_capacity(1 + BUILTINS.len() + self.locals.len());
        vars.push(Val::from(n as isize));
        vars.push(Val::from(args.now));
        vars.extend((0..BUILTINS.len()).map(|i| args.builtin(i).clone()));
        vars.extend(
            self.locals
                .iter()
                .map(|l| args.local(l).cloned().unwrap_or(Val::Null)),
        );
        let ctx = Ctx::<Data>::new(MeteredLut(&self.filter.lut), Vars::new(vars));
        let mut outputs = self.filter.id.run((ctx, input));
        match outputs.next() {
            None => Ok(Val::Null),
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(EvalError::Failed(format!("`{source}`: {}", describe(e)))),
        }
    }
}

/// Evaluates a single expression without a shared program (slow path: compiles the library).
pub fn eval_once(source: &str, input: Val, args: &Args) -> Result<Val, EvalError> {
    let program = Program::compile(&[source.to_string()], &[])
        .map_err(|e| EvalError::Failed(e[0].message.clone()))?;
    program.eval(source, input, args)
}

fn describe(e: jaq_core::Exn<'_, Val>) -> String {
    match e.get_err() {
        Ok(err) => err.to_string(),
        Err(_) => "evaluation stopped (halt)".to_string(),
    }
}

/// Definitions that replace jq's:
/// - `startswith`/`endswith` answer false for non-strings instead of failing, so that
///   conditions probing optional fields (the spec's own mock-service extension tests
///   `$task.with.endpoint | startswith(...)` on an endpoint object) stay conditions;
/// - `env` is empty: the process environment is the server's, not the workflow's (secrets
///   reach workflows through `$secrets`, and only when declared);
/// - `now` is the instance's clock (the time of the event being processed), not the machine's,
///   so a replayed instance computes the same values.
const PRELUDE: &str = "def env: {};\ndef now: $__now;\n\
def localtime: if type == \"number\" then . + __zone_offset | gmtime else error(\"localtime needs a number of seconds\") end;\n\
def strflocaltime($f): if type == \"number\" then __strflocal($f) else strftime($f) end;\ndef startswith($s): type == \"string\" and ($s | type) == \"string\" and (($s == \"\") or (ltrimstr($s) != .));\n\
def endswith($s): type == \"string\" and ($s | type) == \"string\" and (($s == \"\") or (rtrimstr($s) != .));\n";

/// jaq parses, compiles and evaluates recursively, one stack frame (or several) per level of
/// the syntax tree, and a chain of binary operators (`1,1,1,...`, `-(-(...))`) is as deep as it
/// is long: a few thousand levels overflow the stack and abort the process. Subflows load and
/// run on tokio's blocking threads (2 MiB stacks), where a release build overflows from ~700
/// levels (nested `[`/`(`/`"\(`) on. Real expressions stay far below the limit.
const MAX_NESTING: usize = 256;

/// An upper bound of the depth of `source`'s syntax tree, from its tokens without parsing it:
/// the tokens on the path of open brackets (and string interpolations) that leads to the
/// deepest point, counting every token of each level, since a chain of operators nests too.
fn nesting(source: &str) -> usize {
    let mut path = Path::default();
    let mut chars = source.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '"' => in_string = false,
                '\\' if chars.next_if_eq(&'(').is_some() => {
                    path.open(true);
                    in_string = false;
                }
                '\\' => {
                    chars.next();
                }
                _ => {}
            }
            continue;
        }
        match c {
            c if c.is_whitespace() => {}
            // A comment runs to the end of the line.
            '#' => while chars.next().is_some_and(|c| c != '\n') {},
            '"' => {
                path.token();
                in_string = true;
            }
            '(' | '[' | '{' => path.open(false),
            ')' | ']' | '}' => in_string = path.close() && c == ')',
            c if c.is_ascii_digit() => {
                // A number (`1.5e3`) is one token; a sign after `e` counts as one more.
                while chars
                    .next_if(|c| c.is_ascii_alphanumeric() || *c == '.')
                    .is_some()
                {}
                path.token();
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '$' | '@') => {
                // A name, keyword, variable or format (`$__loc__`, `@base64`).
                while chars
                    .next_if(|c| c.is_alphanumeric() || *c == '_')
                    .is_some()
                {}
                path.token();
            }
            _ => path.token(),
        }
    }
    path.deepest
}

/// The open levels of [`nesting`]'s scan: the tokens counted at each, and whether it is a
/// string interpolation.
#[derive(Default)]
struct Path {
    levels: Vec<(usize, bool)>,
    /// Tokens at the current level, not yet in `levels`.
    here: usize,
    depth: usize,
    deepest: usize,
}

impl Path {
    fn token(&mut self) {
        self.here += 1;
        self.depth += 1;
        self.deepest = self.deepest.max(self.depth);
    }

    /// The opening bracket is a token of the enclosing level.
    fn open(&mut self, interpolation: bool) {
        self.token();
        self.levels.push((self.here, interpolation));
        self.here = 0;
    }

    /// Leaves the current level; true when it was a string interpolation. Unbalanced closers
    /// are ignored: jaq's parser reports them.
    fn close(&mut self) -> bool {
        match self.levels.pop() {
            Some((outer, interpolation)) => {
                self.depth -= self.here;
                self.here = outer;
                interpolation
            }
            None => false,
        }
    }
}

/// Appends a balanced dispatch over `__e{lo}..__e{hi}` on `$__e`.
fn dispatch(code: &mut String, lo: usize, hi: usize) {
    match hi - lo {
        0 => code.push('.'),
        1 => code.push_str(&format!("__e{lo}")),
        _ => {
            let mid = (lo + hi) / 2;
            code.push_str(&format!("if $__e < {mid} then "));
            dispatch(code, lo, mid);
            code.push_str(" else ");
            dispatch(code, mid, hi);
            code.push_str(" end");
        }
    }
}

fn compile(code: &str, locals: &[String]) -> Result<jaq_core::Filter<Data>, String> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .filter(|(name, args, _)| !natives::replaces(name, args.len()))
        .chain(natives::funs());
    let arena = Arena::default();
    let loader = Loader::new(defs);
    let modules = loader
        .load(&arena, File { code, path: () })
        .map_err(|errs| load_errors(code, errs))?;
    let globals: Vec<String> = ["$__e".to_string(), "$__now".to_string()]
        .into_iter()
        .chain(BUILTINS.iter().map(|b| format!("${b}")))
        .chain(locals.iter().map(|l| format!("${l}")))
        .collect();
    Compiler::default()
        .with_funs(funs)
        .with_global_vars(globals.iter().map(String::as_str))
        .compile(modules)
        .map_err(|errs| {
            errs.into_iter()
                .flat_map(|(_, es)| es)
                .map(|(name, undefined)| format!("undefined {} `{name}`", undefined.as_str()))
                .collect::<Vec<_>>()
                .join("; ")
        })
}

fn load_errors(code: &str, errs: jaq_core::load::Errors<&str, ()>) -> String {
    use jaq_core::load::Error;
    let mut out = Vec::new();
    for (_, e) in errs {
        match e {
            Error::Io(es) => out.extend(es.into_iter().map(|(p, m)| format!("{p}: {m}"))),
            Error::Lex(es) => out.extend(es.into_iter().map(|(expect, at)| {
                format!("expected {} at `{}`", expect.as_str(), excerpt(code, at))
            })),
            Error::Parse(es) => out.extend(es.into_iter().map(|(expect, at)| {
                format!("expected {} at `{}`", expect.as_str(), excerpt(code, at))
            })),
        }
    }
    out.join("; ")
}

fn excerpt<'a>(code: &'a str, at: &'a str) -> &'a str {
    if at.is_empty() {
        return "end of expression";
    }
    let end = at.char_indices().nth(20).map_or(at.len(), |(i, _)| i);
    let _ = code;
    &at[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{from_json, to_json};
    use serde_json::{Value, json};

    fn check(sources: &[&str], locals: &[&str], args: &Args, input: Value, expected: &[Value]) {
        let sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
        let locals: Vec<String> = locals.iter().map(|s| s.to_string()).collect();
        let program = Program::compile(&sources, &locals).expect("compiles");
        for (s, want) in sources.iter().zip(expected) {
            let got = program.eval(s, from_json(&input), args).expect("evaluates");
            assert_eq!(&to_json(&got), want, "{s}");
        }
    }

    #[test]
    fn dispatches_each_expression() {
        let sources: Vec<String> = (0..37).map(|i| format!(". + {i}")).collect();
        let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
        let expected: Vec<Value> = (0..37).map(|i| json!(1 + i)).collect();
        check(&refs, &[], &Args::default(), json!(1), &expected);
    }

    #[test]
    fn arguments_and_locals() {
        let mut args = Args {
            context: from_json(&json!({"c": 1})),
            ..Args::default()
        };
        args = args.with("color", from_json(&json!("red")));
        check(
            &["$context.c", "$color", "$input", "{a: .x, b: $color}"],
            &["color"],
            &args,
            json!({"x": 2}),
            &[
                json!(1),
                json!("red"),
                json!(null),
                json!({"a": 2, "b": "red"}),
            ],
        );
    }

    #[test]
    fn env_is_hidden_and_now_is_the_instance_clock() {
        let args = Args {
            now: 1_700_000_000.5,
            ..Args::default()
        };
        check(
            &["env", "now"],
            &[],
            &args,
            json!(null),
            &[json!({}), json!(1_700_000_000.5)],
        );
    }

    #[test]
    fn lenient_string_predicates() {
        check(
            &[
                r#"startswith("ab")"#,
                r#"endswith("c")"#,
                r#"{a: 1} | startswith("x")"#,
                r#"startswith("")"#,
            ],
            &[],
            &Args::default(),
            json!("abc"),
            &[json!(true), json!(true), json!(false), json!(true)],
        );
    }

    #[test]
    fn reports_each_bad_expression() {
        let sources = vec![
            ".a".to_string(),
            ".[".to_string(),
            "nosuchfn(1)".to_string(),
        ];
        let errors = Program::compile(&sources, &[]).err().expect("fails");
        assert_eq!(
            errors.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(
            errors[1].message.contains("nosuchfn"),
            "{}",
            errors[1].message
        );
    }

    #[test]
    fn nesting_counts_the_tokens_on_the_deepest_path() {
        assert_eq!(nesting(".a + 1"), 4);
        assert_eq!(nesting("(.a) | (.b)"), 5, "a closed level no longer counts");
        assert_eq!(nesting("{a: (.x)}"), 6);
        assert_eq!(nesting(r#""x\(.a)y""#), 4, "an interpolation is a level");
        assert_eq!(nesting(r#""(((\"" | ."#), 3, "brackets in strings are text");
        assert_eq!(nesting(". # (((\n| ."), 3, "comments are skipped");
        assert_eq!(nesting("1.5e3 + $__loc__"), 3);
    }

    #[test]
    fn rejects_expressions_nested_deeper_than_the_stack_allows() {
        // Each of these overflowed the stack in jaq's parser or compiler (found with the
        // `expression` fuzz target).
        let deep = [
            format!("{}.{}", "(".repeat(5000), ")".repeat(5000)),
            format!("{}1", "-".repeat(5000)),
            format!("[1{}]", ",1".repeat(5000)),
            ".a".repeat(5000),
            format!("{}1{}", "\"\\(".repeat(2000), ")\"".repeat(2000)),
        ];
        let mut sources = vec![".a".to_string()];
        sources.extend(deep.iter().cloned());
        let errors = Program::compile(&sources, &[]).err().expect("fails");
        assert_eq!(
            errors.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert!(
            errors[0].message.contains("nests too deeply"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn accepts_nesting_up_to_the_limit() {
        // Runs on the test thread's 2 MiB stack, in a debug build: the limit leaves room.
        let parens = format!(
            "{}.{}",
            "(".repeat(MAX_NESTING - 1),
            ")".repeat(MAX_NESTING - 1)
        );
        let chain = format!("[1{}] | length", ",1".repeat((MAX_NESTING - 2) / 2));
        let strings = format!(
            "{}.{}",
            "\"\\(".repeat(MAX_NESTING / 2 - 1),
            ")\"".repeat(MAX_NESTING / 2 - 1)
        );
        for source in [&parens, &chain, &strings] {
            assert!(nesting(source) <= MAX_NESTING, "{}", nesting(source));
        }
        check(
            &[&parens, &chain, &strings],
            &[],
            &Args::default(),
            json!(7),
            &[json!(7), json!((MAX_NESTING - 2) / 2 + 1), json!("7")],
        );
    }

    #[test]
    fn runtime_error_is_reported() {
        let program = Program::compile(&[".a + 1".to_string()], &[]).unwrap();
        let err = program
            .eval(".a + 1", from_json(&json!({"a": "x"})), &Args::default())
            .unwrap_err();
        assert!(err.to_string().contains(".a + 1"), "{err}");
    }

    /// Evaluates one expression alone with `limits`; the limit it exceeded, if any.
    fn exceeded(source: &str, limits: Limits) -> Option<budget::Limit> {
        let mut program = Program::compile(&[source.to_string()], &[]).expect("compiles");
        program.limits = limits;
        match program.eval(source, Val::Null, &Args::default()) {
            Err(EvalError::Exceeded { exceeded, .. }) => Some(exceeded.limit),
            Err(EvalError::Failed(e)) => panic!("{source}: failed: {e}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn runaways_run_out_of_their_budget() {
        use budget::Limit;
        let small = Limits {
            steps: 1_000_000,
            memory: 64 << 20,
            depth: 1000,
            time: std::time::Duration::from_secs(3600),
        };
        assert_eq!(exceeded("last(repeat(1))", small), Some(Limit::Steps));
        assert_eq!(exceeded("[range(1e9)] | length", small), Some(Limit::Steps));
        assert_eq!(
            exceeded(
                "[range(1e9)] | length",
                Limits {
                    steps: u64::MAX,
                    ..small
                }
            ),
            Some(Limit::Memory)
        );
        // A deep value dropped inside the evaluation fits the stack (the memory budget bounds
        // how deep a value can get).
        assert_eq!(
            exceeded("reduce range(100000) as $i (null; [.]) | 1", small),
            None
        );
        assert_eq!(
            exceeded(
                "reduce range(1e9) as $i (null; [.]) | 1",
                Limits {
                    steps: u64::MAX,
                    ..small
                }
            ),
            Some(Limit::Memory)
        );
        // A value nested deeper than the depth budget is refused when it is returned.
        assert_eq!(
            exceeded("reduce range(2000) as $i (null; [.])", small),
            Some(Limit::Depth)
        );
        assert_eq!(
            exceeded("reduce range(999) as $i (null; [.]) | 1", small),
            None
        );
        assert_eq!(exceeded("def f: 1 + f; f", small), Some(Limit::Stack));
        assert_eq!(
            exceeded(r#""[" * 100000 | fromjson"#, small),
            Some(Limit::Depth)
        );
        assert_eq!(
            exceeded(
                "last(repeat(1))",
                Limits {
                    steps: u64::MAX,
                    time: std::time::Duration::from_millis(50),
                    ..small
                }
            ),
            Some(Limit::Time)
        );
        // What fits runs.
        assert_eq!(exceeded("[range(100000)] | length", small), None);
        assert_eq!(exceeded("[limit(50000; repeat(1))] | length", small), None);
        assert_eq!(exceeded("0 | until(. >= 50000; . + 1)", small), None);
    }

    #[test]
    fn a_budget_error_names_the_expression_and_the_limit() {
        let mut program = Program::compile(&["last(repeat(1))".to_string()], &[]).unwrap();
        program.limit(Limits {
            steps: 5000,
            ..Limits::DEFAULT
        });
        let e = program
            .eval("last(repeat(1))", Val::Null, &Args::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`last(repeat(1))`"), "{e}");
        assert!(
            e.contains("5000 steps") && e.contains("--eval-steps"),
            "{e}"
        );
    }

    #[test]
    fn a_workflow_lowers_the_budget_never_raises_it() {
        let mut program = Program::compile(&[".".to_string()], &[]).unwrap();
        let server = program.limits();
        program.limit(Limits {
            steps: server.steps * 10,
            memory: 1 << 20,
            ..server
        });
        assert_eq!(program.limits().steps, server.steps);
        assert_eq!(program.limits().memory, 1 << 20);
    }

    #[test]
    fn an_integer_too_long_does_not_compile() {
        let source = format!("{} + 1", "9".repeat(10_001));
        let errors = Program::compile(&[source], &[]).err().expect("refused");
        assert!(
            errors[0].message.contains("more than 10000 digits"),
            "{errors:?}"
        );
    }

    #[test]
    fn long_integers_are_refused_not_parsed_for_minutes() {
        let source = r#""1" * 20000 | tonumber"#;
        let program = Program::compile(&[source.to_string()], &[]).unwrap();
        let e = program
            .eval(source, Val::Null, &Args::default())
            .unwrap_err();
        assert!(
            matches!(&e, EvalError::Failed(m) if m.contains("10000 digits")),
            "{e}"
        );
        check(
            &[
                r#""[1, 2.5, {\"a\": [3]}]" | fromjson"#,
                r#""42" | tonumber"#,
                r#""many" | try tonumber catch "not a number""#,
                r#"[ "1 2 3" | fromjson ]"#,
            ],
            &[],
            &Args::default(),
            json!(null),
            &[
                json!([1, 2.5, {"a": [3]}]),
                json!(42),
                json!("not a number"),
                json!([1, 2, 3]),
            ],
        );
    }

    #[test]
    fn local_time_is_the_instance_zone_not_the_hosts() {
        let sources = [
            r#"1700000000 | strflocaltime("%Y-%m-%d %H:%M %Z")"#,
            "1700000000 | localtime | mktime",
            "1700000000 | localtime | .[3]",
        ];
        let owned: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
        let mut program = Program::compile(&owned, &[]).unwrap();
        let eval = |p: &Program, s: &str| to_json(&p.eval(s, Val::Null, &Args::default()).unwrap());
        // UTC unless the workflow says otherwise, whatever the machine's zone.
        assert_eq!(eval(&program, sources[0]), json!("2023-11-14 22:13 UTC"));
        assert_eq!(eval(&program, sources[1]), json!(1700000000));
        program.set_time_zone(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap());
        assert_eq!(eval(&program, sources[0]), json!("2023-11-15 07:13 JST"));
        assert_eq!(eval(&program, sources[2]), json!(7));
    }

    #[test]
    fn multiplications_are_sized_before_they_run() {
        use budget::Limit;
        assert_eq!(
            exceeded(r#""x" * 1000000000000 | length"#, Limits::DEFAULT),
            Some(Limit::Memory)
        );
        assert_eq!(
            exceeded(r#"{a: "xy"} | .a *= 1000000000000"#, Limits::DEFAULT),
            Some(Limit::Memory)
        );
        assert_eq!(
            exceeded("reduce range(40) as $i (10; . * .)", Limits::DEFAULT),
            Some(Limit::Size)
        );
        check(
            &[
                r#""ab" * 3"#,
                "6 * 7",
                r#"{a: 2} | .a *= 5"#,
                r#"{a: {b: 1}} * {a: {c: 2}}"#,
            ],
            &[],
            &Args::default(),
            json!(null),
            &[
                json!("ababab"),
                json!(42),
                json!({"a": 10}),
                json!({"a": {"b": 1, "c": 2}}),
            ],
        );
    }

    #[test]
    fn the_rewrite_changes_no_result() {
        let cases = [
            ".a * 2",
            "[.[] * 2]",
            "(1, 2) * (3, 4)",
            "[(1, 2) * (3, 4)]",
            "{a: (.a * 3), b, \"c\": 1, (\"d\" + \"e\"): 2} | .b * 1",
            "{\"x y\": 2} | .\"x y\" * 2",
            ". as {a: $x, $b, \"c\": [$c, $d]} | $x * $b + $c * $d",
            "reduce .[] as $v (1; . * $v)",
            "[foreach .[] as $v (1; . * $v; . * 10)]",
            "[foreach .[] as [$v] (1; . * 2)]",
            "if . == null then 1 elif .[0] > 1 then .[0] * 2 else -(.[0] * 3) end",
            "try (error(\"x\") * 2) catch (. + \"!\")",
            "[.[]? * 2]",
            "label $out | reduce .[] as $v (0; if $v > 2 then ., break $out else . + $v * 2 end)",
            "def f(g; $n): [g * $n]; f(.[]; 3)",
            "def twice: . * 2; def four: twice | twice; [.[] | four]",
            ".[1:] | map(. * 2)",
            ".[:2][0] * .[-1:][0]",
            "\"\\(.[0] * 2) \\\"quoted\\\" \\t tab \\u00e9\" + (\"x\" * 2)",
            "@base64 \"\\(.[0] * 100)\"",
            "[.[] | select(. * 2 > 3)] | length * 10",
            "[paths] | length * 2",
            "[..] | length * 2",
            ". as [$a, $b] | {($a * 2 | tostring): $b * 2}",
            "[.[] * 2] | .[0] = .[1] * 5",
            "[.[] * 2] | .[0] |= . * 5",
            "[.[] * 2] | .[2] += 3 * 2",
            "[.[] * 2] | .[5] //= 7 * 2",
            "(.[0] * 2) // 9",
            ".[0] * 2 == 2 and (.[1] * 2 != 0 or false)",
            "[limit(3; repeat(. * 2))] | length",
            "[range(0; 10; 3) * 2]",
            "-.[0] * -2",
            "[.[] | . * . * .]",
            ".[0] * 2 | tostring | . * 2",
            "1 * 2 - 3 / 4 % 5 * 6",
            "# a comment\n.[0] * 2",
        ];
        let input = json!([1, 2, 3]);
        for source in cases {
            let owned = vec![source.to_string()];
            let guarded = Program::compile_with(&owned, &[], true).unwrap_or_else(|e| {
                panic!(
                    "{source}: {e:?} ({:?})",
                    rewrite::guard_multiplications(source)
                )
            });
            let plain = Program::compile_with(&owned, &[], false).unwrap();
            let all = |p: &Program| {
                let wrapped = format!("[{source}]");
                let _ = wrapped;
                p.eval(source, from_json(&input), &Args::default())
                    .map(|v| to_json(&v))
                    .map_err(|e| e.to_string())
            };
            assert!(
                rewrite::guard_multiplications(source).is_some(),
                "{source} has a multiplication"
            );
            assert_eq!(
                all(&guarded),
                all(&plain),
                "{source} → {:?}",
                rewrite::guard_multiplications(source)
            );
        }
    }
}
