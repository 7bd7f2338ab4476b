//! Resource principals: what a token can be issued for. Entra issues a token only for a
//! resource whose service principal is in the tenant: Microsoft's first-party resources (in
//! every tenant) and applications registered with an identifier URI. Anything else is
//! AADSTS500011.
//!
//! A resource is named by an identifier URI (`https://vault.azure.net`, `api://my-api`) or by
//! its application id (a GUID). The v1 endpoint takes it as `resource`, the v2 endpoint as
//! `<resource>/.default`; both forms, with or without one trailing slash, name the same
//! principal, compared without regard to ASCII case.

/// Microsoft Graph's resource URI (`<GRAPH_RESOURCE>/.default` gets a Graph token).
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// The audiences Microsoft Graph accepts in an access token.
pub const GRAPH_AUDIENCES: [&str; 3] = [
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
    "00000003-0000-0000-c000-000000000000",
];

/// A first-party resource principal of Microsoft, present in every tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstParty {
    /// Display name of its service principal.
    pub name: &'static str,
    /// Its application id, where Microsoft publishes it (a resource may be named by it).
    pub app_id: Option<&'static str>,
    /// Identifier URIs, each also accepted with (or without) a trailing slash.
    pub uris: &'static [&'static str],
    /// Host suffixes of per-account endpoints that name the same resource
    /// (`https://<account>.blob.core.windows.net`).
    pub host_suffixes: &'static [&'static str],
}

/// The first-party resources an Airflow DAG reaches through the `azure` connection, and wid's
/// own API.
pub const FIRST_PARTY: &[FirstParty] = &[
    FirstParty {
        name: "Windows Azure Service Management API",
        app_id: Some("797f4846-ba00-4fd7-ba43-dac1f8f63013"),
        uris: &[
            "https://management.azure.com/",
            "https://management.core.windows.net/",
        ],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Azure Storage",
        app_id: Some("e406a681-f3d4-42a8-90b6-c2b029497af1"),
        uris: &["https://storage.azure.com/"],
        host_suffixes: &[
            ".blob.core.windows.net",
            ".dfs.core.windows.net",
            ".queue.core.windows.net",
            ".table.core.windows.net",
            ".file.core.windows.net",
        ],
    },
    FirstParty {
        name: "Azure Data Lake",
        app_id: Some("e9f49c6b-5ce5-44c8-925d-015017e9f7ad"),
        uris: &["https://datalake.azure.net/"],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Azure Key Vault",
        app_id: Some("cfa8b339-82a2-471a-a3c9-0fc0be7a4093"),
        uris: &["https://vault.azure.net"],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Microsoft Graph",
        app_id: Some("00000003-0000-0000-c000-000000000000"),
        uris: &["https://graph.microsoft.com"],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Azure SQL Database",
        app_id: Some("022907d3-0f1b-48f7-badc-1ba6abab6d66"),
        uris: &["https://database.windows.net/"],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Microsoft.ServiceBus",
        app_id: Some("80a10ef9-8168-493d-abf9-3297c4ef6e3c"),
        uris: &["https://servicebus.azure.net"],
        host_suffixes: &[".servicebus.windows.net"],
    },
    FirstParty {
        name: "Microsoft.EventHubs",
        app_id: Some("80369ed6-5f11-4dd9-bef3-692475845e77"),
        uris: &["https://eventhubs.azure.net"],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Azure Cosmos DB",
        app_id: Some("a232010e-820c-4083-83bb-3ace5fc29d0b"),
        uris: &["https://cosmos.azure.com"],
        host_suffixes: &[".documents.azure.com"],
    },
    FirstParty {
        name: "Azure Data Explorer",
        app_id: Some("2746ea77-4702-4b45-80ca-3c97e680e8b7"),
        uris: &[
            "https://kusto.kusto.windows.net",
            "https://help.kusto.windows.net",
        ],
        host_suffixes: &[".kusto.windows.net"],
    },
    FirstParty {
        name: "Log Analytics API",
        app_id: Some("ca7f3f0b-7d91-482c-8e09-c5d840d0eac5"),
        uris: &[
            "https://api.loganalytics.io",
            "https://api.loganalytics.azure.com",
        ],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Azure Monitor",
        app_id: None,
        uris: &["https://monitor.azure.com/"],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Azure Container Registry",
        app_id: None,
        uris: &["https://containerregistry.azure.net"],
        host_suffixes: &[".azurecr.io"],
    },
    FirstParty {
        name: "Azure Synapse Analytics",
        app_id: None,
        uris: &["https://dev.azuresynapse.net"],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Power BI Service",
        app_id: Some("00000009-0000-0000-c000-000000000000"),
        uris: &[
            "https://analysis.windows.net/powerbi/api",
            "https://api.fabric.microsoft.com",
        ],
        host_suffixes: &[],
    },
    FirstParty {
        name: "AzureDatabricks",
        app_id: Some("2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"),
        uris: &[],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Microsoft Azure Batch",
        app_id: Some("ddbf3205-c6bd-46ae-8127-60eb93363864"),
        uris: &["https://batch.core.windows.net/"],
        host_suffixes: &[],
    },
    FirstParty {
        name: "Azure OSSRDBMS Database",
        app_id: None,
        uris: &["https://ossrdbms-aad.database.windows.net"],
        host_suffixes: &[],
    },
    FirstParty {
        name: "wid API",
        app_id: None,
        uris: &["api://wid"],
        host_suffixes: &[],
    },
];

