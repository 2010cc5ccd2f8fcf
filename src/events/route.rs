//! Where outgoing CloudEvents go: routes from event types to destinations, an HTTP sink or a
//! Kafka topic. Routes come from the server (`--route TYPES=DEST`, and `--sink URL`, which is
//! `*=URL` after the others) and from a workflow (`document.metadata.nagare.routes`, tried
//! before the server's, so a workflow can send its events elsewhere):
//!
//! ```yaml
//! document:
//!   metadata:
//!     nagare:
//!       routes:
//!         - {types: 'com.shop.order.*', to: 'kafka:orders'}
//!         - {types: 'io.serverlessworkflow.*', to: 'https://audit.example.com/events'}
//! ```
//!
//! `types` is a pattern on the event's `type` where `*` stands for any characters (several
//! patterns separated by commas); the first route that matches decides. An event no route
//! matches is not published (and not queued). Lifecycle and emitted events are routed alike.

use serde_json::Value;

/// Where an event goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    Http(String),
    Kafka(String),
}

impl Destination {
    /// `kafka:TOPIC`, or an `http://` / `https://` URL.
    pub fn parse(text: &str) -> Result<Destination, String> {
        if let Some(topic) = text.strip_prefix("kafka:") {
            let valid = !topic.is_empty()
                && topic.len() <= 249
                && topic
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid {
                return Err(format!(
                    "`{topic}` is not a Kafka topic name (letters, digits, `.`, `_`, `-`; at most 249)"
                ));
            }
            return Ok(Destination::Kafka(topic.to_string()));
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            return Ok(Destination::Http(text.to_string()));
        }
        Err(format!(
            "`{text}` is not a destination: give kafka:TOPIC or an http(s):// URL"
        ))
    }

    /// The text `parse` reads back (what the outbox stores).
    pub fn text(&self) -> String {
        match self {
            Destination::Http(url) => url.clone(),
            Destination::Kafka(topic) => format!("kafka:{topic}"),
        }
    }
}

/// One route: event types to a destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    types: Vec<String>,
    pub to: Destination,
}

impl Route {
    /// A route as the command line writes it: `TYPES=DEST`.
    pub fn parse_flag(text: &str) -> Result<Route, String> {
        let (types, to) = text.split_once('=').ok_or_else(|| {
            format!("`{text}`: a route is TYPES=DEST (e.g. 'order.*=kafka:orders')")
        })?;
        Route::new(types, to)
    }

    fn new(types: &str, to: &str) -> Result<Route, String> {
        let types: Vec<String> = types
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if types.is_empty() {
            return Err("a route names at least one event type pattern".into());
        }
        Ok(Route {
            types,
            to: Destination::parse(to.trim())?,
        })
    }

    fn matches(&self, kind: &str) -> bool {
        self.types.iter().any(|p| glob(p, kind))
    }
}

/// An ordered list of routes: the first match decides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routes(pub Vec<Route>);

impl Routes {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Where an event of type `kind` goes: the workflow's routes first, then these.
    pub fn destination<'a>(&'a self, workflow: &'a Routes, kind: &str) -> Option<&'a Destination> {
        workflow
            .0
            .iter()
            .chain(&self.0)
            .find(|r| r.matches(kind))
            .map(|r| &r.to)
    }

    /// Every Kafka topic these routes name.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|r| match &r.to {
            Destination::Kafka(t) => Some(t.as_str()),
            Destination::Http(_) => None,
        })
    }

    /// The routes of a document (`document.metadata.nagare.routes`); errors carry the JSON
    /// pointer of the offending value.
    pub fn of_document(document: &Value) -> Result<Routes, (String, String)> {
        const AT: &str = "/document/metadata/nagare/routes";
        let Some(list) = document.pointer(AT) else {
            return Ok(Routes::default());
        };
        let Value::Array(list) = list else {
            return Err((
                AT.to_string(),
                "routes: expected a list of {types, to}".into(),
            ));
        };
        let mut routes = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let at = format!("{AT}/{i}");
            let Some(object) = item.as_object() else {
                return Err((at, "a route is an object {types, to}".into()));
            };
            if let Some(k) = object.keys().find(|k| *k != "types" && *k != "to") {
                return Err((
                    format!("{at}/{k}"),
                    format!("a route has `types` and `to`, not `{k}`"),
                ));
            }
            let field = |name: &str| match object.get(name) {
                Some(Value::String(s)) => Ok(s.as_str()),
                _ => Err((
                    format!("{at}/{name}"),
                    format!("a route needs `{name}` as a string"),
                )),
            };
            let (types, to) = (field("types")?, field("to")?);
            routes.push(Route::new(types, to).map_err(|m| (format!("{at}/to"), m))?);
        }
        Ok(Routes(routes))
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs() {
        for (p, t, m) in [
            ("*", "anything", true),
            ("order.*", "order.paid", true),
            ("order.*", "orders.paid", false),
            ("a*c*e", "abcde", true),
            ("a*c*e", "abcd", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("*.done", "job.done", true),
        ] {
            assert_eq!(glob(p, t), m, "{p} on {t}");
        }
    }

    #[test]
    fn first_match_wins_workflow_first() {
        let server = Routes(vec![
            Route::parse_flag("order.*=kafka:orders").unwrap(),
            Route::parse_flag("*=http://sink.local/e").unwrap(),
        ]);
        let workflow = Routes::of_document(&json!({"document": {"metadata": {"nagare": {
            "routes": [{"types": "order.paid, order.shipped", "to": "kafka:paid"}]}}}}))
        .unwrap();
        let to = |k| server.destination(&workflow, k).cloned();
        assert_eq!(to("order.paid"), Some(Destination::Kafka("paid".into())));
        assert_eq!(to("order.new"), Some(Destination::Kafka("orders".into())));
        assert_eq!(
            to("x"),
            Some(Destination::Http("http://sink.local/e".into()))
        );
        assert_eq!(Routes::default().destination(&Routes::default(), "x"), None);
    }

    #[test]
    fn errors_name_the_place() {
        assert!(
            Route::parse_flag("order.*")
                .unwrap_err()
                .contains("TYPES=DEST")
        );
        assert!(
            Route::parse_flag("a=kafka:bad topic")
                .unwrap_err()
                .contains("topic")
        );
        assert!(
            Route::parse_flag("a=ftp://x")
                .unwrap_err()
                .contains("kafka:TOPIC")
        );
        let doc = |routes| json!({"document": {"metadata": {"nagare": {"routes": routes}}}});
        let e = Routes::of_document(&doc(json!([{"types": "a", "to": "nowhere"}]))).unwrap_err();
        assert_eq!(e.0, "/document/metadata/nagare/routes/0/to");
        let e = Routes::of_document(&doc(json!([{"types": "a", "too": "x"}]))).unwrap_err();
        assert_eq!(e.0, "/document/metadata/nagare/routes/0/too");
        let e = Routes::of_document(&doc(json!({"a": 1}))).unwrap_err();
        assert_eq!(e.0, "/document/metadata/nagare/routes");
    }
}
