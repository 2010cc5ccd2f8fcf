//! Semantic checks the schema cannot express: `then` targets, references into `use`, unique
//! task names, supported DSL versions, cron strings and durations.

use super::model::auth::ReferenceableAuthentication;
use super::model::call::Call;
use super::model::from_value::escape;
use super::model::task::{ErrorRef, RetryRef};
use super::model::{Task, TaskKind, TaskList, Then, TimeoutRef, Workflow};

/// Problems as (JSON pointer, message).
pub fn check(workflow: &Workflow) -> Vec<(String, String)> {
    let mut c = Checker {
        workflow,
        problems: Vec::new(),
    };
    c.version();
    if let Some(schedule) = &workflow.schedule
        && let Some(cron) = &schedule.cron
        && let Err(e) = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .build()
            .parse(cron)
    {
        c.problems.push((
            "/schedule/cron".into(),
            format!("invalid cron expression `{cron}`: {e}"),
        ));
    }
    if let Some(t) = &workflow.timeout {
        c.timeout(t, "/timeout");
    }
    if let Some(u) = &workflow.use_ {
        for (name, f) in &u.functions {
            c.task(f, &format!("/use/functions/{}", escape(name)));
        }
        for (i, ext) in u.extensions.iter().enumerate() {
            for (name, e) in ext {
                let at = format!("/use/extensions/{i}/{}", escape(name));
                if let Some(b) = &e.before {
                    c.list(b, &format!("{at}/before"));
                }
                if let Some(a) = &e.after {
                    c.list(a, &format!("{at}/after"));
                }
            }
        }
    }
    c.list(&workflow.do_, "/do");
    c.problems
}

struct Checker<'a> {
    workflow: &'a Workflow,
    problems: Vec<(String, String)>,
}

impl Checker<'_> {
    fn version(&mut self) {
        let dsl = &self.workflow.document.dsl;
        if !["1.0.0", "1.0.1", "1.0.2", "1.0.3"].contains(&dsl.as_str()) {
            self.problems.push((
                "/document/dsl".into(),
                format!("unsupported DSL version `{dsl}`: nagare reads 1.0.0 to 1.0.3"),
            ));
        }
    }

    fn has<T>(&self, pick: impl Fn(&super::model::Use) -> Option<&T>) -> bool {
        self.workflow.use_.as_ref().and_then(pick).is_some()
    }

    fn timeout(&mut self, t: &TimeoutRef, at: &str) {
        if let TimeoutRef::Named(n) = t
            && !self.has(|u| u.timeouts.get(n))
        {
            self.problems
                .push((at.into(), format!("no timeout named `{n}` in use.timeouts")));
        }
    }

    fn auth(&mut self, a: Option<&ReferenceableAuthentication>, at: &str) {
        if let Some(ReferenceableAuthentication::Use(r)) = a
            && !self.has(|u| u.authentications.get(&r.use_))
        {
            self.problems.push((
                at.into(),
                format!(
                    "no authentication named `{}` in use.authentications",
                    r.use_
                ),
            ));
        }
    }

    fn list(&mut self, list: &TaskList, at: &str) {
        let mut seen = std::collections::HashSet::new();
        for (i, (name, task)) in list.0.iter().enumerate() {
            let here = format!("{at}/{i}/{}", escape(name));
            if !seen.insert(name.as_str()) {
                self.problems.push((
                    here.clone(),
                    format!("task name `{name}` is used twice in this list"),
                ));
            }
            if let Some(Then::Goto(target)) = &task.base.then
                && !list.0.iter().any(|(n, _)| n == target)
            {
                self.problems.push((
                    format!("{here}/then"),
                    format!("`then: {target}` names no task of this list"),
                ));
            }
            if let TaskKind::Switch(s) = &task.kind {
                for (j, case) in s.switch.iter().enumerate() {
                    if let Then::Goto(target) = &case.then
                        && !list.0.iter().any(|(n, _)| n == target)
                    {
                        self.problems.push((
                            format!("{here}/switch/{j}/{}/then", escape(&case.name)),
                            format!("`then: {target}` names no task of this list"),
                        ));
                    }
                }
            }
            self.task(task, &here);
        }
    }

    fn task(&mut self, task: &Task, at: &str) {
        if let Some(t) = &task.base.timeout {
            self.timeout(t, &format!("{at}/timeout"));
        }
        match &task.kind {
            TaskKind::Do(t) => self.list(&t.do_, &format!("{at}/do")),
            TaskKind::For(t) => self.list(&t.do_, &format!("{at}/do")),
            TaskKind::Fork(t) => self.list(&t.fork.branches, &format!("{at}/fork/branches")),
            TaskKind::Try(t) => {
                self.list(&t.try_, &format!("{at}/try"));
                if let Some(d) = &t.catch.do_ {
                    self.list(d, &format!("{at}/catch/do"));
                }
                if let Some(RetryRef::Named(n)) = &t.catch.retry
                    && !self.has(|u| u.retries.get(n))
                {
                    self.problems.push((
                        format!("{at}/catch/retry"),
                        format!("no retry policy named `{n}` in use.retries"),
                    ));
                }
            }
            TaskKind::Raise(r) => {
                if let ErrorRef::Named(n) = &r.raise.error
                    && !self.has(|u| u.errors.get(n))
                {
                    self.problems.push((
                        format!("{at}/raise/error"),
                        format!("no error named `{n}` in use.errors"),
                    ));
                }
            }
            TaskKind::Call(call) => match call {
                Call::Http(a) => {
                    self.auth(
                        a.endpoint.authentication(),
                        &format!("{at}/with/endpoint/authentication"),
                    );
                    self.uri(a.endpoint.uri(), &format!("{at}/with/endpoint"));
                }
                Call::OpenApi(a) => self.auth(
                    a.authentication.as_ref(),
                    &format!("{at}/with/authentication"),
                ),
                // `name@catalog` and function URIs are resolved at run time.
                Call::Function { name, .. }
                    if !name.contains('@')
                        && !name.contains("://")
                        && !self.has(|u| u.functions.get(name)) =>
                {
                    self.problems.push((
                        format!("{at}/call"),
                        format!("no function named `{name}` in use.functions"),
                    ));
                }
                _ => {}
            },
            TaskKind::Listen(l) => {
                if let Some(d) = l.foreach.as_ref().and_then(|f| f.do_.as_ref()) {
                    self.list(d, &format!("{at}/foreach/do"));
                }
            }
            _ => {}
        }
    }

    fn uri(&mut self, uri: &str, at: &str) {
        if !crate::expr::is_expression(uri)
            && let Err(e) = crate::expr::uri_template::check(uri)
        {
            self.problems.push((at.into(), e));
        }
    }
}