/// The lookup key of a resource name: ASCII lower case, without one trailing slash.
pub fn resource_key(resource: &str) -> String {
    let r = resource.strip_suffix('/').unwrap_or(resource);
    r.to_ascii_lowercase()
}

/// The first-party resource that `resource` names, if any.
pub fn first_party(resource: &str) -> Option<&'static FirstParty> {
    let key = resource_key(resource);
    FIRST_PARTY.iter().find(|fp| {
        fp.app_id == Some(key.as_str())
            || fp.uris.iter().any(|u| resource_key(u) == key)
            || (!fp.host_suffixes.is_empty()
                && https_host(&key).is_some_and(|host| {
                    fp.host_suffixes
                        .iter()
                        .any(|s| host.len() > s.len() && host.ends_with(s))
                }))
    })
}

/// The host of an `https://host[:port][/path]` URI (already lower-cased).
fn https_host(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("https://")?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.split(':').next().unwrap_or("");
    (!host.is_empty()).then_some(host)
}

/// Whether `scope`, one space-separated value of a `scope` parameter, has the form Entra
/// parses: an absolute URI (`scheme://...`) or `<GUID>/<permission>`. Anything else is
/// AADSTS70011.
pub fn is_well_formed_scope(scope: &str) -> bool {
    if let Some((scheme, rest)) = scope.split_once("://") {
        let scheme_ok = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        let host = rest.split('/').next().unwrap_or("");
        return scheme_ok && !host.is_empty() && !scope.chars().any(char::is_control);
    }
    match scope.split_once('/') {
        Some((guid, perm)) => crate::ids::is_guid(guid) && !perm.is_empty(),
        None => false,
    }
}

/// Whether `uri` is acceptable as an identifier URI of an application registered in wid:
/// `api://<something>` or `https://<host>[/path]`, no spaces, no query or fragment, at most
/// 255 characters (Graph's limits for `identifierUris`).
pub fn is_valid_identifier_uri(uri: &str) -> bool {
    let rest = uri
        .strip_prefix("api://")
        .or_else(|| uri.strip_prefix("https://"));
    match rest {
        Some(rest) => {
            !rest.is_empty()
                && !rest.starts_with('/')
                && uri.len() <= 255
                && !uri
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
                && !uri.ends_with("/.default")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_the_same_resource() {
        for r in [
            "https://management.azure.com",
            "https://management.azure.com/",
            "https://management.core.windows.net/",
            "HTTPS://Management.Azure.com/",
            "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        ] {
            assert_eq!(
                first_party(r).map(|f| f.name),
                Some("Windows Azure Service Management API"),
                "{r}"
            );
        }
        assert_eq!(
            first_party("https://acct.blob.core.windows.net").map(|f| f.name),
            Some("Azure Storage")
        );
        assert_eq!(
            first_party("https://mycluster.westeurope.kusto.windows.net").map(|f| f.name),
            Some("Azure Data Explorer")
        );
        assert_eq!(
            first_party("https://monitor.azure.com//").map(|f| f.name),
            None,
            "two trailing slashes are not the same resource"
        );
        assert_eq!(first_party("https://blob.core.windows.net"), None);
        assert_eq!(first_party("https://example.com"), None);
        assert_eq!(first_party("https://management.azure.com.evil.test"), None);
    }

    #[test]
    fn scope_shapes() {
        assert!(is_well_formed_scope("https://x/.default"));
        assert!(is_well_formed_scope("api://wid/.default"));
        assert!(is_well_formed_scope(
            "00000003-0000-0000-c000-000000000000/.default"
        ));
        assert!(!is_well_formed_scope("/.default"));
        assert!(!is_well_formed_scope("management.azure.com/.default"));
        assert!(!is_well_formed_scope("https:///.default"));
        assert!(!is_well_formed_scope("user.read"));
    }

    #[test]
    fn identifier_uris() {
        assert!(is_valid_identifier_uri("api://my-api"));
        assert!(is_valid_identifier_uri("https://api.contoso.test/orders"));
        assert!(!is_valid_identifier_uri("http://my-api"));
        assert!(!is_valid_identifier_uri("api://"));
        assert!(!is_valid_identifier_uri("api://a b"));
        assert!(!is_valid_identifier_uri("api://x/.default"));
    }
}
