//! `call`: resolves the call's arguments (expressions, URI templates, authentication with
//! `$secrets`) and asks the runtime to perform it. Custom functions of `use.functions` run as
//! the task they define, with the evaluated `with` as their input.
//!
//! The effect's arguments for `http` are `{method, uri, headers, query, body, output, redirect,
//! authentication}` and for `openapi` `{document, operationId, parameters, output, redirect,
//! authentication}`; other call types pass their `with` evaluated.

use super::{At, Env};
use crate::dsl::model::Endpoint;
use crate::dsl::model::auth::ReferenceableAuthentication;
use crate::dsl::model::call::{Call, OutputFormat};
use crate::engine::command::Effect;
use crate::engine::executor::perform;
use crate::error::Error;
use crate::expr::uri_template;
use crate::expr::{Args, Val, from_json, is_expression, to_json, value};
use serde_json::{Map, Value, json};

pub(super) async fn run(
    env: &Env,
    call: &Call,
    at: &At<'_>,
    input: Val,
    args: &mut Args,
) -> Result<Val, Error> {
    let (function, arguments) = match call {
        Call::Http(a) => {
            let auth = authentication(env, a.endpoint.authentication(), &input, args)?;
            let arguments = json!({
                "method": env.string(&a.method, &input, args)?,
                "uri": uri(env, &a.endpoint, &input, args)?,
                "headers": strings(env, a.headers.as_ref(), &input, args, "headers")?,
                "query": strings(env, a.query.as_ref(), &input, args, "query")?,
                "body": a.body.as_ref().map(|b| env.template(b, &input, args)).transpose()?.map(|b| to_json(&b)),
                "output": output(a.output),
                "redirect": a.redirect,
                "authentication": auth.clone(),
            });
            authorize(args, auth.as_ref());
            ("http", arguments)
        }
        Call::OpenApi(a) => {
            let auth = authentication(env, a.authentication.as_ref(), &input, args)?;
            let parameters = match &a.parameters {
                Some(p) => to_json(&env.template(&Value::Object(p.clone()), &input, args)?),
                None => Value::Object(Map::new()),
            };
            let arguments = json!({
                "document": uri(env, &a.document.endpoint, &input, args)?,
                "operationId": a.operation_id,
                "parameters": parameters,
                "output": output(a.output),
                "redirect": a.redirect,
                "authentication": auth.clone(),
            });
            authorize(args, auth.as_ref());
            ("openapi", arguments)
        }
        Call::Function { name, with } => return function(env, name, with, at, input, args).await,
        other => {
            let (kind, with) = match serde_json::to_value(other) {
                Ok(Value::Object(mut m)) => (
                    m.remove("call")
                        .and_then(|c| c.as_str().map(String::from))
                        .unwrap_or_default(),
                    m.remove("with").unwrap_or_default(),
                ),
                _ => return Err(Error::runtime("cannot read the call's arguments")),
            };
            let resolved = to_json(&env.template(&with, &input, args)?);
            return perform_call(env, &kind, resolved, at).await;
        }
    };
    perform_call(env, function, arguments, at).await
}

async fn perform_call(
    env: &Env,
    function: &str,
    arguments: Value,
    at: &At<'_>,
) -> Result<Val, Error> {
    let effect = Effect::Call {
        function: function.to_string(),
        arguments,
        task: at.pointer.to_string(),
    };
    perform(&env.shared, effect).await.map(|v| from_json(&v))
}

/// A custom function: a task of `use.functions`, run with the evaluated `with` as its input.
async fn function(
    env: &Env,
    name: &str,
    with: &Map<String, Value>,
    at: &At<'_>,
    input: Val,
    args: &Args,
) -> Result<Val, Error> {
    let Some(task) = env
        .def
        .workflow
        .use_
        .as_ref()
        .and_then(|u| u.functions.get(name))
    else {
        return Err(Error::configuration(
            if name.contains('@') || name.contains("://") {
                format!(
                    "function `{name}` comes from a catalog or a URI; catalogs are not supported yet"
                )
            } else {
                format!("no function named `{name}` in use.functions")
            },
        ));
    };
    let arguments = env.template(&Value::Object(with.clone()), &input, args)?;
    let pointer = format!(
        "{}/call/{}",
        at.pointer,
        crate::dsl::model::from_value::escape(name)
    );
    let outcome = super::run(env, name, task, pointer, arguments, at.locals).await?;
    Ok(outcome.output)
}

/// The endpoint's URI: an expression, or a URI template expanded with the input's fields.
fn uri(env: &Env, endpoint: &Endpoint, input: &Val, args: &Args) -> Result<String, Error> {
    let text = endpoint.uri();
    if is_expression(text) {
        return env.string(text, input, args);
    }
    uri_template::expand(text, input).map_err(Error::expression)
}

/// Headers or query: an object of string templates, or an expression producing one.
fn strings(
    env: &Env,
    t: Option<&Value>,
    input: &Val,
    args: &Args,
    what: &str,
) -> Result<Value, Error> {
    let Some(t) = t else {
        return Ok(Value::Object(Map::new()));
    };
    let v = match t {
        Value::String(e) => env.bare(e, input, args)?,
        other => env.template(other, input, args)?,
    };
    env.string_map(v, what)
}

fn output(o: Option<OutputFormat>) -> &'static str {
    match o.unwrap_or_default() {
        OutputFormat::Raw => "raw",
        OutputFormat::Content => "content",
        OutputFormat::Response => "response",
    }
}

/// Resolves an authentication policy: a `use` reference, a secret-based policy, and the
/// expressions in its properties. The result is `{scheme: {properties}}`.
fn authentication(
    env: &Env,
    auth: Option<&ReferenceableAuthentication>,
    input: &Val,
    args: &Args,
) -> Result<Option<Value>, Error> {
    let policy = match auth {
        None => return Ok(None),
        Some(ReferenceableAuthentication::Policy(p)) => p,
        Some(ReferenceableAuthentication::Use(r)) => env
            .def
            .workflow
            .use_
            .as_ref()
            .and_then(|u| u.authentications.get(&r.use_))
            .ok_or_else(|| {
                Error::configuration(format!(
                    "no authentication named `{}` in use.authentications",
                    r.use_
                ))
            })?,
    };
    let Some((scheme, props)) = policy.scheme() else {
        return Err(Error::configuration(
            "the authentication policy names no scheme",
        ));
    };
    let props = match props.get("use").and_then(Value::as_str) {
        Some(secret) => match value::get(&env.secrets, secret) {
            Some(v @ Val::Obj(_)) => to_json(v),
            _ => {
                return Err(Error::authorization(format!(
                    "secret `{secret}` is missing or is not an object"
                )));
            }
        },
        None => to_json(&env.template(&Value::Object(props.clone()), input, args)?),
    };
    Ok(Some(json!({ scheme: props })))
}

/// `$authorization`: the scheme and the parameter the call was made with.
fn authorize(args: &mut Args, auth: Option<&Value>) {
    let Some(Value::Object(m)) = auth else { return };
    let Some((scheme, props)) = m.iter().next() else {
        return;
    };
    let field = |k: &str| {
        props
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (name, parameter) = match scheme.as_str() {
        "basic" => {
            use base64::Engine;
            (
                "Basic",
                base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    field("username"),
                    field("password")
                )),
            )
        }
        "bearer" => ("Bearer", field("token")),
        "digest" => ("Digest", field("username")),
        "oauth2" | "oidc" => ("Bearer", String::new()),
        other => (other, String::new()),
    };
    args.authorization = value::object([
        ("scheme", value::string(name)),
        ("parameter", value::string(&parameter)),
    ]);
}
