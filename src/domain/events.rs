//! A realm's event settings, under Keycloak's names (`RealmEventsConfigRepresentation`), kept in
//! the realm's attributes: whether login-type events are stored, which types, for how long, and
//! the same for admin events. See docs/adr/018-events-config.md.

use serde_json::{json, Map, Value};

use super::Realm;

pub const EVENTS_ENABLED: &str = "eventsEnabled";
pub const EVENTS_EXPIRATION: &str = "eventsExpiration";
pub const ENABLED_EVENT_TYPES: &str = "enabledEventTypes";
pub const ADMIN_EVENTS_ENABLED: &str = "adminEventsEnabled";
pub const ADMIN_EVENTS_DETAILS_ENABLED: &str = "adminEventsDetailsEnabled";
/// Keycloak keeps this one as a realm attribute outside the events representation; nexus also
/// takes and shows it in `events/config`.
pub const ADMIN_EVENTS_EXPIRATION: &str = "adminEventsExpiration";

/// The longest retention a realm may set: ten years, in seconds.
pub const MAX_EXPIRATION: i64 = 10 * 365 * 24 * 3600;

/// What a realm keeps of its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsConfig {
    /// Login-type events are stored. Nexus's default is on (Keycloak's is off): the API-key events
    /// are the usage log seed 004 promises from the first key.
    pub events_enabled: bool,
    /// Seconds an event is kept; `None`: for ever.
    pub expiration: Option<i64>,
    /// The types stored; empty: every type.
    pub enabled_types: Vec<String>,
    pub admin_events_enabled: bool,
    pub admin_events_details_enabled: bool,
    /// Seconds an admin event is kept; `None`: for ever.
    pub admin_expiration: Option<i64>,
}

impl EventsConfig {
    pub fn of(realm: &Realm) -> Self {
        let types = realm
            .attributes
            .get(ENABLED_EVENT_TYPES)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        Self {
            events_enabled: realm.setting_bool(EVENTS_ENABLED).unwrap_or(true),
            expiration: realm.setting_int(EVENTS_EXPIRATION, 1, MAX_EXPIRATION),
            enabled_types: types,
            admin_events_enabled: realm.setting_bool(ADMIN_EVENTS_ENABLED).unwrap_or(false),
            admin_events_details_enabled: realm.setting_bool(ADMIN_EVENTS_DETAILS_ENABLED).unwrap_or(false),
            admin_expiration: realm.setting_int(ADMIN_EVENTS_EXPIRATION, 1, MAX_EXPIRATION),
        }
    }

    /// Whether an event of `event_type` is stored.
    pub fn records(&self, event_type: &str) -> bool {
        self.events_enabled && (self.enabled_types.is_empty() || self.enabled_types.iter().any(|t| t == event_type))
    }

    /// Keycloak's representation.
    pub fn to_json(&self) -> Value {
        json!({
            "eventsEnabled": self.events_enabled,
            "eventsExpiration": self.expiration,
            "eventsListeners": ["jboss-logging"],
            "enabledEventTypes": self.enabled_types,
            "adminEventsEnabled": self.admin_events_enabled,
            "adminEventsDetailsEnabled": self.admin_events_details_enabled,
            "adminEventsExpiration": self.admin_expiration,
        })
    }
}

/// A refused events configuration: the field and why.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventsConfigError(pub String);

