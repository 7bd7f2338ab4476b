//! ARM request paths (`wid_model::arm_path::ArmPath::parse`) and the path parameters of the
//! other routes (`wid_cloud::path::params`): any path is parsed without a panic. Properties:
//! fixed segments match in any case and trailing slashes do not count; the ids ARM writes for
//! a parsed identity, federated credential or resource group parse back to the same resource;
//! a route's parameters are percent-decoded segments, at most one per placeholder.
#![no_main]

use std::mem::discriminant;

use libfuzzer_sys::fuzz_target;
use wid_model::arm_path::{ArmPath, fic_id, identity_id, resource_group_id};

/// Route templates whose parameters `wid_cloud::path::Segments` extracts.
const TEMPLATES: [&str; 5] = [
    "/{tenant}/oauth2/v2.0/token",
    "/{tenant}/v2.0/.well-known/openid-configuration",
    "/issuer/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token",
    "/v1.0/applications/{id}",
    "/v1.0/servicePrincipals/{id}",
];

fuzz_target!(|data: &[u8]| {
    let path = String::from_utf8_lossy(data);
    for template in TEMPLATES {
        let params = wid_cloud::path::params(template, &path);
        assert!(params.len() <= template.matches('{').count());
    }
    let Some(parsed) = ArmPath::parse(&path) else {
        assert_eq!(ArmPath::parse(&format!("{path}/")), None);
        return;
    };
    assert_eq!(ArmPath::parse(&format!("{path}/")).as_ref(), Some(&parsed));
    let shouted = ArmPath::parse(&path.to_ascii_uppercase())
        .unwrap_or_else(|| panic!("{path:?} parses but not in upper case"));
    assert_eq!(discriminant(&shouted), discriminant(&parsed), "{path:?}");
    for method in ["GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"] {
        let (action, scope) = parsed.action(method);
        assert!(!action.is_empty() && scope.starts_with('/'), "{path:?}");
    }
    match &parsed {
        ArmPath::Identity { sub, rg, name } => {
            assert_eq!(
                ArmPath::parse(&identity_id(sub, rg, name)).as_ref(),
                Some(&parsed)
            );
        }
        ArmPath::FederatedCredential {
            sub,
            rg,
            identity,
            name,
        } => {
            let id = fic_id(sub, rg, identity, name);
            assert_eq!(ArmPath::parse(&id).as_ref(), Some(&parsed));
        }
        ArmPath::ResourceGroup { sub, rg } => {
            let id = resource_group_id(sub, rg);
            assert_eq!(ArmPath::parse(&id).as_ref(), Some(&parsed));
        }
        _ => {}
    }
});
