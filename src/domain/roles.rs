//! Effective roles: direct mappings, group mappings and composites, expanded to a closed set.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::Role;

/// The roles a principal holds, split as Keycloak's tokens split them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EffectiveRoles {
    pub realm: BTreeSet<String>,
    /// clientId → role names.
    pub clients: BTreeMap<String, BTreeSet<String>>,
}

impl EffectiveRoles {
    /// The roles of `self` that a token's `realm_access` / `resource_access` claims also name: what
    /// a restricted token (one minted from an API key) may still use of its owner's roles.
    pub fn limited_to_claims(&self, claims: &serde_json::Map<String, serde_json::Value>) -> EffectiveRoles {
        fn names(v: Option<&serde_json::Value>) -> BTreeSet<String> {
            v.and_then(|r| r.get("roles"))
                .and_then(|r| r.as_array())
                .map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        }
        let realm_claimed = names(claims.get("realm_access"));
        let resource = claims.get("resource_access");
        EffectiveRoles {
            realm: self.realm.intersection(&realm_claimed).cloned().collect(),
            clients: self
                .clients
                .iter()
                .map(|(client, held)| {
                    let claimed = names(resource.and_then(|r| r.get(client)));
                    (
                        client.clone(),
                        held.intersection(&claimed).cloned().collect::<BTreeSet<_>>(),
                    )
                })
                .filter(|(_, roles)| !roles.is_empty())
                .collect(),
        }
    }

    pub fn has_realm_role(&self, name: &str) -> bool {
        self.realm.contains(name)
    }

    pub fn has_client_role(&self, client_id: &str, name: &str) -> bool {
        self.clients.get(client_id).is_some_and(|roles| roles.contains(name))
    }
}

/// Expands `direct` role ids through `composites` (parent → children) into every role reached.
pub fn expand_composites(direct: &[String], composites: &HashMap<String, Vec<String>>) -> HashSet<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut stack: Vec<String> = direct.to_vec();
    while let Some(id) = stack.pop() {
        if seen.insert(id.clone()) {
            if let Some(children) = composites.get(&id) {
                stack.extend(children.iter().cloned());
            }
        }
    }
    seen
}

/// Groups the expanded roles into realm roles and client roles by clientId.
pub fn effective_roles<'a>(
    roles: impl IntoIterator<Item = &'a Role>,
    client_id_of: &HashMap<String, String>,
) -> EffectiveRoles {
    let mut out = EffectiveRoles::default();
    for role in roles {
        if role.client_role {
            if let Some(client_id) = client_id_of.get(&role.container_id) {
                out.clients
                    .entry(client_id.clone())
                    .or_default()
                    .insert(role.name.clone());
            }
        } else {
            out.realm.insert(role.name.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composites_expand_transitively_and_survive_cycles() {
        let mut composites = HashMap::new();
        composites.insert("a".to_owned(), vec!["b".to_owned()]);
        composites.insert("b".to_owned(), vec!["c".to_owned(), "a".to_owned()]);
        let expanded = expand_composites(&["a".to_owned()], &composites);
        assert_eq!(expanded.len(), 3);
    }
}