/// The realm attributes a `PUT …/events/config` body sets (fields left out keep their value;
/// `eventsExpiration: null` keeps events for ever), or the first bad field.
pub fn attributes_of(body: &Map<String, Value>) -> Result<Map<String, Value>, EventsConfigError> {
    let mut out = Map::new();
    for name in [EVENTS_ENABLED, ADMIN_EVENTS_ENABLED, ADMIN_EVENTS_DETAILS_ENABLED] {
        match body.get(name) {
            None => {}
            Some(Value::Bool(b)) => {
                out.insert(name.into(), json!(b));
            }
            Some(_) => return Err(EventsConfigError(format!("{name} must be true or false"))),
        }
    }
    for name in [EVENTS_EXPIRATION, ADMIN_EVENTS_EXPIRATION] {
        match body.get(name) {
            None => {}
            Some(Value::Null) => {
                out.insert(name.into(), Value::Null);
            }
            Some(v) => match v.as_i64().filter(|n| (1..=MAX_EXPIRATION).contains(n)) {
                Some(n) => {
                    out.insert(name.into(), json!(n));
                }
                None => {
                    return Err(EventsConfigError(format!(
                        "{name} must be a number of seconds from 1 to {MAX_EXPIRATION}, or null"
                    )))
                }
            },
        }
    }
    match body.get(ENABLED_EVENT_TYPES) {
        None => {}
        Some(Value::Null) => {
            out.insert(ENABLED_EVENT_TYPES.into(), json!([]));
        }
        Some(Value::Array(items)) => {
            let mut types = Vec::with_capacity(items.len());
            for item in items {
                let name = item.as_str().filter(|s| is_event_type_name(s)).ok_or_else(|| {
                    EventsConfigError(format!(
                        "{ENABLED_EVENT_TYPES} must list event types such as LOGIN or API_KEY_USED"
                    ))
                })?;
                if !types.contains(&name) {
                    types.push(name);
                }
            }
            out.insert(ENABLED_EVENT_TYPES.into(), json!(types));
        }
        Some(_) => {
            return Err(EventsConfigError(format!(
                "{ENABLED_EVENT_TYPES} must be a list of event types"
            )))
        }
    }
    Ok(out)
}

/// Keycloak's event type names: capitals, digits and `_`.
fn is_event_type_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realm_with(attributes: Value) -> Realm {
        let mut realm = Realm {
            id: "r".into(),
            name: "r".into(),
            display_name: None,
            enabled: true,
            access_token_lifespan: 300,
            sso_session_idle_timeout: 1800,
            sso_session_max_lifespan: 36000,
            refresh_token_lifespan: 3600,
            not_before: 0,
            attributes: Default::default(),
            created_at: 0,
        };
        if let Value::Object(map) = attributes {
            realm.attributes = map.into_iter().collect();
        }
        realm
    }

    #[test]
    fn defaults_store_every_event_for_ever() {
        let config = EventsConfig::of(&realm_with(json!({})));
        assert!(config.records("API_KEY_USED"));
        assert_eq!(config.expiration, None);
        assert!(!config.admin_events_enabled);
    }

    #[test]
    fn enabled_types_and_the_switch_filter_what_is_stored() {
        let config = EventsConfig::of(&realm_with(json!({ "enabledEventTypes": ["LOGIN"] })));
        assert!(config.records("LOGIN"));
        assert!(!config.records("API_KEY_USED"));
        let off = EventsConfig::of(&realm_with(json!({ "eventsEnabled": false })));
        assert!(!off.records("LOGIN"));
    }

    #[test]
    fn bad_fields_are_named() {
        let body = |v: Value| v.as_object().cloned().expect("object");
        assert!(attributes_of(&body(json!({ "eventsEnabled": "yes" })))
            .expect_err("refused")
            .0
            .contains("eventsEnabled"));
        assert!(attributes_of(&body(json!({ "eventsExpiration": 0 })))
            .expect_err("refused")
            .0
            .contains("eventsExpiration"));
        assert!(attributes_of(&body(json!({ "enabledEventTypes": ["login"] })))
            .expect_err("refused")
            .0
            .contains("enabledEventTypes"));
        let ok = attributes_of(&body(
            json!({ "eventsExpiration": 60, "enabledEventTypes": ["LOGIN", "LOGIN"] }),
        ))
        .expect("valid");
        assert_eq!(ok["enabledEventTypes"], json!(["LOGIN"]));
    }
}
